import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';
import type { ComponentChildren } from 'preact';
import { useEffect, useRef, useState } from 'preact/hooks';
import { errText, getJSON, isAbort, promRange, type PromSample } from '../api';
import { fmtBytes, fmtNum, fmtPct, fmtRate } from '../format';

export type Unit = 'percent' | 'bytes' | 'bytesRate' | 'number';

export interface ChartQuery {
  expr: string;
  /** Series name from its labels; defaults to the query's own label set. */
  label?: (metric: Record<string, string>) => string;
}

export interface ChartProps {
  title: string;
  queries: ChartQuery[];
  start: number;
  end: number;
  step: number;
  unit: Unit;
  /** Fixed upper bound of the y axis (e.g. 100 for a usage %). */
  yMax?: number;
  /** Charts with the same key share the hover cursor. */
  syncKey?: string;
  height?: number;
  /** Extra text in the header (e.g. a toggle). */
  extra?: ComponentChildren;
  /** Draw marker events (deployments, user status updates) as vertical lines;
   * a namespace limits them to that namespace's markers and global ones. */
  markers?: { namespace?: string };
}

interface Marker {
  t: number;
  text: string;
}

const COLORS = [
  '#2563eb', '#16a34a', '#dc2626', '#d97706', '#7c3aed', '#0891b2',
  '#db2777', '#65a30d', '#ea580c', '#4f46e5', '#0d9488', '#9333ea',
];

export function formatter(unit: Unit): (v: number | null | undefined) => string {
  switch (unit) {
    case 'percent':
      return (v) => fmtPct(v);
    case 'bytes':
      return (v) => fmtBytes(v);
    case 'bytesRate':
      return (v) => fmtRate(v);
    default:
      return (v) => fmtNum(v);
  }
}

interface Series {
  label: string;
  values: (number | null | undefined)[];
}

interface ChartData {
  xs: number[];
  series: Series[];
}

function defaultLabel(m: Record<string, string>): string {
  const parts = Object.entries(m)
    .filter(([k]) => k !== '__name__')
    .map(([k, v]) => `${k}=${v}`);
  return parts.length ? parts.join(', ') : (m.__name__ ?? 'value');
}

/** Aligns Prometheus matrices on one time axis spanning [start, end]. */
export function alignSeries(
  results: { samples: PromSample[]; label?: (m: Record<string, string>) => string }[],
  start: number,
  end: number,
  step: number,
): ChartData {
  // The full query grid, so the cursor reads true times over gaps too.
  const times = new Set<number>([start, end]);
  if (step > 0 && (end - start) / step <= 5000) for (let t = start; t < end; t += step) times.add(t);
  for (const r of results) for (const s of r.samples) for (const [t] of s.values ?? []) times.add(Number(t));
  const xs = [...times].sort((a, b) => a - b);
  const index = new Map(xs.map((t, i) => [t, i]));
  const series: Series[] = [];
  for (const r of results) {
    for (const s of r.samples) {
      // undefined = no sample at this x (the line spans it); null = a gap.
      const values: (number | null | undefined)[] = new Array(xs.length).fill(undefined);
      let prev = -1;
      for (const [t, v] of s.values ?? []) {
        const f = parseFloat(v);
        const i = index.get(Number(t))!;
        values[i] = Number.isFinite(f) ? f : null;
        // Samples missing from the series break the line.
        if (prev >= 0 && step > 0 && xs[i] - xs[prev] > 1.5 * step) for (let j = prev + 1; j < i; j++) values[j] = null;
        prev = i;
      }
      series.push({ label: (r.label ?? defaultLabel)(s.metric), values });
    }
  }
  series.sort((a, b) => a.label.localeCompare(b.label, undefined, { numeric: true }));
  return { xs, series };
}

const pad2 = (n: number) => String(n).padStart(2, '0');
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/** 24-hour axis labels: "14:05", "14:05:30", or "Nov 26" at day boundaries. */
export function timeTicks(splits: number[], incr: number, span: number): string[] {
  return splits.map((v) => {
    const d = new Date(v * 1000);
    const day = `${MONTHS[d.getMonth()]} ${d.getDate()}`;
    if (incr >= 86400) return day;
    const midnight = d.getHours() === 0 && d.getMinutes() === 0 && d.getSeconds() === 0;
    if (span > 20 * 3600 && midnight) return day;
    const hm = `${pad2(d.getHours())}:${pad2(d.getMinutes())}`;
    return incr < 60 ? `${hm}:${pad2(d.getSeconds())}` : hm;
  });
}

function legendTime(v: number): string {
  const d = new Date(v * 1000);
  return `${MONTHS[d.getMonth()]} ${d.getDate()} ${pad2(d.getHours())}:${pad2(d.getMinutes())}:${pad2(d.getSeconds())}`;
}

// Tick steps for byte axes: binary multiples, so ticks read 512 MiB, 1 GiB, 2 GiB…
const BYTE_INCRS: number[] = [];
for (let e = 0; e <= 5; e++) for (const m of [1, 2, 4, 8, 16, 32, 64, 128, 256, 512]) BYTE_INCRS.push(m * 1024 ** e);

function lastValue(values: ArrayLike<number | null | undefined> | undefined): number | null {
  if (!values) return null;
  for (let i = values.length - 1; i >= 0; i--) {
    const v = values[i];
    if (v != null) return v;
  }
  return null;
}

const hasPoints = (d: ChartData | null) => !!d && d.series.some((s) => s.values.some((v) => v != null));

/** Diameter of sample markers, and the spacing (CSS px) from which every sample gets one. */
const MARKER_SIZE = 5;
const MARKER_SPACE = 12;

/**
 * Whether to mark every sample of a series: when it has a single sample in
 * view, or its samples are far enough apart for markers not to crowd.
 */
export function markAll(xs: ArrayLike<number>, ys: ArrayLike<number | null | undefined>, i0: number, i1: number, toPx: (x: number) => number): boolean {
  let n = 0;
  let first = -1;
  let last = -1;
  for (let i = Math.max(0, i0); i <= i1 && i < ys.length; i++) {
    if (ys[i] == null) continue;
    if (first < 0) first = i;
    last = i;
    n++;
  }
  if (n === 0) return false;
  if (n === 1) return true;
  return Math.abs(toPx(xs[last]) - toPx(xs[first])) / (n - 1) >= MARKER_SPACE;
}

/**
 * Samples whose line would be too short to see: runs of samples between gaps
 * (nulls) that span less than MARKER_SPACE pixels, e.g. a lone sample, or the
 * first few samples of a node that has just started reporting.
 */
export function shortRuns(xs: ArrayLike<number>, ys: ArrayLike<number | null | undefined>, toPx: (x: number) => number): number[] {
  const out: number[] = [];
  let run: number[] = [];
  const flush = () => {
    if (run.length && Math.abs(toPx(xs[run[run.length - 1]]) - toPx(xs[run[0]])) < MARKER_SPACE) out.push(...run);
    run = [];
  };
  for (let i = 0; i < ys.length; i++) {
    const v = ys[i];
    if (v === null) flush();
    else if (v !== undefined) run.push(i);
    // undefined: no sample at this x, the line spans it
  }
  flush();
  return out;
}

export function Chart(props: ChartProps) {
  const { title, queries, start, end, step, unit, yMax, syncKey, extra } = props;
  const height = props.height ?? 190;
  const [data, setData] = useState<ChartData | null>(null);
  const [error, setError] = useState('');
  const [loading, setLoading] = useState(true);
  const box = useRef<HTMLDivElement>(null);
  const plot = useRef<uPlot | null>(null);
  const labelsKey = useRef('');
  const markers = useRef<Marker[]>([]);
  const [markerCount, setMarkerCount] = useState(0);
  const markerNS = props.markers ? props.markers.namespace ?? '' : null;

  useEffect(() => {
    if (markerNS === null) return;
    const ac = new AbortController();
    getJSON<{ time: string; message: string; namespace?: string }[]>('/api/events', { marker: 'true', start, end, limit: 200 }, ac.signal)
      .then((evs) => {
        markers.current = (evs ?? [])
          .filter((e) => !markerNS || !e.namespace || e.namespace === markerNS)
          .map((e) => ({ t: Date.parse(e.time) / 1000, text: e.message }));
        setMarkerCount(markers.current.length);
        plot.current?.redraw();
      })
      .catch(() => undefined);
    return () => ac.abort();
  }, [markerNS, start, end]);

  const exprKey = queries.map((q) => q.expr).join('\n');

  useEffect(() => {
    const ac = new AbortController();
    setLoading(true);
    Promise.all(queries.map((q) => promRange(q.expr, start, end, step, ac.signal)))
      .then((res) => {
        setData(alignSeries(res.map((samples, i) => ({ samples, label: queries[i].label })), start, end, step));
        setError('');
      })
      .catch((e) => {
        if (isAbort(e)) return;
        setError(errText(e));
      })
      .finally(() => {
        if (!ac.signal.aborted) setLoading(false);
      });
    return () => ac.abort();
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [exprKey, start, end, step]);

  const drawn = hasPoints(data);

  // Create, update or destroy the plot.
  useEffect(() => {
    const el = box.current;
    if (!drawn || !el || !data) {
      plot.current?.destroy();
      plot.current = null;
      labelsKey.current = '';
      return;
    }
    const key = data.series.map((s) => s.label).join('\u0000');
    const aligned = [data.xs, ...data.series.map((s) => s.values)] as uPlot.AlignedData;
    if (plot.current && key === labelsKey.current) {
      plot.current.setData(aligned);
      return;
    }
    plot.current?.destroy();
    const fmt = formatter(unit);
    const single = data.series.length === 1;
    const opts: uPlot.Options = {
      width: Math.max(200, el.clientWidth),
      height,
      cursor: { sync: syncKey ? { key: syncKey } : undefined, points: { size: 6 } },
      legend: { show: true, live: true },
      hooks: {
        draw: [
          (u: uPlot) => {
            const ctx = u.ctx;
            const { top, height: h } = u.bbox;
            ctx.save();
            ctx.strokeStyle = '#7c3aed';
            ctx.fillStyle = '#7c3aed';
            ctx.setLineDash([4, 3]);
            ctx.lineWidth = devicePixelRatio;
            ctx.font = `${10 * devicePixelRatio}px system-ui, sans-serif`;
            for (const m of markers.current) {
              if (m.t < (u.scales.x.min ?? 0) || m.t > (u.scales.x.max ?? 0)) continue;
              const x = Math.round(u.valToPos(m.t, 'x', true));
              ctx.beginPath();
              ctx.moveTo(x, top);
              ctx.lineTo(x, top + h);
              ctx.stroke();
              ctx.fillText(m.text.slice(0, 40), x + 3 * devicePixelRatio, top + 10 * devicePixelRatio);
            }
            ctx.restore();
          },
        ],
      },
      scales: {
        x: { time: true },
        y: {
          range: (_u, _min, max) => {
            if (yMax !== undefined) return [0, Math.max(yMax, max ?? 0)];
            const top = max == null || max <= 0 ? 1 : uPlot.rangeNum(0, max, 0.1, true)[1];
            return [0, top];
          },
        },
      },
      axes: [
        {
          stroke: '#64748b',
          font: '11px system-ui, sans-serif',
          grid: { stroke: '#eef1f5', width: 1 },
          ticks: { stroke: '#e2e8f0', width: 1, size: 4 },
          values: (u, splits, _ax, _space, incr) =>
            timeTicks(splits, incr, (u.scales.x.max ?? 0) - (u.scales.x.min ?? 0)),
        },
        {
          stroke: '#64748b',
          font: '11px system-ui, sans-serif',
          size: 64,
          incrs: unit === 'bytes' || unit === 'bytesRate' ? BYTE_INCRS : undefined,
          grid: { stroke: '#eef1f5', width: 1 },
          ticks: { stroke: '#e2e8f0', width: 1, size: 4 },
          values: (_u, splits) => splits.map((v) => fmt(v)),
        },
      ],
      series: [
        {
          label: 'Time',
          value: (_u: uPlot, v: number | null, _s: number, idx: number | null) =>
            idx == null || v == null ? 'latest' : legendTime(v),
        },
        ...data.series.map((s, i) => {
          const color = COLORS[i % COLORS.length];
          return {
            label: s.label,
            stroke: color,
            width: 1.5,
            fill: single ? color + '1f' : undefined,
            // Sparse data has no visible line: mark the samples instead.
            points: {
              size: MARKER_SIZE,
              width: 1,
              fill: color,
              show: (u: uPlot, sidx: number, i0: number, i1: number) =>
                markAll(u.data[0], u.data[sidx] as (number | null | undefined)[], i0, i1, (x) => u.valToPos(x, 'x')),
              filter: (u: uPlot, sidx: number, show: boolean) => {
                if (show) return null;
                const idxs = shortRuns(u.data[0], u.data[sidx] as (number | null | undefined)[], (x) => u.valToPos(x, 'x'));
                return idxs.length ? idxs : null;
              },
            },
            // Off the plot, the legend shows each series' latest value.
            value: (u: uPlot, v: number | null, sidx: number, idx: number | null) =>
              fmt(idx == null ? lastValue(u.data[sidx]) : v),
          } as uPlot.Series;
        }),
      ],
    };
    plot.current = new uPlot(opts, aligned, el);
    labelsKey.current = key;
  }, [data, drawn, unit, yMax, syncKey, height]);

  // Follow the container's width.
  useEffect(() => {
    const el = box.current;
    if (!el || typeof ResizeObserver === 'undefined') return;
    let w = el.clientWidth;
    const ro = new ResizeObserver(() => {
      const nw = el.clientWidth;
      if (nw !== w && plot.current) {
        w = nw;
        plot.current.setSize({ width: Math.max(200, nw), height });
      }
    });
    ro.observe(el);
    return () => ro.disconnect();
  }, [height]);

  useEffect(
    () => () => {
      plot.current?.destroy();
      plot.current = null;
    },
    [],
  );

  const cls = ['chart', markerNS !== null ? 'with-markers' : '', drawn ? 'has-data' : '', loading ? 'loading' : ''].filter(Boolean).join(' ');
  return (
    <section class={cls} data-title={title} data-markers={markerNS !== null ? markerCount : undefined}>
      <header class="chart-head">
        <h3>{title}</h3>
        {extra}
        {loading && <span class="spinner" aria-label="loading" />}
      </header>
      <div class="chart-body" style={{ minHeight: `${height}px` }}>
        <div class="chart-plot" ref={box} />
        {!drawn && (
          <div class="chart-empty" style={{ height: `${height}px` }}>
            {error ? <span class="error-text">{error}</span> : loading && !data ? 'Loading…' : 'No data yet'}
          </div>
        )}
        {drawn && error && <div class="chart-error">{error}</div>}
      </div>
    </section>
  );
}
