import { useEffect, useState } from 'preact/hooks';
import { errText, isAbort, logsFacet, logsQuery, logsQueryRaw, type FieldValue, type LogRecord } from '../api';
import { Empty, ErrorBox, Link, PageHeader, RangePicker } from '../components/ui';
import { fmtCount, fmtTimeMs } from '../format';
import { navigate } from '../router';
import { nowSec, rangeByKey } from '../time';
import '../logs.css';

const BASE = 'source:="kube-audit"';

/** The questions the page answers, as LogsQL over the audit rows. */
export const AUDIT_VIEWS: { key: string; label: string; query: string }[] = [
  { key: 'all', label: 'Everything', query: '' },
  { key: 'exec', label: 'Exec, attach, port-forward', query: 'audit.resource:=pods audit.subresource:in(exec,attach,portforward,proxy)' },
  { key: 'pods', label: 'Pods created or deleted', query: 'audit.resource:=pods -audit.subresource:* audit.verb:in(create,delete,deletecollection)' },
  { key: 'rbac', label: 'RBAC changes', query: 'audit.api_group:="rbac.authorization.k8s.io" audit.verb:in(create,update,patch,delete,deletecollection)' },
  { key: 'secrets', label: 'Secrets', query: 'audit.resource:=secrets' },
  {
    key: 'workloads',
    label: 'Workload changes',
    query: 'audit.resource:in(deployments,statefulsets,daemonsets,replicasets,jobs,cronjobs) audit.verb:in(create,update,patch,delete)',
  },
  { key: 'denied', label: 'Denied requests', query: 'audit.code:in(401,403)' },
];

const FILTERS = ['audit.user', 'audit.verb', 'audit.resource', 'audit.namespace'] as const;

export function auditQuery(view: string, filters: Record<string, string>): string {
  const v = AUDIT_VIEWS.find((x) => x.key === view) ?? AUDIT_VIEWS[0];
  const parts = [BASE, v.query];
  for (const f of FILTERS) if (filters[f]) parts.push(`${f}:=${JSON.stringify(filters[f])}`);
  return parts.filter(Boolean).join(' ');
}

interface Login {
  user: string;
  ip: string;
  agent: string;
  n: number;
  first: string;
  last: string;
}

/** Kubernetes audit log: who authenticated from where, who did what to which object. */
export function LogAuditPage(props: { query: URLSearchParams }) {
  const view = props.query.get('view') ?? 'exec';
  const rangeKey = rangeByKey(props.query.get('range'), '24h').key;
  const filters: Record<string, string> = {};
  for (const f of FILTERS) filters[f] = props.query.get(f) ?? '';
  const q = auditQuery(view, filters);
  const [rows, setRows] = useState<LogRecord[] | null>(null);
  const [logins, setLogins] = useState<Login[] | null>(null);
  const [opts, setOpts] = useState<Record<string, FieldValue[]>>({});
  const [error, setError] = useState('');

  const go = (changes: Record<string, string>) => {
    const p = new URLSearchParams(props.query);
    for (const [k, v] of Object.entries(changes)) {
      if (v) p.set(k, v);
      else p.delete(k);
    }
    navigate(`/logs/audit?${p}`);
  };

  useEffect(() => {
    const ac = new AbortController();
    const end = nowSec();
    const start = end - rangeByKey(rangeKey).seconds;
    setError('');
    logsQuery(q, start, end, 300, ac.signal)
      .then(setRows)
      .catch((e) => !isAbort(e) && (setRows(null), setError(errText(e))));
    const who = `${BASE} audit.user:* | stats by (audit.user, audit.source_ip, audit.user_agent) count() n, min(_time) first, max(_time) last | sort by (last desc) | limit 50`;
    logsQueryRaw(who, start, end, 0, ac.signal)
      .then((r) =>
        setLogins(
          r.map((x) => ({
            user: x['audit.user'] ?? '',
            ip: x['audit.source_ip'] ?? '',
            agent: x['audit.user_agent'] ?? '',
            n: Number(x.n) || 0,
            first: x.first ?? '',
            last: x.last ?? '',
          })),
        ),
      )
      .catch(() => setLogins([]));
    for (const f of FILTERS)
      logsFacet(f, BASE, start, end, 50, ac.signal)
        .then((v) => setOpts((o) => ({ ...o, [f]: v })))
        .catch(() => {});
    return () => ac.abort();
  }, [q, rangeKey]);

  return (
    <div class="page page-logs page-audit">
      <PageHeader title="Audit" subtitle="Kubernetes API server audit log">
        <Link href={`/logs?query=${encodeURIComponent(q)}&range=${rangeKey}`} class="btn" id="audit-explorer">
          Open in explorer
        </Link>
        <RangePicker value={rangeKey} onChange={(k) => go({ range: k })} id="audit-range" />
      </PageHeader>
      <div class="segmented audit-views" role="group" id="audit-views">
        {AUDIT_VIEWS.map((v) => (
          <button type="button" key={v.key} data-view={v.key} class={v.key === view ? 'active' : ''} onClick={() => go({ view: v.key })}>
            {v.label}
          </button>
        ))}
      </div>
      <div class="selectors">
        {FILTERS.map((f) => (
          <label class="selector" key={f}>
            <span>{f.slice(6)}</span>
            <select id={`audit-${f.slice(6)}`} value={filters[f]} onChange={(e) => go({ [f]: (e.currentTarget as HTMLSelectElement).value })}>
              <option value="">all</option>
              {filters[f] && !(opts[f] ?? []).some((o) => o.value === filters[f]) && <option value={filters[f]}>{filters[f]}</option>}
              {(opts[f] ?? []).map((o) => (
                <option value={o.value} key={o.value}>
                  {o.value} ({fmtCount(o.hits ?? 0)})
                </option>
              ))}
            </select>
          </label>
        ))}
      </div>
      <ErrorBox error={error} />
      {rows && rows.length === 0 && <Empty title="No audit events">Nothing matches in this range. Is kube-apiserver sending its audit log to vigil (see `vigil audit --help`)?</Empty>}
      {rows && rows.length > 0 && (
        <div class="panel table-panel">
          <table class="table audit-table" id="audit-results">
            <thead>
              <tr>
                <th>time</th>
                <th>user</th>
                <th>verb</th>
                <th>resource</th>
                <th>object</th>
                <th>code</th>
                <th>from</th>
              </tr>
            </thead>
            <tbody>
              {rows.map((r, i) => (
                <tr key={i} class={Number(r['audit.code']) >= 400 ? 'denied' : ''}>
                  <td class="mono nowrap">{r._time ? fmtTimeMs(new Date(r._time)) : ''}</td>
                  <td>
                    <a href="#" onClick={(e) => (e.preventDefault(), go({ 'audit.user': r['audit.user'] ?? '' }))}>
                      {r['audit.user']}
                    </a>
                    {r['audit.impersonated_user'] && <span class="muted"> as {r['audit.impersonated_user']}</span>}
                  </td>
                  <td>{r['audit.verb']}</td>
                  <td>
                    {r['audit.resource'] ?? r['audit.request_uri']}
                    {r['audit.subresource'] ? `/${r['audit.subresource']}` : ''}
                  </td>
                  <td class="mono">{[r['audit.namespace'], r['audit.name']].filter(Boolean).join('/')}</td>
                  <td>{r['audit.code']}</td>
                  <td class="mono" title={r['audit.user_agent']}>
                    {r['audit.source_ip']}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      <h2 class="section-title">Who authenticated, from where</h2>
      <div class="panel table-panel">
        <table class="table" id="audit-logins">
          <thead>
            <tr>
              <th>user</th>
              <th>source IP</th>
              <th>client</th>
              <th>requests</th>
              <th>first</th>
              <th>last</th>
            </tr>
          </thead>
          <tbody>
            {logins?.map((l, i) => (
              <tr key={i}>
                <td>{l.user}</td>
                <td class="mono">{l.ip}</td>
                <td class="small">{l.agent.slice(0, 60)}</td>
                <td>{fmtCount(l.n)}</td>
                <td class="mono nowrap">{l.first ? fmtTimeMs(new Date(l.first)) : ''}</td>
                <td class="mono nowrap">{l.last ? fmtTimeMs(new Date(l.last)) : ''}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </div>
  );
}
