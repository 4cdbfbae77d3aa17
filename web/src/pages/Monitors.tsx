import { useCallback, useEffect, useState } from 'preact/hooks';
import { errText } from '../api';
import { Empty, ErrorBox, Link, PageHeader } from '../components/ui';
import { navigate } from '../router';
import { IncidentsPage } from './Incidents';
import { ago, listMonitors, StateBadge, type MonitorStatus } from './MonitorsApi';
import { MonitorDetailPage } from './MonitorsDetail';
import { MonitorEditPage } from './MonitorsEdit';
import './Monitors.css';

/** Routes under /monitors. */
export function MonitorsRoute(props: { path: string; query: URLSearchParams }) {
  const seg = props.path.split('/').slice(2).map(decodeURIComponent);
  if (seg.length === 0) return <MonitorsPage />;
  if (seg[0] === 'incidents' && seg.length === 1) return <IncidentsPage query={props.query} />;
  if (seg[0] === 'new' && seg.length === 1) return <MonitorEditPage key="new" />;
  if (seg.length === 2 && seg[1] === 'edit') return <MonitorEditPage key={`edit-${seg[0]}`} id={seg[0]} />;
  if (seg.length === 1) return <MonitorDetailPage key={seg[0]} id={seg[0]} />;
  return <Empty title="Page not found" />;
}

const KIND_LABEL: Record<string, string> = { threshold: 'Threshold', anomaly: 'Anomaly', forecast: 'Forecast', log: 'Log count', event: 'Events' };

export function MonitorsPage() {
  const [list, setList] = useState<MonitorStatus[] | null>(null);
  const [error, setError] = useState('');
  const [filter, setFilter] = useState('');

  const load = useCallback(() => {
    const ac = new AbortController();
    listMonitors(ac.signal)
      .then((l) => {
        setList(l);
        setError('');
      })
      .catch((e) => {
        if (!ac.signal.aborted) setError(errText(e));
      });
    return () => ac.abort();
  }, []);
  useEffect(() => {
    const stop = load();
    const t = setInterval(load, 10000);
    return () => {
      stop();
      clearInterval(t);
    };
  }, [load]);

  const shown = (list ?? []).filter((m) => !filter || `${m.name} ${m.query} ${m.kind}`.toLowerCase().includes(filter.toLowerCase()));
  const counts = { alerting: 0, pending: 0, ok: 0 } as Record<string, number>;
  for (const m of list ?? []) counts[m.state] = (counts[m.state] ?? 0) + 1;
  return (
    <div class="page">
      <PageHeader title="Monitors" subtitle="Threshold, anomaly and forecast monitors on metrics, log and event counts">
        <Link href="/monitors/incidents" class="btn" id="mon-incidents-link">
          Incidents
        </Link>
        <Link href="/monitors/new" class="btn btn-primary" id="mon-new">
          New monitor
        </Link>
      </PageHeader>
      <ErrorBox error={error} onRetry={load} />
      <div class="mon-summary" id="mon-summary">
        <span class="mon-badge mon-crit">{counts.alerting ?? 0} alerting</span>
        <span class="mon-badge mon-other">{counts.pending ?? 0} pending</span>
        <span class="mon-badge mon-ok">{counts.ok ?? 0} ok</span>
        <input class="input input-search" id="mon-filter" type="search" placeholder="Filter by name or query" value={filter} onInput={(e) => setFilter((e.currentTarget as HTMLInputElement).value)} />
      </div>
      <div class="panel table-panel">
        {list === null && !error ? (
          <div class="loading-panel">Loading monitors…</div>
        ) : shown.length === 0 ? (
          <Empty title="No monitors yet">
            Create one with <b>New monitor</b>, load YAML files with <code>--monitors-dir</code>, or import Prometheus rules with{' '}
            <code>vigil monitors import</code>.
          </Empty>
        ) : (
          <table class="table" id="mon-list">
            <thead>
              <tr>
                <th>State</th>
                <th>Name</th>
                <th>Kind</th>
                <th>Query</th>
                <th>Last change</th>
                <th>Evaluated</th>
              </tr>
            </thead>
            <tbody>
              {shown.map((m) => (
                <tr key={m.id} class="clickable" data-monitor={m.id} onClick={() => navigate(`/monitors/${encodeURIComponent(m.id)}`)}>
                  <td>
                    <StateBadge state={m.state} severity={m.severity} />
                    {m.notify?.muted_until && Date.parse(m.notify.muted_until) > Date.now() && <span class="mon-badge mon-other">muted</span>}
                  </td>
                  <td class="name">
                    <Link href={`/monitors/${encodeURIComponent(m.id)}`}>{m.name}</Link>
                    {m.error && <div class="error-text small">{m.error}</div>}
                  </td>
                  <td>{KIND_LABEL[m.kind] ?? m.kind}</td>
                  <td class="mono mon-query" title={m.query}>
                    {m.query}
                  </td>
                  <td>{ago(m.last_change)}</td>
                  <td>{ago(m.last_eval)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </div>
    </div>
  );
}
