import uPlot from 'uplot';
import { useEffect, useRef, useState } from 'preact/hooks';
import { errText, isAbort, logContext, promRange, type LogRecord } from '../api';
import { listEvents, type VEvent } from '../cluster';
import { timeTicks } from '../components/Chart';
import { ProcessTable } from '../components/ProcessTable';
import { Empty, Link, PageHeader } from '../components/ui';
import { fmtBytes, fmtDateTime, fmtTimeMs } from '../format';
import '../logs.css';

/** How far around the line the metrics and events reach. */
const AROUND = 15 * 60;
const STEP = 30;

type Fmt = (v: number) => string;
const pct: Fmt = (v) => `${v.toFixed(1)}%`;
const cores: Fmt = (v) => (v < 1 ? `${(v * 1000).toFixed(0)}m` : v.toFixed(2));
const bytes: Fmt = (v) => fmtBytes(v);
const rate: Fmt = (v) => `${fmtBytes(v)}/s`;

const COLORS = ['#2563eb', '#16a34a', '#d97706', '#7c3aed'];

/** A small time chart of one or more PromQL series with a marker at the line's time. */
function MarkedChart(props: { id: string; title: string; exprs: { expr: string; label: string }[]; at: number; fmt: Fmt }) {
  const { at } = props;
  const box = useRef<HTMLDivElement>(null);
  const [state, setState] = useState<'loading' | 'empty' | 'ok' | string>('loading');
  const [retry, setRetry] = useState(0);
  const key = props.exprs.map((e) => e.expr).join('\n');
  useEffect(() => {
    const ac = new AbortController();
    let timer: number | undefined;
    const start = at - AROUND;
    const end = at + AROUND;
    let plot: uPlot | null = null;
    Promise.all(props.exprs.map((e) => promRange(e.expr, start, end, STEP, ac.signal)))
      .then((res) => {
        const xs: number[] = [];
        for (let t = Math.floor(start / STEP) * STEP; t <= end; t += STEP) xs.push(t);
        const idx = new Map(xs.map((t, i) => [t, i]));
        const ys: (number | null)[][] = [];
        const labels: string[] = [];
        res.forEach((samples, qi) => {
          for (const s of samples) {
            const y: (number | null)[] = xs.map(() => null);
            for (const [t, v] of s.values ?? []) {
              const i = idx.get(Math.round(t / STEP) * STEP);
              if (i !== undefined) y[i] = Number(v);
            }
            ys.push(y);
            labels.push(props.exprs[qi].label);
          }
        });
        if (!ys.length) {
          setState('empty');
          // A recent line: its metrics may still be on their way; look again.
          if (end * 1000 > Date.now()) timer = window.setTimeout(() => setRetry((n) => n + 1), 15_000);
          return;
        }
        setState('ok');
        const el = box.current;
        if (!el) return;
        plot = new uPlot(
          {
            width: Math.max(240, el.clientWidth),
            height: 140,
            legend: { show: true },
            cursor: { points: { show: false } },
            scales: { x: { time: true, range: [start, end] } },
            axes: [
              { size: 22, space: 70, values: (u, splits, _ax, _space, incr) => timeTicks(splits, incr, (u.scales.x.max ?? 0) - (u.scales.x.min ?? 0)), stroke: '#66707d', grid: { stroke: '#eef0f3' } },
              { size: 70, stroke: '#66707d', values: (_u, s) => s.map((v) => props.fmt(v)), grid: { stroke: '#eef0f3' } },
            ],
            series: [{}, ...labels.map((l, i) => ({ label: l, stroke: COLORS[i % COLORS.length], width: 1.5, value: (_u: uPlot, v: number | null) => (v == null ? '—' : props.fmt(v)) }))],
            hooks: {
              // The line's moment, drawn over the series.
              draw: [
                (u) => {
                  const x = Math.round(u.valToPos(at, 'x', true));
                  const c = u.ctx;
                  c.save();
                  c.strokeStyle = '#dc2626';
                  c.lineWidth = 2;
                  c.setLineDash([4, 3]);
                  c.beginPath();
                  c.moveTo(x, u.bbox.top);
                  c.lineTo(x, u.bbox.top + u.bbox.height);
                  c.stroke();
                  c.restore();
                },
              ],
            },
          },
          [xs, ...ys],
          el,
        );
      })
      .catch((e) => !isAbort(e) && setState(errText(e)));
    return () => {
      ac.abort();
      window.clearTimeout(timer);
      plot?.destroy();
    };
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [key, at, retry]);
  return (
    <div class="panel detail-chart" id={props.id} data-state={state === 'ok' || state === 'empty' || state === 'loading' ? state : 'error'}>
      <div class="detail-chart-title">{props.title}</div>
      {state === 'empty' && <div class="muted small">no data in ±15 min</div>}
      {state !== 'ok' && state !== 'empty' && state !== 'loading' && <div class="alert alert-error">{state}</div>}
      <div ref={box} />
    </div>
  );
}

const q = (s: string) => JSON.stringify(s);

/** One log line beside the pod's and node's metrics, the pod's events and the node's processes at that moment. */
export function LogDetailPage(props: { query: URLSearchParams }) {
  const p = props.query;
  const ns = p.get('namespace') ?? '';
  const pod = p.get('pod') ?? '';
  const container = p.get('container') ?? '';
  const node = p.get('node') ?? '';
  const time = p.get('time') ?? '';
  const msg = p.get('msg') ?? '';
  const at = Math.floor(Date.parse(time) / 1000);
  const [events, setEvents] = useState<VEvent[] | null>(null);
  const [evErr, setEvErr] = useState('');
  const [ctx, setCtx] = useState<LogRecord[] | null>(null);

  useEffect(() => {
    if (!Number.isFinite(at)) return;
    const ac = new AbortController();
    const range = { start: new Date((at - AROUND) * 1000).toISOString(), end: new Date((at + AROUND) * 1000).toISOString() };
    const pods = ns && pod ? listEvents({ namespace: ns, name: pod, ...range, limit: 100 }, ac.signal) : Promise.resolve([] as VEvent[]);
    const nodes = node ? listEvents({ kind: 'Node', name: node, ...range, limit: 50 }, ac.signal) : Promise.resolve([] as VEvent[]);
    Promise.all([pods, nodes])
      .then(([a, b]) => setEvents([...(a ?? []), ...(b ?? [])].sort((x, y) => Date.parse(x.time) - Date.parse(y.time))))
      .catch((e) => !isAbort(e) && setEvErr(errText(e)));
    const cp: Record<string, string> = { time, before: '5', after: '5' };
    const sid = p.get('_stream_id');
    if (sid) cp.stream_id = sid;
    else Object.assign(cp, { namespace: ns, pod, container });
    if (sid || pod) logContext(cp, ac.signal).then(setCtx).catch(() => setCtx([]));
    return () => ac.abort();
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [ns, pod, node, time]);

  if (!Number.isFinite(at)) return <Empty title="No log line chosen">Open a line from the explorer.</Empty>;
  const podSel = `namespace=${q(ns)},pod=${q(pod)}`;
  const nodeSel = `node=${q(node)}`;
  return (
    <div class="page page-logs page-log-detail">
      <PageHeader title="Log line in context" subtitle={`${fmtDateTime(time)} · ${[ns, pod, container].filter(Boolean).join(' / ') || node}`}>
        <Link href={`/logs?query=${encodeURIComponent(pod ? `namespace:=${q(ns)} pod:=${q(pod)}` : '*')}&from=${at - AROUND}&to=${at + AROUND}`} class="btn" id="detail-explorer">
          These logs ±15 min
        </Link>
      </PageHeader>
      <pre class="panel log-full mono" id="detail-line">{msg}</pre>
      {pod && (
        <>
          <h2 class="section-title">Pod {pod}</h2>
          <div class="detail-grid">
            <MarkedChart id="detail-pod-cpu" title="CPU (cores)" at={at} fmt={cores} exprs={[{ expr: `sum(rate(container_cpu_usage_seconds_total{${podSel},container!=""}[2m]))`, label: 'cpu' }]} />
            <MarkedChart id="detail-pod-memory" title="Memory (working set)" at={at} fmt={bytes} exprs={[{ expr: `sum(container_memory_working_set_bytes{${podSel},container!=""})`, label: 'memory' }]} />
            <MarkedChart
              id="detail-pod-network"
              title="Network"
              at={at}
              fmt={rate}
              exprs={[
                { expr: `sum(rate(container_network_receive_bytes_total{${podSel}}[2m]))`, label: 'receive' },
                { expr: `sum(rate(container_network_transmit_bytes_total{${podSel}}[2m]))`, label: 'transmit' },
              ]}
            />
          </div>
        </>
      )}
      {node && (
        <>
          <h2 class="section-title">
            Node <Link href={`/infrastructure/${encodeURIComponent(node)}`}>{node}</Link>
          </h2>
          <div class="detail-grid">
            <MarkedChart id="detail-node-cpu" title="CPU" at={at} fmt={pct} exprs={[{ expr: `100 * (1 - avg(rate(node_cpu_seconds_total{${nodeSel},mode="idle"}[2m])))`, label: 'busy' }]} />
            <MarkedChart id="detail-node-memory" title="Memory used" at={at} fmt={bytes} exprs={[{ expr: `node_memory_MemTotal_bytes{${nodeSel}} - node_memory_MemAvailable_bytes{${nodeSel}}`, label: 'used' }]} />
            <MarkedChart
              id="detail-node-network"
              title="Network"
              at={at}
              fmt={rate}
              exprs={[
                { expr: `sum(rate(node_network_receive_bytes_total{${nodeSel},device!="lo"}[2m]))`, label: 'receive' },
                { expr: `sum(rate(node_network_transmit_bytes_total{${nodeSel},device!="lo"}[2m]))`, label: 'transmit' },
              ]}
            />
          </div>
        </>
      )}
      <div class="detail-two">
        <div class="panel" id="detail-events">
          <div class="detail-chart-title">Events ±15 min</div>
          {evErr && <div class="alert alert-error">{evErr}</div>}
          {events && events.length === 0 && <div class="muted small">no events for this pod or node</div>}
          {events?.map((e, i) => (
            <div key={i} class={`event-line ${e.type === 'Warning' ? 'warn' : ''}`}>
              <span class="log-time mono">{fmtTimeMs(new Date(e.time))}</span> <b>{e.reason}</b> {e.kind}/{e.name}: {e.message}
            </div>
          ))}
        </div>
        <div class="panel" id="detail-context">
          <div class="detail-chart-title">Lines around it</div>
          {ctx?.map((c, i) => (
            <div key={i} class={`ctx-line mono${c._time === time ? ' current' : ''}`}>
              <span class="log-time">{c._time ? fmtTimeMs(new Date(c._time)) : ''}</span> {c._msg}
            </div>
          ))}
        </div>
      </div>
      {node && (
        <>
          <h2 class="section-title">Top processes on {node} at that time</h2>
          <ProcessTable node={node} time={at} reload={0} />
        </>
      )}
    </div>
  );
}
