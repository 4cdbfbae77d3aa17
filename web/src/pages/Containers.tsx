// Every container, filterable by node, namespace, workload, zone, region,
// status and free text, with CPU and memory sparklines for the visible rows.
import { useCallback, useEffect, useMemo, useState } from 'preact/hooks';
import { errText, isAbort, promRange } from '../api';
import { clusterContainers, logsHref, podHref, workloadHref, type ContainerRow } from '../cluster';
import { CLUSTER_TABS, HealthDot, Sparkline, Tabs } from '../components/cluster';
import { ErrorBox, Link, PageHeader } from '../components/ui';
import { fmtBytes } from '../format';
import { navigate } from '../router';
import { nowSec, useInterval } from '../time';
import '../cluster.css';

const FILTERS = ['node', 'namespace', 'workload', 'zone', 'region', 'status'] as const;
type FilterKey = (typeof FILTERS)[number] | 'q';
const PAGE = 100;

const key = (ns: string, pod: string, c: string) => `${ns}/${pod}/${c}`;
const rx = (vals: string[]) => [...new Set(vals)].map((v) => v.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')).join('|');

export function ContainersPage(props: { query: URLSearchParams }) {
  const [rows, setRows] = useState<ContainerRow[] | null>(null);
  const [all, setAll] = useState<ContainerRow[]>([]);
  const [error, setError] = useState('');
  const [spark, setSpark] = useState<{ cpu: Map<string, (number | null)[]>; mem: Map<string, (number | null)[]> }>({ cpu: new Map(), mem: new Map() });
  const params: Record<FilterKey, string> = {
    node: props.query.get('node') ?? '',
    namespace: props.query.get('namespace') ?? '',
    workload: props.query.get('workload') ?? '',
    zone: props.query.get('zone') ?? '',
    region: props.query.get('region') ?? '',
    status: props.query.get('status') ?? '',
    q: props.query.get('q') ?? '',
  };
  const [text, setText] = useState(params.q);
  const paramKey = JSON.stringify(params);

  const setParam = (k: FilterKey, v: string) => {
    const q = new URLSearchParams(props.query);
    if (v) q.set(k, v);
    else q.delete(k);
    navigate(`/cluster/containers${q.toString() ? '?' + q.toString() : ''}`, true);
  };

  const load = useCallback(
    (signal?: AbortSignal) => {
      clusterContainers(params, signal)
        .then((r) => {
          setRows(r);
          setError('');
        })
        .catch((e) => !isAbort(e) && setError(errText(e)));
      // Unfiltered list for the filter menus' options.
      clusterContainers({}, signal)
        .then(setAll)
        .catch(() => undefined);
    },
    // eslint-disable-next-line react-hooks/exhaustive-deps
    [paramKey],
  );
  useEffect(() => {
    const ac = new AbortController();
    load(ac.signal);
    return () => ac.abort();
  }, [load]);
  useInterval(load, 10_000);

  // Debounce the free-text box into the URL.
  useEffect(() => {
    if (text === params.q) return;
    const id = setTimeout(() => setParam('q', text.trim()), 300);
    return () => clearTimeout(id);
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [text]);

  const visible = (rows ?? []).slice(0, PAGE);
  const visKey = visible.map((r) => key(r.namespace, r.pod, r.name)).join(',');
  useEffect(() => {
    if (!visible.length) return;
    const ac = new AbortController();
    const end = nowSec();
    const sel = `namespace=~"${rx(visible.map((r) => r.namespace))}",pod=~"${rx(visible.map((r) => r.pod))}",container!=""`;
    const toMap = (res: Awaited<ReturnType<typeof promRange>>) => {
      const m = new Map<string, (number | null)[]>();
      for (const s of res) {
        m.set(
          key(s.metric.namespace, s.metric.pod, s.metric.container),
          (s.values ?? []).map(([, v]) => (Number.isFinite(parseFloat(v)) ? parseFloat(v) : null)),
        );
      }
      return m;
    };
    Promise.all([
      promRange(`sum by (namespace, pod, container) (rate(container_cpu_usage_seconds_total{${sel}}[2m]))`, end - 3600, end, 60, ac.signal),
      promRange(`sum by (namespace, pod, container) (container_memory_working_set_bytes{${sel}})`, end - 3600, end, 60, ac.signal),
    ])
      .then(([c, m]) => setSpark({ cpu: toMap(c), mem: toMap(m) }))
      .catch(() => undefined);
    return () => ac.abort();
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [visKey]);

  const options = useMemo(() => {
    const o: Record<string, string[]> = {};
    const pick: Record<string, (r: ContainerRow) => string | undefined> = {
      node: (r) => r.node,
      namespace: (r) => r.namespace,
      workload: (r) => (r.workload ? `${r.workloadKind}/${r.workload}` : undefined),
      zone: (r) => r.zone,
      region: (r) => r.region,
    };
    for (const [k, f] of Object.entries(pick)) o[k] = [...new Set(all.map(f).filter((v): v is string => !!v))].sort();
    o.status = ['running', 'waiting', 'terminated', 'critical', 'warning', ...new Set(all.map((r) => r.reason).filter((v): v is string => !!v))];
    return o;
  }, [all]);

  return (
    <div class="page">
      <PageHeader title="Kubernetes" subtitle={rows ? `${rows.length} containers` : 'Containers'} />
      <Tabs items={CLUSTER_TABS} current="/cluster/containers" />
      <ErrorBox error={error} onRetry={() => load()} />
      <div class="k-filters">
        {FILTERS.map((f) => (
          <select key={f} class="input" id={`ctr-${f}`} value={params[f]} onChange={(e) => setParam(f, (e.currentTarget as HTMLSelectElement).value)}>
            <option value="">{`All ${f === 'status' ? 'statuses' : f + 's'}`}</option>
            {(options[f] ?? []).map((v) => (
              <option key={v} value={v}>
                {v}
              </option>
            ))}
            {params[f] && !(options[f] ?? []).includes(params[f]) && <option value={params[f]}>{params[f]}</option>}
          </select>
        ))}
        <input class="input input-search" id="ctr-q" type="search" placeholder="Search name, image, pod…" value={text} onInput={(e) => setText((e.currentTarget as HTMLInputElement).value)} />
      </div>
      {rows === null && !error && <div class="panel loading-panel">Loading containers…</div>}
      {rows !== null && (
        <div class="panel table-panel">
          <table class="table" id="container-table">
            <thead>
              <tr>
                <th>Container</th>
                <th>Pod</th>
                <th>Workload</th>
                <th>Node</th>
                <th>Status</th>
                <th class="num">Restarts</th>
                <th>CPU (1h)</th>
                <th>Memory (1h)</th>
                <th />
              </tr>
            </thead>
            <tbody>
              {visible.map((r) => {
                const k = key(r.namespace, r.pod, r.name);
                return (
                  <tr key={k} class="container-row" data-container={k} data-health={r.health}>
                    <td class="name">
                      <HealthDot health={r.health} /> <b>{r.name}</b>
                      <div class="muted small" title={r.image}>
                        {r.image}
                      </div>
                    </td>
                    <td>
                      <span class="muted">{r.namespace}/</span>
                      <Link href={podHref(r.namespace, r.pod)}>{r.pod}</Link>
                    </td>
                    <td>{r.workload ? <Link href={workloadHref(r.namespace, r.workloadKind ?? '', r.workload)}>{r.workload}</Link> : <span class="muted">—</span>}</td>
                    <td>
                      {r.node ? <Link href={`/infrastructure/${encodeURIComponent(r.node)}`}>{r.node}</Link> : <span class="muted">unscheduled</span>}
                      {r.zone && <div class="muted small">{r.zone}</div>}
                    </td>
                    <td class="ctr-status">
                      {r.state}
                      {r.reason ? ` (${r.reason})` : ''}
                    </td>
                    <td class="num">{r.restarts}</td>
                    <td>
                      <Sparkline values={spark.cpu.get(k) ?? []} title={`CPU now ${r.cpuCores.toFixed(3)} cores`} />
                      <span class="small muted"> {r.cpuCores ? r.cpuCores.toFixed(3) : ''}</span>
                    </td>
                    <td>
                      <Sparkline class="mem" values={spark.mem.get(k) ?? []} title={`Memory now ${fmtBytes(r.memoryBytes)}`} />
                      <span class="small muted"> {r.memoryBytes ? fmtBytes(r.memoryBytes) : ''}</span>
                    </td>
                    <td>
                      <Link href={logsHref({ namespace: r.namespace, pod: r.pod, container: r.name })}>logs</Link>
                    </td>
                  </tr>
                );
              })}
            </tbody>
          </table>
          {rows.length > PAGE && <div class="muted small">Showing {PAGE} of {rows.length}; filter to narrow.</div>}
          {rows.length === 0 && <div class="muted small">No container matches.</div>}
        </div>
      )}
    </div>
  );
}
