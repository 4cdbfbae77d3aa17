import uPlot from 'uplot';
import { useEffect, useRef, useState } from 'preact/hooks';
import { errText, isAbort, logsHits } from '../api';
import { fmtCount } from '../format';
import { timeTicks } from './Chart';

const BUCKETS = [15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 10800, 21600];

/** Bucket size for about 60–120 bars over the range. */
export function bucketFor(rangeSeconds: number): number {
  return BUCKETS.find((b) => rangeSeconds / b <= 120) ?? BUCKETS[BUCKETS.length - 1];
}

/** A bar chart of matching log lines over time. */
export function LogVolume(props: { query: string; start: number; end: number; height?: number }) {
  const { query, start, end } = props;
  const height = props.height ?? 72;
  const box = useRef<HTMLDivElement>(null);
  const plot = useRef<uPlot | null>(null);
  const [error, setError] = useState('');
  const [total, setTotal] = useState<number | null>(null);

  useEffect(() => {
    const ac = new AbortController();
    const step = bucketFor(end - start);
    const from = Math.floor(start / step) * step;
    logsHits(query, start, end, step, ac.signal)
      .then((h) => {
        setError('');
        // Every bucket, empty ones included, so bars keep their width.
        const byT = new Map(h.timestamps.map((t, i) => [Math.floor(t / step) * step, h.values[i]]));
        const xs: number[] = [];
        const ys: number[] = [];
        for (let t = from; t <= end; t += step) {
          xs.push(t);
          ys.push(byT.get(t) ?? 0);
        }
        setTotal(h.values.reduce((a, b) => a + b, 0));
        draw(xs, ys, step);
      })
      .catch((e) => {
        if (isAbort(e)) return;
        setError(errText(e));
        setTotal(null);
        plot.current?.destroy();
        plot.current = null;
      });
    return () => ac.abort();

    function draw(xs: number[], ys: number[], step: number) {
      const el = box.current;
      if (!el) return;
      plot.current?.destroy();
      const bars = uPlot.paths.bars!({ size: [0.8, 40], align: 1 });
      plot.current = new uPlot(
        {
          width: Math.max(200, el.clientWidth),
          height,
          legend: { show: false },
          cursor: { y: false, points: { show: false }, drag: { x: false, y: false } },
          scales: { x: { time: true, range: [from, end + step] }, y: { range: (_u, _min, max) => [0, Math.max(1, max ?? 1)] } },
          axes: [
            {
              stroke: '#64748b',
              font: '10.5px system-ui, sans-serif',
              size: 22,
              grid: { show: false },
              ticks: { stroke: '#e2e8f0', width: 1, size: 3 },
              values: (u, splits, _ax, _space, incr) => timeTicks(splits, incr, (u.scales.x.max ?? 0) - (u.scales.x.min ?? 0)),
            },
            {
              stroke: '#64748b',
              font: '10.5px system-ui, sans-serif',
              size: 48,
              grid: { stroke: '#eef1f5', width: 1 },
              ticks: { show: false },
              splits: (u) => [0, u.scales.y.max ?? 1],
              values: (_u, splits) => splits.map((v) => (v === 0 ? '' : fmtCount(Math.round(v)))),
            },
          ],
          series: [{}, { stroke: '#3b82f6', fill: '#93b4f5', width: 0, paths: bars, points: { show: false } }],
        },
        [xs, ys],
        el,
      );
    }
  }, [query, start, end, height]);

  useEffect(() => {
    const el = box.current;
    if (!el || typeof ResizeObserver === 'undefined') return;
    const ro = new ResizeObserver(() => plot.current?.setSize({ width: Math.max(200, el.clientWidth), height }));
    ro.observe(el);
    return () => {
      ro.disconnect();
      plot.current?.destroy();
      plot.current = null;
    };
  }, [height]);

  return (
    <div class="panel log-volume" id="logs-volume">
      <div class="log-volume-head">
        <span>Log volume</span>
        {total !== null && <span class="muted">{fmtCount(total)} matching lines</span>}
        {error && <span class="error-text">{error}</span>}
      </div>
      <div ref={box} class="log-volume-plot" style={{ height: `${height}px` }} />
    </div>
  );
}
