// The cluster part of the overview dashboard: counts that match kubectl,
// pods by phase, deployments ready, top pods, node health, recent warnings.
import { useCallback, useEffect, useState } from 'preact/hooks';
import { ApiError, errText, isAbort } from '../api';
import { clusterOverview, nsHref, podHref, type Overview, type Usage } from '../cluster';
import { EventList, HealthBadge, HealthDot } from '../components/cluster';
import { Link } from '../components/ui';
import { fmtBytes, fmtCount } from '../format';
import { useInterval } from '../time';
import '../cluster.css';

const PHASES = ['Running', 'Pending', 'Succeeded', 'Failed', 'Unknown'];

function TopList(props: { rows: Usage[]; fmt: (v: number) => string; id: string; empty: string }) {
  const max = Math.max(...props.rows.map((r) => r.value), 1e-9);
  if (!props.rows.length) return <div class="muted small" id={props.id}>{props.empty}</div>;
  return (
    <ol class="toplist" id={props.id}>
      {props.rows.map((r) => (
        <li key={r.namespace + '/' + r.pod} class="top-row">
          <Link href={podHref(r.namespace, r.pod)}>
            <span class="muted">{r.namespace}/</span>
            {r.pod}
          </Link>
          <div class="k-bar">
            <span style={{ width: `${(100 * r.value) / max}%` }} />
          </div>
          <span class="num">{props.fmt(r.value)}</span>
        </li>
      ))}
    </ol>
  );
}

export function ClusterOverview() {
  const [o, setO] = useState<Overview | null>(null);
  const [error, setError] = useState('');
  const [absent, setAbsent] = useState(false);

  const load = useCallback((signal?: AbortSignal) => {
    clusterOverview(signal)
      .then((v) => {
        setO(v);
        setError('');
      })
      .catch((e) => {
        if (isAbort(e)) return;
        if (e instanceof ApiError && e.status === 404) setAbsent(true);
        else setError(errText(e));
      });
  }, []);
  useEffect(() => {
    const ac = new AbortController();
    load(ac.signal);
    return () => ac.abort();
  }, [load]);
  useInterval(load, 5_000);

  if (absent) return null; // no cluster connected: the overview shows nodes and logs only
  if (error) return <div class="alert alert-warn">Cluster overview unavailable: {error}</div>;
  if (!o) return <div class="panel loading-panel">Loading the cluster…</div>;
  const phaseTotal = Math.max(1, o.pods.total);
  return (
    <div id="cluster-overview">
      <h2 class="section-title">Kubernetes cluster</h2>
      <div class="cards">
        <Link href="/infrastructure" class="card">
          <div class="card-label">Nodes</div>
          <div class="card-value" id="ov-nodes">{fmtCount(o.nodes.total)}</div>
          <div class="card-foot">
            <span class="ok-text" id="ov-nodes-ready">{o.nodes.ready} ready</span>
            {o.nodes.total - o.nodes.ready > 0 && <span class="crit-text"> · {o.nodes.total - o.nodes.ready} not ready</span>}
          </div>
        </Link>
        <Link href="/cluster/resources" class="card">
          <div class="card-label">Namespaces</div>
          <div class="card-value" id="ov-namespaces">{fmtCount(o.namespaces)}</div>
          <div class="card-foot">{o.services} services · {o.ingresses} ingresses · {o.pvcs} PVCs</div>
        </Link>
        <Link href="/cluster/map" class="card">
          <div class="card-label">Pods</div>
          <div class="card-value" id="ov-pods">{fmtCount(o.pods.total)}</div>
          <div class="phase-bar" aria-hidden="true">
            {PHASES.filter((p) => o.pods.byPhase[p]).map((p) => (
              <span key={p} class={`ph-${p}`} style={{ width: `${(100 * o.pods.byPhase[p]) / phaseTotal}%` }} />
            ))}
          </div>
          <div class="k-legend" id="ov-pods-phase">
            {PHASES.filter((p) => o.pods.byPhase[p]).map((p) => (
              <span key={p} data-phase={p}>
                <i class={`ph-${p}`} />
                {p} <b class="phase-count">{o.pods.byPhase[p]}</b>
              </span>
            ))}
          </div>
        </Link>
        <Link href="/cluster/containers" class="card">
          <div class="card-label">Containers</div>
          <div class="card-value" id="ov-containers">{fmtCount(o.containers.total)}</div>
          <div class="card-foot">
            {o.containers.running} running · {o.containers.waiting} waiting · {fmtCount(o.containers.restarts)} restarts
          </div>
        </Link>
        <Link href="/cluster/resources" class="card">
          <div class="card-label">Deployments ready</div>
          <div class="card-value" id="ov-deployments">
            {o.deployments.ready}/{o.deployments.total}
          </div>
          <div class="card-foot" id="ov-replicas">
            {o.deployments.readyReplicas}/{o.deployments.desiredReplicas} replicas ready
          </div>
        </Link>
      </div>
      <div class="grid-2">
        <div class="panel">
          <div class="panel-head">
            <h2>Top pods by CPU</h2>
          </div>
          <TopList rows={o.topCPU} fmt={(v) => `${v.toFixed(3)} cores`} id="ov-top-cpu" empty="No CPU usage reported yet (needs kubelet resource metrics)." />
        </div>
        <div class="panel">
          <div class="panel-head">
            <h2>Top pods by memory</h2>
          </div>
          <TopList rows={o.topMemory} fmt={(v) => fmtBytes(v)} id="ov-top-mem" empty="No memory usage reported yet (needs kubelet resource metrics)." />
        </div>
      </div>
      <div class="grid-2">
        <div class="panel">
          <div class="panel-head">
            <h2>Node health</h2>
          </div>
          <table class="table" id="ov-node-health">
            <tbody>
              {o.nodeHealth.map((n) => (
                <tr key={n.name} class="node-health-row" data-node={n.name}>
                  <td>
                    <HealthDot health={n.health} />{' '}
                    <Link href={`/infrastructure/${encodeURIComponent(n.name)}`}>{n.name}</Link>
                  </td>
                  <td>{n.zone ?? ''}</td>
                  <td class="num">{n.pods} pods</td>
                  <td>
                    <HealthBadge health={n.health}>{n.ready ? (n.pressure?.length ? n.pressure.join(', ') : 'Ready') : 'NotReady'}</HealthBadge>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
        <div class="panel">
          <div class="panel-head">
            <h2>Unhealthy pods</h2>
          </div>
          {o.unhealthyPods.length === 0 ? (
            <div class="muted small" id="ov-unhealthy">Every pod is healthy.</div>
          ) : (
            <table class="table" id="ov-unhealthy">
              <tbody>
                {o.unhealthyPods.map((p) => (
                  <tr key={p.namespace + '/' + p.name} class="unhealthy-row" data-pod={p.name}>
                    <td>
                      <HealthDot health={p.health} /> <Link href={nsHref(p.namespace)}>{p.namespace}</Link>/
                      <Link href={podHref(p.namespace, p.name)}>{p.name}</Link>
                    </td>
                    <td>{p.status}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          )}
        </div>
      </div>
      <div class="panel">
        <div class="panel-head">
          <h2>
            Recent warning events <Link href="/events?type=Warning">all events</Link>
          </h2>
        </div>
        <EventList events={o.warnings} id="ov-warnings" empty="No warning events in the last hour." />
      </div>
    </div>
  );
}
