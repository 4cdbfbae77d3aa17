// Every cluster, node, namespace, workload and pod with average CPU and
// memory use over the chosen range and its health, sortable.
import { useCallback, useEffect, useMemo, useState } from 'preact/hooks';
import { errText, isAbort } from '../api';
import { clusterResources, nsHref, podHref, workloadHref, type ResourceRow } from '../cluster';
import { CLUSTER_TABS, HealthBadge, Tabs } from '../components/cluster';
import { ErrorBox, Link, PageHeader, RangePicker } from '../components/ui';
import { fmtBytes, fmtPct } from '../format';
import { useInterval } from '../time';
import '../cluster.css';

type Key = 'kind' | 'name' | 'health' | 'cpuPercent' | 'memoryPercent' | 'cpuCores' | 'memoryBytes' | 'pods';
const KINDS = ['cluster', 'node', 'namespace', 'workload', 'pod'];
const RANK: Record<string, number> = { critical: 3, warning: 2, unknown: 1, ok: 0 };

function href(r: ResourceRow): string | undefined {
  switch (r.kind) {
    case 'node':
      return `/infrastructure/${encodeURIComponent(r.name)}`;
    case 'namespace':
      return nsHref(r.name);
    case 'workload': {
      const [kind, ...rest] = r.name.split('/');
      return workloadHref(r.namespace ?? '', kind, rest.join('/'));
    }
    case 'pod':
      return podHref(r.namespace ?? '', r.name);
  }
  return undefined;
}

export function ResourcesPage(props: { query: URLSearchParams }) {
  const [range, setRange] = useState(props.query.get('range') ?? '1h');
  const [rows, setRows] = useState<ResourceRow[] | null>(null);
  const [error, setError] = useState('');
  const [kind, setKind] = useState(props.query.get('kind') ?? '');
  const [text, setText] = useState('');
  const [sort, setSort] = useState<{ key: Key; desc: boolean }>({ key: 'cpuPercent', desc: true });

  const load = useCallback(
    (signal?: AbortSignal) => {
      clusterResources(range, signal)
        .then((r) => {
          setRows(r);
          setError('');
        })
        .catch((e) => !isAbort(e) && setError(errText(e)));
    },
    [range],
  );
  useEffect(() => {
    const ac = new AbortController();
    load(ac.signal);
    return () => ac.abort();
  }, [load]);
  useInterval(load, 15_000);

  const shown = useMemo(() => {
    const t = text.trim().toLowerCase();
    const out = (rows ?? []).filter(
      (r) => (!kind || r.kind === kind) && (!t || `${r.namespace ?? ''}/${r.name}`.toLowerCase().includes(t)),
    );
    const val = (r: ResourceRow): number | string => {
      if (sort.key === 'health') return RANK[r.health] ?? 0;
      if (sort.key === 'kind') return KINDS.indexOf(r.kind);
      if (sort.key === 'name') return `${r.namespace ?? ''}/${r.name}`;
      return (r[sort.key] as number | null) ?? -1;
    };
    out.sort((a, b) => {
      const x = val(a);
      const y = val(b);
      const c = typeof x === 'string' ? x.localeCompare(y as string) : (x as number) - (y as number);
      return sort.desc ? -c : c;
    });
    return out;
  }, [rows, kind, text, sort]);

  const th = (key: Key, label: string, num = false) => (
    <th
      class={`sortable${num ? ' num' : ''}`}
      data-sort={key}
      aria-sort={sort.key === key ? (sort.desc ? 'descending' : 'ascending') : 'none'}
      onClick={() => setSort((s) => ({ key, desc: s.key === key ? !s.desc : key !== 'name' && key !== 'kind' }))}
    >
      {label}
      {sort.key === key ? (sort.desc ? ' ▾' : ' ▴') : ''}
    </th>
  );

  return (
    <div class="page">
      <PageHeader title="Kubernetes" subtitle="Average CPU and memory over the range; % of limits for pods and workloads, of capacity otherwise">
        <RangePicker value={range} onChange={setRange} id="resources-range" />
      </PageHeader>
      <Tabs items={CLUSTER_TABS} current="/cluster/resources" />
      <ErrorBox error={error} onRetry={() => load()} />
      <div class="k-filters">
        <select class="input" id="resources-kind" value={kind} onChange={(e) => setKind((e.currentTarget as HTMLSelectElement).value)}>
          <option value="">All kinds</option>
          {KINDS.map((k) => (
            <option key={k} value={k}>
              {k}
            </option>
          ))}
        </select>
        <input class="input input-search" id="resources-filter" type="search" placeholder="Filter by name" value={text} onInput={(e) => setText((e.currentTarget as HTMLInputElement).value)} />
        <span class="muted small">{shown.length} rows</span>
      </div>
      {rows === null && !error && <div class="panel loading-panel">Loading resources…</div>}
      {rows !== null && (
        <div class="panel table-panel">
          <table class="table" id="resource-table">
            <thead>
              <tr>
                {th('kind', 'Kind')}
                {th('name', 'Name')}
                {th('health', 'State')}
                {th('cpuPercent', 'CPU %', true)}
                {th('cpuCores', 'CPU cores', true)}
                {th('memoryPercent', 'Memory %', true)}
                {th('memoryBytes', 'Memory', true)}
                {th('pods', 'Pods', true)}
              </tr>
            </thead>
            <tbody>
              {shown.slice(0, 500).map((r) => {
                const h = href(r);
                return (
                  <tr key={r.kind + (r.namespace ?? '') + r.name} class="resource-row" data-kind={r.kind} data-name={r.name}>
                    <td class="muted">{r.kind}</td>
                    <td class="name">
                      {r.namespace && <span class="muted">{r.namespace}/</span>}
                      {h ? <Link href={h}>{r.name}</Link> : r.name}
                    </td>
                    <td>
                      <HealthBadge health={r.health}>{r.status || r.health}</HealthBadge>
                    </td>
                    <td class="num cpu-pct">{r.cpuPercent == null ? '—' : fmtPct(r.cpuPercent)}</td>
                    <td class="num">{r.cpuCores ? r.cpuCores.toFixed(3) : '—'}</td>
                    <td class="num mem-pct">{r.memoryPercent == null ? '—' : fmtPct(r.memoryPercent)}</td>
                    <td class="num">{r.memoryBytes ? fmtBytes(r.memoryBytes) : '—'}</td>
                    <td class="num">{r.pods ?? ''}</td>
                  </tr>
                );
              })}
            </tbody>
          </table>
          {shown.length > 500 && <div class="muted small">Showing 500 of {shown.length}; filter to narrow.</div>}
        </div>
      )}
    </div>
  );
}
