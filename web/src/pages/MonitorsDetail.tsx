import { useCallback, useEffect, useState } from 'preact/hooks';
import { errText } from '../api';
import { ErrorBox, Link, PageHeader } from '../components/ui';
import { fmtNum } from '../format';
import { navigate } from '../router';
import {
  ago,
  definition,
  deleteMonitor,
  evaluateMonitor,
  getMonitor,
  labelText,
  monitorIncidents,
  monitorNotifications,
  muteMonitor,
  previewMonitor,
  retryNotification,
  StateBadge,
  unmuteMonitor,
  when,
  type Incident,
  type MonitorStatus,
  type Notification,
  type Preview,
} from './MonitorsApi';
import { MonitorChart } from './MonitorsChart';

export function MonitorDetailPage(props: { id: string }) {
  const [m, setM] = useState<MonitorStatus | null>(null);
  const [incidents, setIncidents] = useState<Incident[] | null>(null);
  const [notes, setNotes] = useState<Notification[] | null>(null);
  const [preview, setPreview] = useState<Preview | null>(null);
  const [error, setError] = useState('');

  const load = useCallback(() => {
    Promise.all([getMonitor(props.id), monitorIncidents(props.id), monitorNotifications(props.id)])
      .then(([mm, ins, ns]) => {
        setM(mm);
        setIncidents(ins);
        setNotes(ns);
        setError('');
        if (mm.kind !== 'log' && mm.kind !== 'event') {
          previewMonitor(definition(mm), mm.kind === 'threshold' ? '6h' : '3d')
            .then(setPreview)
            .catch((e) => {
              setPreview({ series: [], thresholds: [], start: '', end: '', step: 0 });
              setError(errText(e));
            });
        }
      })
      .catch((e) => setError(errText(e)));
  }, [props.id]);
  useEffect(() => {
    load();
    const t = setInterval(load, 15000);
    return () => clearInterval(t);
  }, [load]);

  const act = (f: () => Promise<unknown>) => () =>
    f()
      .then(load)
      .catch((e) => setError(errText(e)));

  if (!m) return <div class="page">{error ? <ErrorBox error={error} /> : <div class="loading-panel">Loading…</div>}</div>;
  const muted = m.notify?.muted_until && Date.parse(m.notify.muted_until) > Date.now();
  return (
    <div class="page">
      <PageHeader
        title={
          <span>
            {m.name} <StateBadge state={m.state} severity={m.severity} id="mon-state" />
          </span>
        }
        subtitle={<Link href="/monitors">← Monitors</Link>}
      >
        <div class="mon-actions">
          <button class="btn" id="mon-evaluate" onClick={act(() => evaluateMonitor(m.id))}>
            Evaluate now
          </button>
          {muted ? (
            <button class="btn" id="mon-unmute" onClick={act(() => unmuteMonitor(m.id))}>
              Unmute
            </button>
          ) : (
            <button class="btn" id="mon-mute" onClick={act(() => muteMonitor(m.id, '1h'))}>
              Mute 1h
            </button>
          )}
          <Link href={`/monitors/${encodeURIComponent(m.id)}/edit`} class="btn" id="mon-edit">
            Edit
          </Link>
          <button
            class="btn btn-danger"
            id="mon-delete"
            onClick={() => {
              if (confirm(`Delete monitor ${m.name}? Its incidents stay in the history.`)) deleteMonitor(m.id).then(() => navigate('/monitors'), (e) => setError(errText(e)));
            }}
          >
            Delete
          </button>
        </div>
      </PageHeader>
      <ErrorBox error={error || m.error || ''} />
      <div class="mon-facts" id="mon-facts">
        <div><span>Kind</span>{m.kind}</div>
        <div><span>Query</span><code>{m.query}</code></div>
        {m.critical !== undefined && <div><span>Critical</span>{m.op} {fmtNum(m.critical)}</div>}
        {m.warning !== undefined && <div><span>Warning</span>{m.op} {fmtNum(m.warning)}</div>}
        <div><span>Every</span>{m.interval}</div>
        {m.for && <div><span>For</span>{m.for}</div>}
        <div><span>Notifies</span>{[...(m.notify?.email ?? []), ...(m.notify?.webhook ?? []).map(() => 'webhook'), ...(m.notify?.slack ?? []).map(() => 'slack')].join(', ') || 'nobody'}</div>
        {muted && <div><span>Muted until</span>{when(m.notify?.muted_until)}</div>}
        <div><span>Evaluated</span>{ago(m.last_eval)} ({m.eval_ms.toFixed(1)} ms)</div>
        {m.source && <div><span>From</span>{m.source}</div>}
      </div>
      {m.kind !== 'log' && m.kind !== 'event' && (
        <div class="panel">
          <div class="panel-head">{m.kind === 'anomaly' ? 'Series and normal band' : m.kind === 'forecast' ? 'Series and projection' : 'Series'}; incidents shaded</div>
          <MonitorChart preview={preview} incidents={incidents ?? []} id="mon-detail-chart" />
        </div>
      )}
      <div class="panel table-panel">
        <div class="panel-head">Series ({m.series?.length ?? 0})</div>
        <table class="table" id="mon-series">
          <thead>
            <tr>
              <th>State</th>
              <th>Labels</th>
              <th>Value</th>
              <th>Explanation</th>
              <th>Since</th>
            </tr>
          </thead>
          <tbody>
            {(m.series ?? []).map((s) => (
              <tr key={s.key} data-state={s.state}>
                <td>
                  <StateBadge state={s.state} severity={s.severity} />
                </td>
                <td class="mono small">{labelText(s.labels) || '—'}</td>
                <td>{fmtNum(s.value)}</td>
                <td class="small mon-msg">{s.message}</td>
                <td>{ago(s.since)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      <div class="panel table-panel">
        <div class="panel-head">Incidents</div>
        <IncidentTable incidents={incidents ?? []} id="mon-incidents" />
      </div>
      <div class="panel table-panel">
        <div class="panel-head">Notification log</div>
        <table class="table" id="mon-notifications">
          <thead>
            <tr>
              <th>Time</th>
              <th>Event</th>
              <th>Channel</th>
              <th>To</th>
              <th>Status</th>
              <th>Attempts</th>
              <th>Error</th>
              <th />
            </tr>
          </thead>
          <tbody>
            {(notes ?? []).map((n) => (
              <tr key={n.id} class={`mon-status-${n.status}`} data-status={n.status}>
                <td>{when(n.created)}</td>
                <td>{n.event}</td>
                <td>{n.channel}</td>
                <td class="mono small">{n.target}</td>
                <td>
                  {n.status}
                  {n.status === 'pending' && n.attempts > 0 && <span class="muted small"> (retry {ago(n.next_at)})</span>}
                </td>
                <td>{n.attempts}</td>
                <td class="small error-text">{n.error}</td>
                <td>
                  {n.status === 'failed' && (
                    <button class="btn btn-small" data-retry={n.id} onClick={act(() => retryNotification(n.id))}>
                      Retry
                    </button>
                  )}
                </td>
              </tr>
            ))}
            {notes && notes.length === 0 && (
              <tr>
                <td colSpan={8} class="muted">
                  No notifications yet.
                </td>
              </tr>
            )}
          </tbody>
        </table>
      </div>
    </div>
  );
}

export function IncidentTable(props: { incidents: Incident[]; id: string; showMonitor?: boolean }) {
  return (
    <table class="table" id={props.id}>
      <thead>
        <tr>
          <th>Status</th>
          {props.showMonitor && <th>Monitor</th>}
          <th>Labels</th>
          <th>Severity</th>
          <th>Started</th>
          <th>Ended</th>
          <th>Peak</th>
          <th>Message</th>
        </tr>
      </thead>
      <tbody>
        {props.incidents.map((i) => (
          <tr key={i.id} data-incident={i.id} data-open={i.ended ? 'false' : 'true'}>
            <td>{i.ended ? <span class="mon-badge mon-ok">resolved</span> : <span class="mon-badge mon-crit">open</span>}</td>
            {props.showMonitor && (
              <td>
                <Link href={`/monitors/${encodeURIComponent(i.monitor_id)}`}>{i.monitor_name}</Link>
              </td>
            )}
            <td class="mono small">{labelText(i.labels) || '—'}</td>
            <td>{i.severity}</td>
            <td>{when(i.started)}</td>
            <td>{i.ended ? when(i.ended) : '—'}</td>
            <td>{fmtNum(i.peak)}</td>
            <td class="small mon-msg">{i.message}</td>
          </tr>
        ))}
        {props.incidents.length === 0 && (
          <tr>
            <td colSpan={8} class="muted">
              No incidents.
            </td>
          </tr>
        )}
      </tbody>
    </table>
  );
}
