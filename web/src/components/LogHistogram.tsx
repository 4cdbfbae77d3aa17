import uPlot from 'uplot';
import { useEffect, useRef, useState } from 'preact/hooks';
import { errText, isAbort, logsHitsBy } from '../api';
import { fmtCount } from '../format';
import { levelClass, type Level } from '../logsql';
import { timeTicks } from './Chart';
import { bucketFor } from './LogVolume';

/** Stack order, bottom first, and colours of the level groups. */
export const LEVELS: Level[] = ['error', 'warn', 'info', 'debug', 'other'];
export const LEVEL_COLORS: Record<Level, string> = {
  error: '#dc2626',
  warn: '#d97706',
  info: '#2563eb',
  debug: '#7c8aa0',
  other: '#b8c0cc',
};

/**
 * Matching lines over time as bars stacked by level. Dragging across the
 * chart zooms the explorer into that time span.
 */
export function LogHistogram(props: { query: string; start: number; end: number; onZoom: (start: number, end: number) => void }) {
  const { query, start, end } = props;
  const box = useRef<HTMLDivElement>(null);
  const plot = useRef<uPlot | null>(null);
  const zoom = useRef(props.onZoom);
  zoom.current = props.onZoom;
  const [error, setError] = useState('');
  const [totals, setTotals] = useState<Record<Level, number> | null>(null);

  useEffect(() => {
    const ac = new AbortController();
    const step = bucketFor(end - start);
    const from = Math.floor(start / step) * step;
    logsHitsBy(query, start, end, step, 'level', ac.signal)
      .then((series) => {
        setError('');
        const xs: number[] = [];
        for (let t = from; t <= end; t += step) xs.push(t);
        const idx = new Map(xs.map((t, i) => [t, i]));
        const per: Record<Level, number[]> = { error: [], warn: [], info: [], debug: [], other: [] };
        for (const l of LEVELS) per[l] = xs.map(() => 0);
        const tot: Record<Level, number> = { error: 0, warn: 0, info: 0, debug: 0, other: 0 };
        for (const s of series) {
          const l = levelClass(s.value);
          s.timestamps.forEach((t, i) => {
            const j = idx.get(Math.floor(t / step) * step);
            if (j === undefined) return;
            per[l][j] += s.values[i];
            tot[l] += s.values[i];
          });
        }
        setTotals(tot);
        // Cumulative from the bottom; drawn tallest first so each level shows as its own band.
        const cum: number[][] = [];
        let acc = xs.map(() => 0);
        for (const l of LEVELS) {
          acc = acc.map((v, i) => v + per[l][i]);
          cum.push(acc);
        }
        draw(xs, cum.reverse(), [...LEVELS].reverse(), step);
      })
      .catch((e) => {
        if (isAbort(e)) return;
        setError(errText(e));
        setTotals(null);
      });
    return () => ac.abort();

    function draw(xs: number[], ys: number[][], names: Level[], step: number) {
      const el = box.current;
      if (!el) return;
      plot.current?.destroy();
      const bars = uPlot.paths.bars!({ size: [0.8, 40], align: 1 });
      plot.current = new uPlot(
        {
          width: Math.max(200, el.clientWidth),
          height: 96,
          legend: { show: false },
          cursor: { y: false, points: { show: false }, drag: { x: true, y: false, setScale: false } },
          select: { show: true, left: 0, top: 0, width: 0, height: 0 },
          scales: { x: { time: true, range: [from, end + step] }, y: { range: (_u, _min, max) => [0, Math.max(1, max) * 1.1] } },
          axes: [
            { size: 22, space: 80, values: (u, splits, _ax, _space, incr) => timeTicks(splits, incr, (u.scales.x.max ?? 0) - (u.scales.x.min ?? 0)), stroke: '#66707d', grid: { show: false }, ticks: { size: 3 } },
            { size: 40, space: 24, stroke: '#66707d', values: (_u, s) => s.map((v) => fmtCount(v)), grid: { stroke: '#eef0f3' } },
          ],
          series: [{}, ...names.map((n) => ({ label: n, fill: LEVEL_COLORS[n], stroke: LEVEL_COLORS[n], width: 0, paths: bars, points: { show: false } }))],
          hooks: {
            setSelect: [
              (u) => {
                if (u.select.width < 4) return;
                const a = u.posToVal(u.select.left, 'x');
                const b = u.posToVal(u.select.left + u.select.width, 'x');
                u.setSelect({ left: 0, top: 0, width: 0, height: 0 }, false);
                zoom.current(Math.floor(a), Math.ceil(b));
              },
            ],
          },
        },
        [xs, ...ys],
        el,
      );
    }
  }, [query, start, end]);

  useEffect(() => () => plot.current?.destroy(), []);

  return (
    <div class="panel log-histogram" id="logs-histogram">
      <div class="log-histogram-head">
        {totals &&
          LEVELS.filter((l) => totals[l] > 0).map((l) => (
            <span class="legend-item" key={l} data-level={l}>
              <span class="legend-swatch" style={{ background: LEVEL_COLORS[l] }} />
              {l} {fmtCount(totals[l])}
            </span>
          ))}
        <span class="muted small">drag to zoom</span>
      </div>
      {error && <div class="alert alert-error">{error}</div>}
      <div ref={box} class="log-histogram-plot" />
    </div>
  );
}
