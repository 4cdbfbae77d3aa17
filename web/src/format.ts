const BYTE_UNITS = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB'];

export function fmtBytes(v: number | null | undefined, digits = 1): string {
  if (v == null || !Number.isFinite(v)) return '—';
  const neg = v < 0;
  let x = Math.abs(v);
  let i = 0;
  while (x >= 1024 && i < BYTE_UNITS.length - 1) {
    x /= 1024;
    i++;
  }
  const s = i === 0 ? String(Math.round(x)) : x.toFixed(x >= 100 ? 0 : digits);
  return `${neg ? '-' : ''}${s} ${BYTE_UNITS[i]}`;
}

export const fmtRate = (v: number | null | undefined) => (v == null ? '—' : `${fmtBytes(v)}/s`);

export function fmtPct(v: number | null | undefined, digits = 1): string {
  if (v == null || !Number.isFinite(v)) return '—';
  return `${v.toFixed(digits)}%`;
}

export function fmtNum(v: number | null | undefined): string {
  if (v == null || !Number.isFinite(v)) return '—';
  if (Math.abs(v) >= 1e9) return `${(v / 1e9).toFixed(1)}G`;
  if (Math.abs(v) >= 1e6) return `${(v / 1e6).toFixed(1)}M`;
  if (Math.abs(v) >= 1e4) return `${(v / 1e3).toFixed(1)}k`;
  if (Number.isInteger(v)) return String(v);
  return v.toFixed(Math.abs(v) < 10 ? 2 : 1);
}

export const fmtCount = (n: number) => n.toLocaleString('en-US');

const pad = (n: number, w = 2) => String(n).padStart(w, '0');

/** Local time as YYYY-MM-DD HH:MM:SS.mmm. */
export function fmtTimeMs(d: Date): string {
  return (
    `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ` +
    `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}.${pad(d.getMilliseconds(), 3)}`
  );
}

export function fmtDateTime(s: string | undefined): string {
  if (!s) return '—';
  const d = new Date(s);
  if (Number.isNaN(d.getTime())) return s;
  return (
    `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ` +
    `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`
  );
}

/** "12s ago", "3m ago", … for an RFC3339 time. */
export function fmtAgo(s: string | undefined, now = Date.now()): string {
  if (!s) return '—';
  const t = Date.parse(s);
  if (Number.isNaN(t)) return s;
  let d = Math.round((now - t) / 1000);
  if (d < 0) d = 0;
  if (d < 60) return `${d}s ago`;
  if (d < 3600) return `${Math.floor(d / 60)}m ago`;
  if (d < 86400) return `${Math.floor(d / 3600)}h ago`;
  return `${Math.floor(d / 86400)}d ago`;
}

/** t when it is a real time; Go's zero time (year 1) and unparsable values give undefined. */
export function realTime(t: string | undefined | null): string | undefined {
  if (!t) return undefined;
  const ms = Date.parse(t);
  return Number.isNaN(ms) || ms <= 0 ? undefined : t;
}

export const fmtCores = (n: number | undefined) => (n ? String(Math.round(n * 100) / 100) : '—');
