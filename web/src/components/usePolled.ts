// Data a page loads and keeps fresh by polling.
import { useCallback, useEffect, useState } from 'preact/hooks';
import { errText, isAbort } from '../api';
import { useInterval } from '../time';

/**
 * Loads fn now, whenever deps change and every `every` ms (0: only once; a
 * function picks the pace from the last data); a failed load keeps the last
 * data so a blip does not blank the page.
 */
export function usePolled<T>(fn: (signal: AbortSignal) => Promise<T>, every: number | ((data: T | null) => number), deps: unknown[] = [fn]) {
  const [data, setData] = useState<T | null>(null);
  const [err, setErr] = useState('');
  const load = useCallback(() => {
    const ac = new AbortController();
    fn(ac.signal)
      .then((x) => {
        setData(x);
        setErr('');
      })
      .catch((e) => !isAbort(e) && setErr(errText(e)));
    return () => ac.abort();
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, deps);
  useEffect(load, [load]);
  useInterval(load, typeof every === 'function' ? every(data) : every);
  return { data, err, setErr, load };
}
