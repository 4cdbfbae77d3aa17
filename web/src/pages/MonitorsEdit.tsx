import { useEffect, useRef, useState } from 'preact/hooks';
import { errText } from '../api';
import { ErrorBox, Link, PageHeader } from '../components/ui';
import { navigate } from '../router';
import { createMonitor, definition, getMonitor, previewMonitor, replaceMonitor, type Monitor, type Preview } from './MonitorsApi';
import { MonitorChart } from './MonitorsChart';

const BLANK: Monitor = { id: '', name: '', kind: 'threshold', query: '', op: 'above', interval: '1m', notify: {} };

const list = (s: string) =>
  s
    .split(/[\s,]+/)
    .map((x) => x.trim())
    .filter(Boolean);
const num = (s: string): number | undefined => (s.trim() === '' || !Number.isFinite(Number(s)) ? undefined : Number(s));

/** Create (no id) or edit a monitor, with a live preview of what it would see. */
export function MonitorEditPage(props: { id?: string }) {
  const [m, setM] = useState<Monitor | null>(props.id ? null : { ...BLANK });
  const [error, setError] = useState('');
  const [saving, setSaving] = useState(false);
  const [preview, setPreview] = useState<Preview | null>(null);
  const [previewErr, setPreviewErr] = useState('');
  const seq = useRef(0);

  useEffect(() => {
    if (!props.id) return;
    getMonitor(props.id)
      .then((s) => setM(definition(s)))
      .catch((e) => setError(errText(e)));
  }, [props.id]);

  // Live preview, debounced while typing.
  useEffect(() => {
    if (!m || !m.query.trim() || m.kind === 'log' || m.kind === 'event') {
      setPreview(null);
      return;
    }
    const my = ++seq.current;
    const t = setTimeout(() => {
      previewMonitor({ ...m, name: m.name || 'preview', id: '' })
        .then((p) => {
          if (my !== seq.current) return;
          setPreview(p);
          setPreviewErr('');
        })
        .catch((e) => {
          if (my === seq.current) setPreviewErr(errText(e));
        });
    }, 500);
    return () => clearTimeout(t);
  }, [m?.query, m?.kind, m?.warning, m?.critical, m?.op, m?.sensitivity, m?.training, m?.horizon]);

  if (!m) return <div class="page">{error ? <ErrorBox error={error} /> : <div class="loading-panel">Loading…</div>}</div>;

  const set = (patch: Partial<Monitor>) => setM({ ...m, ...patch });
  const setNotify = (patch: Partial<NonNullable<Monitor['notify']>>) => setM({ ...m, notify: { ...(m.notify ?? {}), ...patch } });
  const str = (e: Event) => (e.currentTarget as HTMLInputElement).value;

  const save = async (e: Event) => {
    e.preventDefault();
    setSaving(true);
    setError('');
    try {
      const res = props.id ? await replaceMonitor(m) : await createMonitor(m);
      navigate(`/monitors/${encodeURIComponent(res?.id ?? m.id)}`);
    } catch (err) {
      setError(errText(err));
    } finally {
      setSaving(false);
    }
  };

  const metric = m.kind !== 'log' && m.kind !== 'event';
  return (
    <div class="page">
      <PageHeader title={props.id ? `Edit ${m.name}` : 'New monitor'} subtitle={<Link href="/monitors">← Monitors</Link>} />
      <ErrorBox error={error} />
      <div class="mon-grid">
        <form class="panel pad mon-form" id="mon-form" onSubmit={save}>
          <div class="field">
            <label for="mon-name">Name</label>
            <input class="input" id="mon-name" required value={m.name} onInput={(e) => set({ name: str(e) })} />
          </div>
          <div class="row">
            <div class="field">
              <label for="mon-kind">Kind</label>
              <select class="input" id="mon-kind" value={m.kind} onChange={(e) => set({ kind: str(e) as Monitor['kind'] })}>
                <option value="threshold">Threshold (PromQL)</option>
                <option value="anomaly">Anomaly (PromQL)</option>
                <option value="forecast">Forecast (PromQL)</option>
                <option value="log">Log count (LogsQL)</option>
                <option value="event">Kubernetes events</option>
              </select>
            </div>
            <div class="field">
              <label for="mon-interval">Every</label>
              <input class="input" id="mon-interval" value={m.interval ?? ''} placeholder="1m" onInput={(e) => set({ interval: str(e) })} />
            </div>
          </div>
          {m.kind === 'event' ? (
            <div class="field">
              <label for="mon-reasons">Event reasons</label>
              <input class="input" id="mon-reasons" placeholder="OOMKilled, BackOff, FailedScheduling" value={(m.events?.reasons ?? []).join(', ')} onInput={(e) => set({ events: { ...(m.events ?? {}), reasons: list(str(e)) } })} />
            </div>
          ) : (
            <div class="field">
              <label for="mon-query">{m.kind === 'log' ? 'LogsQL query' : 'PromQL query'}</label>
              <textarea class="input" id="mon-query" rows={3} required value={m.query} onInput={(e) => set({ query: (e.currentTarget as HTMLTextAreaElement).value })} />
            </div>
          )}
          {m.kind !== 'anomaly' && (
            <div class="row">
              <div class="field">
                <label for="mon-op">Alert when</label>
                <select class="input" id="mon-op" value={m.op ?? 'above'} onChange={(e) => set({ op: str(e) as 'above' | 'below' })}>
                  <option value="above">{m.kind === 'forecast' ? 'will rise above' : 'above'}</option>
                  <option value="below">{m.kind === 'forecast' ? 'will fall below' : 'below'}</option>
                </select>
              </div>
              <div class="field">
                <label for="mon-warning">Warning</label>
                <input class="input" id="mon-warning" inputMode="decimal" value={m.warning ?? ''} onInput={(e) => set({ warning: num(str(e)) })} />
              </div>
              <div class="field">
                <label for="mon-critical">Critical</label>
                <input class="input" id="mon-critical" inputMode="decimal" value={m.critical ?? ''} onInput={(e) => set({ critical: num(str(e)) })} />
              </div>
            </div>
          )}
          {m.kind === 'anomaly' && (
            <div class="row">
              <div class="field">
                <label for="mon-sensitivity">Sensitivity</label>
                <select class="input" id="mon-sensitivity" value={m.sensitivity ?? 'medium'} onChange={(e) => set({ sensitivity: str(e) as 'low' | 'medium' | 'high' })}>
                  <option value="low">low (fewer alerts)</option>
                  <option value="medium">medium</option>
                  <option value="high">high</option>
                </select>
              </div>
              <div class="field">
                <label for="mon-training">Learn from</label>
                <input class="input" id="mon-training" placeholder="14d" value={m.training ?? ''} onInput={(e) => set({ training: str(e) })} />
              </div>
            </div>
          )}
          {m.kind === 'forecast' && (
            <div class="row">
              <div class="field">
                <label for="mon-horizon">Within</label>
                <input class="input" id="mon-horizon" placeholder="7d" value={m.horizon ?? ''} onInput={(e) => set({ horizon: str(e) })} />
              </div>
              <div class="field">
                <label for="mon-training">Learn from</label>
                <input class="input" id="mon-training" placeholder="7d" value={m.training ?? ''} onInput={(e) => set({ training: str(e) })} />
              </div>
            </div>
          )}
          <div class="row">
            <div class="field">
              <label for="mon-for">For</label>
              <input class="input" id="mon-for" placeholder="0s" value={m.for ?? ''} onInput={(e) => set({ for: str(e) })} />
            </div>
            <div class="field">
              <label for="mon-resolve-for">Resolve after</label>
              <input class="input" id="mon-resolve-for" placeholder="0s" value={m.resolve_for ?? ''} onInput={(e) => set({ resolve_for: str(e) })} />
            </div>
            <div class="field">
              <label for="mon-nodata">No data</label>
              <select class="input" id="mon-nodata" value={m.no_data ?? 'ok'} onChange={(e) => set({ no_data: str(e) })}>
                <option value="ok">is OK</option>
                <option value="alert">alerts</option>
                <option value="keep">keeps state</option>
              </select>
            </div>
          </div>
          <fieldset>
            <legend>Notify</legend>
            <div class="field">
              <label for="mon-email">E-mail</label>
              <input class="input" id="mon-email" placeholder="oncall@example.com" value={(m.notify?.email ?? []).join(', ')} onInput={(e) => setNotify({ email: list(str(e)) })} />
            </div>
            <div class="field">
              <label for="mon-webhook">Webhook (Alertmanager format)</label>
              <input class="input" id="mon-webhook" placeholder="https://…" value={(m.notify?.webhook ?? []).join(', ')} onInput={(e) => setNotify({ webhook: list(str(e)) })} />
            </div>
            <div class="field">
              <label for="mon-slack">Slack incoming webhook</label>
              <input class="input" id="mon-slack" placeholder="https://hooks.slack.com/…" value={(m.notify?.slack ?? []).join(', ')} onInput={(e) => setNotify({ slack: list(str(e)) })} />
            </div>
            <div class="row">
              <div class="field">
                <label for="mon-renotify">Repeat every</label>
                <input class="input" id="mon-renotify" placeholder="never" value={m.notify?.renotify ?? ''} onInput={(e) => setNotify({ renotify: str(e) })} />
              </div>
              <div class="field">
                <label for="mon-subject">Subject template</label>
                <input class="input" id="mon-subject" placeholder="default" value={m.notify?.subject ?? ''} onInput={(e) => setNotify({ subject: str(e) })} />
              </div>
            </div>
          </fieldset>
          <button class="btn btn-primary" type="submit" id="mon-save" disabled={saving}>
            {saving ? 'Saving…' : props.id ? 'Save' : 'Create monitor'}
          </button>
        </form>
        <div class="panel">
          <div class="panel-head">Preview {m.kind === 'anomaly' ? '— normal band learned from history' : m.kind === 'forecast' ? '— projection' : ''}</div>
          {!metric ? (
            <div class="pad muted">Previews cover PromQL monitors; test log queries on the Logs page.</div>
          ) : previewErr ? (
            <div class="pad error-text" id="mon-preview-error">{previewErr}</div>
          ) : m.query.trim() ? (
            <MonitorChart preview={preview} id="mon-preview" />
          ) : (
            <div class="pad muted">Type a query to see its series here.</div>
          )}
        </div>
      </div>
    </div>
  );
}
