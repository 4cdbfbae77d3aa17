// Types and calls of the monitors and incidents API (docs/api.md, "Monitors").
import { getJSON, sendJSON } from '../api';

export interface Notify {
  email?: string[];
  webhook?: string[];
  slack?: string[];
  subject?: string;
  body?: string;
  renotify?: string;
  on_resolve?: boolean;
  muted_until?: string;
  maintenance?: { start: string; end: string; repeat?: string }[];
}

export interface Monitor {
  id: string;
  name: string;
  description?: string;
  kind: 'threshold' | 'anomaly' | 'forecast' | 'log' | 'event';
  query: string;
  labels?: Record<string, string>;
  interval?: string;
  enabled?: boolean;
  op?: 'above' | 'below';
  warning?: number;
  critical?: number;
  warning_recovery?: number;
  critical_recovery?: number;
  for?: string;
  resolve_for?: string;
  sensitivity?: 'low' | 'medium' | 'high';
  training?: string;
  horizon?: string;
  window?: string;
  group_by?: string[];
  events?: { reasons?: string[]; types?: string[]; namespaces?: string[]; kinds?: string[]; name?: string; text?: string };
  no_data?: string;
  notify?: Notify;
  source?: string;
  created?: string;
  updated?: string;
}

export interface SeriesState {
  key: string;
  labels: Record<string, string>;
  state: string;
  severity?: string;
  since: string;
  value: number;
  message?: string;
  expected?: number;
  lower?: number;
  upper?: number;
  crossing?: string;
  incident_id?: number;
  last_seen: string;
}

export interface MonitorStatus extends Monitor {
  state: string;
  severity?: string;
  last_change?: string;
  last_eval?: string;
  eval_ms: number;
  error?: string;
  series?: SeriesState[];
}

export interface Incident {
  id: number;
  monitor_id: string;
  monitor_name: string;
  key: string;
  labels: Record<string, string>;
  severity: string;
  started: string;
  ended?: string;
  peak: number;
  last: number;
  message: string;
}

export interface Notification {
  id: number;
  incident_id: number;
  monitor_id: string;
  event: string;
  channel: string;
  target: string;
  status: string;
  attempts: number;
  error?: string;
  created: string;
  next_at: string;
  sent?: string;
}

export interface PreviewSeries {
  labels: Record<string, string>;
  points: [number, number][];
  band?: [number, number, number][];
  forecast?: [number, number][];
  crossing?: string;
  learning?: boolean;
}

export interface Preview {
  series: PreviewSeries[];
  thresholds: number[];
  start: string;
  end: string;
  step: number;
}

export const listMonitors = (signal?: AbortSignal) => getJSON<MonitorStatus[]>('/api/monitors', undefined, signal);
export const getMonitor = (id: string, signal?: AbortSignal) => getJSON<MonitorStatus>(`/api/monitors/${encodeURIComponent(id)}`, undefined, signal);
export const createMonitor = (m: Monitor) => sendJSON<MonitorStatus>('POST', '/api/monitors', m);
export const replaceMonitor = (m: Monitor) => sendJSON<MonitorStatus>('PUT', `/api/monitors/${encodeURIComponent(m.id)}`, m);
export const deleteMonitor = (id: string) => sendJSON<null>('DELETE', `/api/monitors/${encodeURIComponent(id)}`);
export const muteMonitor = (id: string, dur: string) => sendJSON<MonitorStatus>('POST', `/api/monitors/${encodeURIComponent(id)}/mute`, { for: dur });
export const unmuteMonitor = (id: string) => sendJSON<MonitorStatus>('DELETE', `/api/monitors/${encodeURIComponent(id)}/mute`);
export const evaluateMonitor = (id: string) => sendJSON<MonitorStatus>('POST', `/api/monitors/${encodeURIComponent(id)}/evaluate`);
export const previewMonitor = (m: Monitor, range?: string) => sendJSON<Preview>('POST', '/api/monitors/preview', { monitor: m, range });
export const monitorIncidents = (id: string, signal?: AbortSignal) =>
  getJSON<Incident[]>(`/api/monitors/${encodeURIComponent(id)}/incidents`, undefined, signal);
export const monitorNotifications = (id: string, signal?: AbortSignal) =>
  getJSON<Notification[]>(`/api/monitors/${encodeURIComponent(id)}/notifications`, undefined, signal);
export const listIncidents = (params: { open?: string; monitor?: string }, signal?: AbortSignal) =>
  getJSON<Incident[]>('/api/incidents', params, signal);
export const retryNotification = (id: number) => sendJSON<null>('POST', `/api/notifications/${id}/retry`);

export function labelText(l: Record<string, string> | undefined): string {
  if (!l) return '';
  return Object.entries(l)
    .filter(([k]) => k !== '__name__')
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([k, v]) => `${k}=${v}`)
    .join(', ');
}

export function StateBadge(props: { state: string; severity?: string; id?: string }) {
  const { state, severity } = props;
  const cls =
    state === 'alerting' ? (severity === 'warning' ? 'mon-badge mon-warn' : 'mon-badge mon-crit') : state === 'ok' ? 'mon-badge mon-ok' : 'mon-badge mon-other';
  const text = state === 'alerting' && severity ? `${severity}` : state;
  return (
    <span class={cls} id={props.id} data-state={state}>
      {text}
    </span>
  );
}

export function ago(iso?: string): string {
  if (!iso) return '—';
  const t = Date.parse(iso);
  if (!Number.isFinite(t) || t <= 0) return '—';
  const s = Math.round((Date.now() - t) / 1000);
  if (s < 0) return 'in ' + dur(-s);
  return dur(s) + ' ago';
}

function dur(s: number): string {
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m`;
  if (s < 86400) return `${Math.floor(s / 3600)}h ${Math.floor((s % 3600) / 60)}m`;
  return `${Math.floor(s / 86400)}d ${Math.floor((s % 86400) / 3600)}h`;
}

export function when(iso?: string): string {
  if (!iso) return '—';
  const d = new Date(iso);
  if (!Number.isFinite(d.getTime())) return '—';
  const p = (n: number) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}`;
}

/** The definition part of a monitor's status (what PUT and preview accept). */
export function definition(s: MonitorStatus): Monitor {
  const { state: _s, severity: _v, last_change: _c, last_eval: _e, eval_ms: _m, error: _r, series: _x, ...def } = s;
  return def;
}
