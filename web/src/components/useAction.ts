// A button's action: busy while it runs, its failure reported as text.
import { useState } from 'preact/hooks';
import { errText } from '../api';

/** run(fn) marks busy until fn settles and hands a failure's text to onError. */
export function useAction(onError: (msg: string) => void): [boolean, (fn: () => Promise<unknown>) => Promise<void>] {
  const [busy, setBusy] = useState(false);
  const run = async (fn: () => Promise<unknown>) => {
    setBusy(true);
    try {
      await fn();
    } catch (e) {
      onError(errText(e));
    } finally {
      setBusy(false);
    }
  };
  return [busy, run];
}
