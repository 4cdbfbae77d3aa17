import { useCallback, useEffect, useState } from 'preact/hooks';
import { errText, isAbort, listNodes, logsCount, promByLabel, type Node } from '../api';
import { Icon } from '../components/icons';
import { ErrorBox, Link, PageHeader } from '../components/ui';
import { fmtCount, fmtPct } from '../format';
import { nowSec, useInterval } from '../time';
import { CPU_PCT_BY_NODE, MEM_PCT_BY_NODE } from './Infrastructure';
import { ClusterOverview } from './ClusterOverview';

interface Stat<T> {
  value?: T;
  error?: string;
}

const Val = (p: { v: number | undefined }) =>
  p.v === undefined ? <span class="muted">—</span> : <>{fmtPct(p.v, 0)}</>;

const avg = (m: Map<string, number>) => (m.size ? [...m.values()].reduce((a, b) => a + b, 0) / m.size : undefined);

export function OverviewPage() {
  const [nodes, setNodes] = useState<Stat<Node[]>>({});
  const [logs, setLogs] = useState<Stat<number>>({});
  const [usage, setUsage] = useState<Stat<{ cpu?: number; mem?: number }>>({});

  const load = useCallback((signal?: AbortSignal) => {
    listNodes(signal)
      .then((n) => setNodes({ value: n }))
      .catch((e) => !isAbort(e) && setNodes({ error: errText(e) }));
    const end = nowSec();
    logsCount('*', end - 3600, end, signal)
      .then((n) => setLogs({ value: n }))
      .catch((e) => !isAbort(e) && setLogs({ error: errText(e) }));
    Promise.all([promByLabel(CPU_PCT_BY_NODE, 'node', signal), promByLabel(MEM_PCT_BY_NODE, 'node', signal)])
      .then(([c, m]) => setUsage({ value: { cpu: avg(c), mem: avg(m) } }))
      .catch((e) => !isAbort(e) && setUsage({ error: errText(e) }));
  }, []);

  useEffect(() => {
    const ac = new AbortController();
    load(ac.signal);
    return () => ac.abort();
  }, [load]);
  useInterval(load, 30_000);

  const n = nodes.value;
  const ready = n?.filter((x) => x.ready).length ?? 0;
  const notReady = n?.filter((x) => x.ready === false).length ?? 0;
  const known = n?.some((x) => x.ready !== undefined) ?? false;
  const noNodes = n !== undefined && n.length === 0;

  return (
    <div class="page">
      <PageHeader title="Overview" />
      <ErrorBox error={nodes.error ?? ''} />
      <div class="cards">
        <Link href="/infrastructure" class="card" id="card-nodes">
          <div class="card-label">Nodes</div>
          <div class="card-value" id="overview-nodes">
            {n === undefined ? '…' : fmtCount(n.length)}
          </div>
          <div class="card-foot">
            {n === undefined ? (
              '\u00a0'
            ) : (
              known ? (
                <>
                  <span class="ok-text">{ready} ready</span>
                  {notReady > 0 && <span class="crit-text"> · {notReady} not ready</span>}
                </>
              ) : n.length ? (
                'readiness needs the Kubernetes API'
              ) : (
                'none reporting yet'
              )
            )}
          </div>
        </Link>
        <Link href="/logs" class="card" id="card-logs">
          <div class="card-label">Log lines, last hour</div>
          <div class="card-value" id="overview-log-lines">
            {logs.error ? '—' : logs.value === undefined ? '…' : fmtCount(logs.value)}
          </div>
          <div class="card-foot">{logs.error ? <span class="crit-text">{logs.error}</span> : 'across all namespaces'}</div>
        </Link>
        <Link href="/infrastructure" class="card" id="card-usage">
          <div class="card-label">Average node usage</div>
          <div class="card-value card-value-split">
            <span>
              <small>CPU</small> <Val v={usage.value?.cpu} />
            </span>
            <span>
              <small>Memory</small> <Val v={usage.value?.mem} />
            </span>
          </div>
          <div class="card-foot">{usage.error ? <span class="crit-text">{usage.error}</span> : 'current, over all reporting nodes'}</div>
        </Link>
      </div>

      <ClusterOverview />

      {noNodes && (
        <div class="panel getting-started" id="getting-started">
          <h2>Getting started</h2>
          <ol>
            <li>
              Create an <b>agent</b> token in <Link href="/settings">Settings</Link>.
            </li>
            <li>Deploy the vigil agent to your cluster with that token; it ships node metrics and container logs here.</li>
            <li>
              Nodes then show up under <Link href="/infrastructure">Infrastructure</Link> and their logs under{' '}
              <Link href="/logs">Logs</Link>.
            </li>
          </ol>
        </div>
      )}

      <h2 class="section-title">Go to</h2>
      <div class="links">
        <Link href="/infrastructure" class="quick-link">
          <Icon name="server" />
          <span>
            <b>Infrastructure</b>
            <small>Nodes, CPU, memory, network, disks</small>
          </span>
        </Link>
        <Link href="/logs" class="quick-link">
          <Icon name="logs" />
          <span>
            <b>Logs</b>
            <small>Search container logs with LogsQL</small>
          </span>
        </Link>
        <Link href="/logs?query=level%3A%3D%22error%22" class="quick-link">
          <Icon name="events" />
          <span>
            <b>Error logs</b>
            <small>Lines with level error</small>
          </span>
        </Link>
        <Link href="/settings" class="quick-link">
          <Icon name="settings" />
          <span>
            <b>Settings</b>
            <small>API and agent tokens</small>
          </span>
        </Link>
      </div>
    </div>
  );
}
