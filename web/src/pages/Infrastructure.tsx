import { useCallback, useEffect, useState } from 'preact/hooks';
import { errText, isAbort, listNodes, promByLabel, type Node } from '../api';
import { Empty, ErrorBox, Link, PageHeader, Pct } from '../components/ui';
import { fmtAgo, fmtBytes, fmtCores, fmtDateTime } from '../format';
import { navigate } from '../router';
import { useInterval, useTick } from '../time';

export const CPU_PCT_BY_NODE = '100 * (1 - avg by (node) (rate(node_cpu_seconds_total{mode="idle"}[2m])))';
export const MEM_PCT_BY_NODE = '100 * (1 - node_memory_MemAvailable_bytes / node_memory_MemTotal_bytes)';

const REFRESH_MS = 30_000;

export function ReadyBadge(props: { ready: boolean | undefined }) {
  if (props.ready === undefined) return <span class="badge badge-muted">unknown</span>;
  return props.ready ? <span class="badge badge-ok">Ready</span> : <span class="badge badge-crit">NotReady</span>;
}

export function Sources(props: { source: string[] | undefined }) {
  const s = props.source ?? [];
  if (!s.length) return <span class="muted">—</span>;
  return (
    <span class="chips">
      {s.map((x) => (
        <span class="chip" key={x}>
          {x}
        </span>
      ))}
    </span>
  );
}

export function InfrastructurePage() {
  const [nodes, setNodes] = useState<Node[] | null>(null);
  const [cpu, setCpu] = useState<Map<string, number>>(new Map());
  const [mem, setMem] = useState<Map<string, number>>(new Map());
  const [error, setError] = useState('');
  const [metricsError, setMetricsError] = useState('');
  const [filter, setFilter] = useState('');
  useTick(10_000);

  const load = useCallback((signal?: AbortSignal) => {
    listNodes(signal)
      .then((n) => {
        setNodes(n.slice().sort((a, b) => a.name.localeCompare(b.name, undefined, { numeric: true })));
        setError('');
      })
      .catch((e) => !isAbort(e) && setError(errText(e)));
    Promise.all([promByLabel(CPU_PCT_BY_NODE, 'node', signal), promByLabel(MEM_PCT_BY_NODE, 'node', signal)])
      .then(([c, m]) => {
        setCpu(c);
        setMem(m);
        setMetricsError('');
      })
      .catch((e) => !isAbort(e) && setMetricsError(errText(e)));
  }, []);

  useEffect(() => {
    const ac = new AbortController();
    load(ac.signal);
    return () => ac.abort();
  }, [load]);
  useInterval(load, REFRESH_MS);

  const f = filter.trim().toLowerCase();
  const shown = (nodes ?? []).filter(
    (n) =>
      !f ||
      n.name.toLowerCase().includes(f) ||
      Object.entries(n.labels ?? {}).some(([k, v]) => `${k}=${v}`.toLowerCase().includes(f)),
  );
  const ready = (nodes ?? []).filter((n) => n.ready).length;
  // Readiness comes from Kubernetes; agent-only nodes have none.
  const known = (nodes ?? []).some((n) => n.ready !== undefined);

  return (
    <div class="page">
      <PageHeader
        title="Infrastructure"
        subtitle={nodes ? `${nodes.length} node${nodes.length === 1 ? '' : 's'}${known ? ` · ${ready} ready` : ''}` : 'Nodes'}
      >
        <input
          class="input input-search"
          id="node-filter"
          type="search"
          placeholder="Filter by name or label"
          value={filter}
          onInput={(e) => setFilter((e.currentTarget as HTMLInputElement).value)}
        />
      </PageHeader>
      <ErrorBox error={error} onRetry={() => load()} />
      {metricsError && <div class="alert alert-warn">Current usage is unavailable: {metricsError}</div>}
      {nodes === null && !error && <div class="panel loading-panel">Loading nodes…</div>}
      {nodes !== null && nodes.length === 0 && (
        <Empty title="No nodes yet">
          Nodes appear here once the vigil agent reports from them or the Kubernetes API lists them. Create an agent
          token in <Link href="/settings">Settings</Link> and deploy the agent to your cluster.
        </Empty>
      )}
      {nodes !== null && nodes.length > 0 && (
        <div class="panel table-panel">
          <table class="table" id="node-table">
            <thead>
              <tr>
                <th>Name</th>
                <th>Status</th>
                <th>Source</th>
                <th class="num">CPU cores</th>
                <th class="col-pct">CPU</th>
                <th class="num">Memory</th>
                <th class="col-pct">Memory used</th>
                <th>Last seen</th>
              </tr>
            </thead>
            <tbody>
              {shown.map((n) => {
                const href = `/infrastructure/${encodeURIComponent(n.name)}`;
                return (
                  <tr
                    key={n.name}
                    class="node-row clickable"
                    data-node={n.name}
                    onClick={(e) => {
                      if ((e.target as HTMLElement).closest('a')) return;
                      navigate(href);
                    }}
                  >
                    <td class="name">
                      <Link href={href}>{n.name}</Link>
                    </td>
                    <td>
                      <ReadyBadge ready={n.ready} />
                    </td>
                    <td>
                      <Sources source={n.source} />
                    </td>
                    <td class="num">{fmtCores(n.cpuCores)}</td>
                    <td class="col-pct">
                      <Pct value={cpu.get(n.name)} />
                    </td>
                    <td class="num">{n.memoryBytes ? fmtBytes(n.memoryBytes) : '—'}</td>
                    <td class="col-pct">
                      <Pct value={mem.get(n.name)} />
                    </td>
                    <td title={fmtDateTime(n.lastSeen)}>{fmtAgo(n.lastSeen)}</td>
                  </tr>
                );
              })}
              {shown.length === 0 && (
                <tr>
                  <td colSpan={8} class="muted center">
                    No node matches “{filter}”.
                  </td>
                </tr>
              )}
            </tbody>
          </table>
        </div>
      )}
    </div>
  );
}
