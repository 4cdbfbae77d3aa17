// The monitor chart: the query's series, thresholds, the anomaly band or the
// forecast, and incidents shaded.
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';
import { useEffect, useRef } from 'preact/hooks';
import { timeTicks } from '../components/Chart';
import { fmtNum } from '../format';
import { labelText, type Incident, type Preview } from './MonitorsApi';

const COLORS = ['#2563eb', '#16a34a', '#d97706', '#7c3aed', '#0891b2', '#db2777'];

export function MonitorChart(props: { preview: Preview | null; incidents?: Incident[]; height?: number; id?: string }) {
  const box = useRef<HTMLDivElement>(null);
  const plot = useRef<uPlot | null>(null);
  const { preview, incidents } = props;
  const height = props.height ?? 260;

  useEffect(() => {
    plot.current?.destroy();
    plot.current = null;
    const el = box.current;
    if (!el || !preview || !preview.series.length) return;
    const shown = preview.series.slice(0, 6);
    // One time axis for points, band and projection.
    const ts = new Set<number>();
    for (const s of shown) {
      for (const [t] of s.points ?? []) ts.add(t);
      for (const [t] of s.band ?? []) ts.add(t);
      for (const [t] of s.forecast ?? []) ts.add(t);
    }
    const xs = [...ts].sort((a, b) => a - b);
    const idx = new Map(xs.map((t, i) => [t, i]));
    const col = () => new Array<number | null>(xs.length).fill(null);
    const data: (number | null)[][] = [];
    const series: uPlot.Series[] = [{ label: 'Time' }];
    const bands: uPlot.Band[] = [];
    shown.forEach((s, i) => {
      const c = COLORS[i % COLORS.length];
      const name = labelText(s.labels) || 'value';
      if (s.band?.length) {
        const lo = col();
        const hi = col();
        for (const [t, l, h] of s.band) {
          lo[idx.get(t)!] = l;
          hi[idx.get(t)!] = h;
        }
        data.push(hi, lo);
        const hiIdx = data.length - 1;
        series.push({ label: `${name} upper`, stroke: c + '55', width: 1, spanGaps: true }, { label: `${name} lower`, stroke: c + '55', width: 1, spanGaps: true });
        bands.push({ series: [hiIdx, hiIdx + 1], fill: c + '22' });
      }
      const v = col();
      for (const [t, y] of s.points ?? []) v[idx.get(t)!] = y;
      data.push(v);
      series.push({ label: name, stroke: c, width: 1.6 });
      if (s.forecast?.length) {
        const f = col();
        for (const [t, y] of s.forecast) f[idx.get(t)!] = y;
        data.push(f);
        series.push({ label: `${name} forecast`, stroke: '#7c3aed', width: 1.5, dash: [6, 4], spanGaps: true });
      }
    });
    for (const th of preview.thresholds ?? []) {
      data.push(xs.map(() => th));
      series.push({ label: `threshold ${fmtNum(th)}`, stroke: '#dc2626', width: 1, dash: [4, 4] });
    }
    const inc = incidents ?? [];
    const opts: uPlot.Options = {
      width: Math.max(300, el.clientWidth),
      height,
      legend: { show: true, live: true },
      scales: { x: { time: true } },
      bands,
      axes: [
        {
          stroke: '#64748b',
          font: '11px system-ui, sans-serif',
          grid: { stroke: '#eef1f5', width: 1 },
          values: (u, splits, _ax, _space, incr) => timeTicks(splits, incr, (u.scales.x.max ?? 0) - (u.scales.x.min ?? 0)),
        },
        { stroke: '#64748b', font: '11px system-ui, sans-serif', size: 60, grid: { stroke: '#eef1f5', width: 1 }, values: (_u, sp) => sp.map((v) => fmtNum(v)) },
      ],
      series,
      hooks: {
        // Incidents as red spans behind the lines.
        drawClear: [
          (u) => {
            const ctx = u.ctx;
            ctx.save();
            ctx.fillStyle = 'rgba(220, 38, 38, 0.10)';
            for (const i of inc) {
              const a = Date.parse(i.started) / 1000;
              const b = i.ended ? Date.parse(i.ended) / 1000 : Math.min(Date.now() / 1000, u.scales.x.max ?? a);
              const x0 = u.valToPos(Math.max(a, u.scales.x.min ?? a), 'x', true);
              const x1 = u.valToPos(Math.min(b, u.scales.x.max ?? b), 'x', true);
              if (x1 > x0) ctx.fillRect(x0, u.bbox.top, Math.max(2, x1 - x0), u.bbox.height);
            }
            ctx.restore();
          },
        ],
      },
    };
    plot.current = new uPlot(opts, [xs, ...data] as uPlot.AlignedData, el);
    return () => {
      plot.current?.destroy();
      plot.current = null;
    };
  }, [preview, incidents, height]);

  const learning = preview?.series.some((s) => s.learning);
  return (
    <div class="chart mon-chart" id={props.id}>
      <div class="chart-body" style={{ minHeight: `${height}px` }}>
        <div class="chart-plot" ref={box} />
        {(!preview || !preview.series.length) && (
          <div class="chart-empty" style={{ height: `${height}px` }}>
            {preview ? 'The query returns no series in this range.' : 'Loading…'}
          </div>
        )}
      </div>
      {learning && <div class="muted small">Some series have too little history yet: the model is still learning.</div>}
      {preview?.series.map((s) =>
        s.crossing ? (
          <div class="mon-crossing" key={labelText(s.labels)}>
            {labelText(s.labels) || 'value'} is predicted to cross on <b>{new Date(s.crossing).toLocaleString()}</b>
          </div>
        ) : null,
      )}
    </div>
  );
}
