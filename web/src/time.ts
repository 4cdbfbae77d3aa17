import { useEffect, useState } from 'preact/hooks';

export interface RangeOption {
  key: string;
  label: string;
  seconds: number;
}

export const RANGES: RangeOption[] = [
  { key: '15m', label: '15m', seconds: 15 * 60 },
  { key: '1h', label: '1h', seconds: 3600 },
  { key: '6h', label: '6h', seconds: 6 * 3600 },
  { key: '24h', label: '24h', seconds: 24 * 3600 },
  { key: '7d', label: '7d', seconds: 7 * 24 * 3600 },
];

export function rangeByKey(key: string | null | undefined, fallback = '1h'): RangeOption {
  return RANGES.find((r) => r.key === key) ?? RANGES.find((r) => r.key === fallback)!;
}

export const REFRESH_OPTIONS = [
  { key: 'off', label: 'Off', ms: 0 },
  { key: '10s', label: '10s', ms: 10_000 },
  { key: '30s', label: '30s', ms: 30_000 },
];

export const nowSec = () => Math.floor(Date.now() / 1000);

/** Calls fn every ms milliseconds (0 = never). */
export function useInterval(fn: () => void, ms: number) {
  useEffect(() => {
    if (!ms) return;
    const id = window.setInterval(fn, ms);
    return () => window.clearInterval(id);
  }, [fn, ms]);
}

/** A counter that ticks every ms milliseconds, for re-rendering relative times. */
export function useTick(ms: number): number {
  const [n, setN] = useState(0);
  useEffect(() => {
    const id = window.setInterval(() => setN((x) => x + 1), ms);
    return () => window.clearInterval(id);
  }, [ms]);
  return n;
}
