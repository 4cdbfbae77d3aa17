// Automation: the installed vigil release (version, values in effect, agents per
// node, deployments) and drift of every Helm release, with who made each change.
import { getJSON, sendJSON } from '../api';
import { ErrorBox, PageHeader } from '../components/ui';
import { useAction } from '../components/useAction';
import { usePolled } from '../components/usePolled';
import { fmtAgo, fmtDateTime } from '../format';
import '../automation.css';

interface Change {
  path: string;
  op: 'changed' | 'missing' | 'added';
  desired?: unknown;
  live?: unknown;
}

interface Blame {
  user: string;
  impersonatedBy?: string;
  groups?: string;
  time: string;
  sourceIP?: string;
  userAgent?: string;
  client: string;
  verb: string;
  resource: string;
  subresource?: string;
}

interface DriftItem {
  apiVersion: string;
  kind: string;
  namespace?: string;
  name: string;
  resource: string;
  state: 'changed' | 'missing';
  changes?: Change[];
  blame?: Blame;
}

interface DriftReport {
  source: string;
  checkedAt: string;
  since?: string;
  checked: number;
  items: DriftItem[];
  errors?: string[];
}

interface Agent {
  node: string;
  pod?: string;
  phase: string;
  ready: boolean;
  restarts: number;
  healthy: boolean;
}

interface Deployment {
  revision: number;
  time: string;
  status: string;
  chart: string;
  appVersion: string;
  description: string;
}

interface ReleaseInfo {
  name: string;
  namespace: string;
  chart: string;
  chartVersion: string;
  appVersion: string;
  revision: number;
  status: string;
  deployed: string;
  description: string;
  values: Record<string, unknown>;
  userValues: Record<string, unknown>;
  agents: Agent[];
  history: Deployment[];
}

interface AutomationStatus {
  cluster: boolean;
  error?: string;
  releases: ReleaseInfo[];
  drift: DriftReport[];
}

const show = (v: unknown) => (v === undefined ? '(absent)' : JSON.stringify(v));

function Timeline(props: { history: Deployment[]; drift: DriftItem[] }) {
  // Deployments and drift on one time axis, newest right.
  const points = [
    ...props.history.filter((d) => d.time).map((d) => ({ t: Date.parse(d.time), kind: 'deploy', label: `revision ${d.revision}: ${d.description || d.status}` })),
    ...props.drift.filter((d) => d.blame).map((d) => ({ t: Date.parse(d.blame!.time), kind: 'drift', label: `${d.kind} ${d.name} changed by ${d.blame!.user}` })),
  ].filter((p) => !Number.isNaN(p.t));
  if (!points.length) return null;
  const min = Math.min(...points.map((p) => p.t));
  const max = Math.max(...points.map((p) => p.t), min + 60_000);
  const x = (t: number) => 2 + (96 * (t - min)) / (max - min);
  return (
    <div class="timeline" id="automation-timeline">
      <svg viewBox="0 0 100 14" preserveAspectRatio="none" width="100%" height="40" aria-label="Deployments and drift over time">
        <line x1="0" x2="100" y1="7" y2="7" stroke="#d7dbe0" stroke-width="0.3" />
        {points.map((p, i) => (
          <g key={i} class={`marker marker-${p.kind}`}>
            <title>{`${new Date(p.t).toLocaleString()}: ${p.label}`}</title>
            <line x1={x(p.t)} x2={x(p.t)} y1="1" y2="13" stroke={p.kind === 'deploy' ? '#2563eb' : '#dc2626'} stroke-width="0.5" />
          </g>
        ))}
      </svg>
      <div class="timeline-axis muted small">
        <span>{new Date(min).toLocaleString()}</span>
        <span>
          <span class="legend legend-deploy" /> deployment <span class="legend legend-drift" /> drift
        </span>
        <span>{new Date(max).toLocaleString()}</span>
      </div>
    </div>
  );
}

function ReleaseCard(props: { r: ReleaseInfo; drift: DriftItem[] }) {
  const r = props.r;
  const healthy = r.agents.filter((a) => a.healthy).length;
  return (
    <section class="panel automation-release" id={`release-${r.namespace}-${r.name}`} data-release={r.name}>
      <div class="cards">
        <div class="card">
          <div class="card-label">Release</div>
          <div class="card-value" id="automation-release">
            {r.namespace}/{r.name}
          </div>
          <div class="card-foot">
            revision {r.revision} · <span class={`badge ${r.status === 'deployed' ? 'badge-ok' : 'badge-crit'}`}>{r.status}</span>
          </div>
        </div>
        <div class="card">
          <div class="card-label">Installed version</div>
          <div class="card-value" id="automation-version">
            {r.appVersion || '—'}
          </div>
          <div class="card-foot">
            chart {r.chart}-{r.chartVersion}
          </div>
        </div>
        <div class="card">
          <div class="card-label">Last deployed</div>
          <div class="card-value">{fmtAgo(r.deployed)}</div>
          <div class="card-foot">{fmtDateTime(r.deployed)}</div>
        </div>
        {r.chart === 'vigil' && (
          <div class="card">
            <div class="card-label">Agents healthy</div>
            <div class="card-value" id="automation-agents-healthy">
              {healthy}/{r.agents.length}
            </div>
            <div class="card-foot">one per node</div>
          </div>
        )}
      </div>

      <Timeline history={r.history} drift={props.drift} />

      <div class="automation-cols">
        {r.chart === 'vigil' && (
          <div class="table-panel">
            <h3>Agents per node</h3>
            <table class="table" id="automation-agents">
              <thead>
                <tr>
                  <th>Node</th>
                  <th>Pod</th>
                  <th>Phase</th>
                  <th class="num">Restarts</th>
                  <th>Health</th>
                </tr>
              </thead>
              <tbody>
                {r.agents.map((a) => (
                  <tr key={a.node} class="agent-row" data-node={a.node} data-healthy={String(a.healthy)}>
                    <td class="name">{a.node}</td>
                    <td>{a.pod ?? '—'}</td>
                    <td>{a.phase}</td>
                    <td class="num">{a.restarts}</td>
                    <td>
                      <span class={`badge ${a.healthy ? 'badge-ok' : 'badge-crit'}`}>{a.healthy ? 'healthy' : a.pod ? 'not ready' : 'missing'}</span>
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        )}
        <div class="table-panel">
          <h3>Deployments</h3>
          <table class="table" id="automation-deployments">
            <thead>
              <tr>
                <th class="num">Rev.</th>
                <th>When</th>
                <th>Chart</th>
                <th>Status</th>
                <th>Description</th>
              </tr>
            </thead>
            <tbody>
              {r.history.map((d) => (
                <tr key={d.revision} class="deploy-row" data-revision={d.revision}>
                  <td class="num">{d.revision}</td>
                  <td title={fmtDateTime(d.time)}>{fmtAgo(d.time)}</td>
                  <td>
                    {d.chart} ({d.appVersion})
                  </td>
                  <td>{d.status}</td>
                  <td>{d.description}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      </div>

      <details class="values" open={false}>
        <summary>Chart values in effect (secrets masked)</summary>
        <pre id="automation-values">{JSON.stringify(r.values, null, 2)}</pre>
      </details>
    </section>
  );
}

function DriftList(props: { reports: DriftReport[] }) {
  const items = props.reports.flatMap((r) => r.items.map((it) => ({ it, source: r.source })));
  return (
    <section class="panel" id="automation-drift">
      <h2>Drift</h2>
      <div class="muted small">
        {props.reports.map((r) => (
          <div key={r.source} class="drift-source" data-source={r.source}>
            {r.source}: {r.checked} objects checked {fmtAgo(r.checkedAt)}, {r.items.length} drifted
            {r.errors?.length ? ` · ${r.errors.length} errors: ${r.errors.join('; ')}` : ''}
          </div>
        ))}
        {!props.reports.length && <div>No drift check has run yet.</div>}
      </div>
      {!items.length && props.reports.length > 0 && (
        <div class="empty-text" id="automation-no-drift">
          Every object matches its desired state.
        </div>
      )}
      {items.map(({ it, source }) => (
        <article
          key={source + it.kind + it.namespace + it.name}
          class="drift-item"
          data-kind={it.kind}
          data-namespace={it.namespace ?? ''}
          data-name={it.name}
          data-state={it.state}
        >
          <header>
            <span class="badge badge-crit">{it.state}</span> <strong>{it.kind}</strong> {it.namespace ? `${it.namespace}/` : ''}
            {it.name} <span class="muted small">from {source}</span>
          </header>
          <div class="drift-body">
            <table class="table drift-changes">
              <thead>
                <tr>
                  <th>Field</th>
                  <th>Desired</th>
                  <th>Live</th>
                </tr>
              </thead>
              <tbody>
                {(it.changes ?? []).map((c) => (
                  <tr key={c.path} class="drift-change" data-path={c.path}>
                    <td class="mono">{c.path}</td>
                    <td class="mono">{show(c.desired)}</td>
                    <td class="mono drift-live">{show(c.live)}</td>
                  </tr>
                ))}
                {it.state === 'missing' && (
                  <tr>
                    <td colSpan={3}>The object was deleted from the cluster.</td>
                  </tr>
                )}
              </tbody>
            </table>
            <aside class="drift-blame">
              {it.blame ? (
                <dl>
                  <dt>Changed by</dt>
                  <dd class="drift-user">{it.blame.user}</dd>
                  {it.blame.impersonatedBy && (
                    <>
                      <dt>Impersonated by</dt>
                      <dd>{it.blame.impersonatedBy}</dd>
                    </>
                  )}
                  <dt>When</dt>
                  <dd class="drift-time" title={it.blame.time}>
                    {fmtDateTime(it.blame.time)} ({fmtAgo(it.blame.time)})
                  </dd>
                  <dt>Client</dt>
                  <dd class="drift-client" title={it.blame.userAgent}>
                    {it.blame.client}
                  </dd>
                  <dt>From</dt>
                  <dd class="drift-ip">{it.blame.sourceIP || '—'}</dd>
                  <dt>Request</dt>
                  <dd>
                    {it.blame.verb} {it.blame.resource}
                    {it.blame.subresource ? `/${it.blame.subresource}` : ''}
                  </dd>
                </dl>
              ) : (
                <div class="muted small drift-unknown">No change to this object in the audit log since the last deployment.</div>
              )}
            </aside>
          </div>
        </article>
      ))}
    </section>
  );
}

const loadStatus = (signal: AbortSignal) => getJSON<AutomationStatus>('/api/automation/status', undefined, signal);

export function AutomationPage() {
  const { data: st, err: error, setErr: setError, load } = usePolled(loadStatus, 30_000);
  const [checking, run] = useAction(setError);
  const check = () =>
    run(async () => {
      await sendJSON('POST', '/api/automation/drift/check');
      load();
    });

  return (
    <div class="page automation">
      <PageHeader title="Automation" subtitle="Releases, agents, deployments and drift from the declared state">
        <button type="button" class="btn" id="automation-check" onClick={check} disabled={checking || !st?.cluster}>
          {checking ? 'Checking…' : 'Check drift now'}
        </button>
      </PageHeader>
      {error && <ErrorBox error={error} onRetry={() => load()} />}
      {st && !st.cluster && (
        <div class="empty" id="automation-no-cluster">
          <div class="empty-title">No cluster</div>
          <div class="empty-text">Start the server with --kubeconfig (or in a cluster) to see releases and drift. Install with `vigil install`.</div>
        </div>
      )}
      {st?.error && <ErrorBox error={st.error} />}
      {st && st.cluster && !st.releases.length && !st.error && (
        <div class="empty" id="automation-no-release">
          <div class="empty-title">No Helm release found</div>
          <div class="empty-text">Install vigil with `vigil install`.</div>
        </div>
      )}
      {st?.releases.map((r) => (
        <ReleaseCard key={r.namespace + '/' + r.name} r={r} drift={st.drift.find((x) => x.source === `helm:${r.namespace}/${r.name}`)?.items ?? []} />
      ))}
      {st && <DriftList reports={st.drift} />}
    </div>
  );
}
