import { useEffect, useState } from 'preact/hooks';
import { errText, getLogRules, getLogStorage, isAbort, logsFacet, logsQueryRaw, putLogRules, type FieldValue, type LogRecord, type LogStorage } from '../api';
import { LogVolume } from '../components/LogVolume';
import { ErrorBox, Link, PageHeader, RangePicker } from '../components/ui';
import { fmtBytes, fmtCount } from '../format';
import { navigate } from '../router';
import { nowSec, rangeByKey } from '../time';
import '../logs.css';

/** Ingest volume: lines and bytes by namespace and container (the biggest talkers), and disk use. */
export function LogVolumePage(props: { query: URLSearchParams }) {
  const rangeKey = rangeByKey(props.query.get('range'), '24h').key;
  const ns = props.query.get('namespace') ?? '';
  const [byNs, setByNs] = useState<FieldValue[] | null>(null);
  const [talkers, setTalkers] = useState<LogRecord[] | null>(null);
  const [disk, setDisk] = useState<LogStorage | null>(null);
  const [error, setError] = useState('');
  const end = nowSec();
  const start = end - rangeByKey(rangeKey).seconds;
  const base = ns ? `namespace:=${JSON.stringify(ns)}` : '*';

  useEffect(() => {
    const ac = new AbortController();
    setError('');
    logsFacet('namespace', '*', start, end, 30, ac.signal)
      .then(setByNs)
      .catch((e) => !isAbort(e) && setError(errText(e)));
    logsQueryRaw(`${base} | stats by (namespace, pod, container) count() lines, sum_len(_msg) bytes | sort by (lines desc) | limit 25`, start, end, 0, ac.signal)
      .then(setTalkers)
      .catch((e) => !isAbort(e) && setError(errText(e)));
    getLogStorage(ac.signal)
      .then(setDisk)
      .catch(() => setDisk(null));
    return () => ac.abort();
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [rangeKey, ns]);

  const total = (byNs ?? []).reduce((a, v) => a + (v.hits ?? 0), 0);
  return (
    <div class="page page-logs page-volume">
      <PageHeader title="Log volume" subtitle={disk ? `${fmtBytes(disk.bytes)} on disk in ${fmtCount(disk.files)} files` : undefined}>
        <RangePicker value={rangeKey} onChange={(k) => navigate(`/logs/volume?range=${k}${ns ? `&namespace=${encodeURIComponent(ns)}` : ''}`)} id="volume-range" />
      </PageHeader>
      <ErrorBox error={error} />
      <LogVolume query={base} start={start} end={end} height={110} />
      <div class="detail-two">
        <div class="panel table-panel">
          <table class="table" id="volume-namespaces">
            <thead>
              <tr>
                <th>namespace</th>
                <th>lines</th>
                <th>share</th>
              </tr>
            </thead>
            <tbody>
              {byNs?.map((v) => (
                <tr key={v.value} data-namespace={v.value} class={v.value === ns ? 'active' : ''}>
                  <td>
                    <Link href={`/logs/volume?range=${rangeKey}&namespace=${encodeURIComponent(v.value)}`}>{v.value}</Link>
                  </td>
                  <td>{fmtCount(v.hits ?? 0)}</td>
                  <td>{total ? (((v.hits ?? 0) * 100) / total).toFixed(1) : '0'}%</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
        <div class="panel table-panel">
          <table class="table" id="volume-talkers">
            <thead>
              <tr>
                <th>container</th>
                <th>lines</th>
                <th>bytes</th>
              </tr>
            </thead>
            <tbody>
              {talkers?.map((r, i) => (
                <tr key={i} data-container={`${r.namespace}/${r.pod}/${r.container}`}>
                  <td class="mono small">
                    <Link href={`/logs?query=${encodeURIComponent(`namespace:=${JSON.stringify(r.namespace ?? '')} pod:=${JSON.stringify(r.pod ?? '')} container:=${JSON.stringify(r.container ?? '')}`)}&range=${rangeKey === '7d' ? '24h' : rangeKey}`}>
                      {[r.namespace, r.pod, r.container].filter(Boolean).join(' / ') || '(host logs)'}
                    </Link>
                  </td>
                  <td>{fmtCount(Number(r.lines) || 0)}</td>
                  <td>{fmtBytes(Number(r.bytes) || 0)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      </div>
      {disk?.retention && <RetentionPanel storage={disk} onChanged={() => getLogStorage().then(setDisk).catch(() => undefined)} />}
    </div>
  );
}

/** Per-namespace retention: the store's default and shorter rules by namespace pattern, editable. */
function RetentionPanel(props: { storage: LogStorage; onChanged: () => void }) {
  const ret = props.storage.retention!;
  const [ns, setNs] = useState('');
  const [keep, setKeep] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState('');
  const save = async (change: (r: Record<string, string>) => void) => {
    setBusy(true);
    setError('');
    try {
      const rules = await getLogRules();
      const retention = { ...(rules.retention ?? {}) };
      change(retention);
      await putLogRules({ ...rules, retention });
      setNs('');
      setKeep('');
      props.onChanged();
    } catch (e) {
      setError(errText(e));
    } finally {
      setBusy(false);
    }
  };
  return (
    <div class="panel table-panel" id="volume-retention">
      <h3>Retention</h3>
      <ErrorBox error={error || ret.lastError || ''} />
      <table class="table">
        <thead>
          <tr>
            <th>namespaces</th>
            <th>logs kept</th>
            <th />
          </tr>
        </thead>
        <tbody>
          {ret.rules.map((r) => (
            <tr key={r.namespace} data-namespace={r.namespace}>
              <td class="mono">{r.namespace}</td>
              <td>
                {r.retention}
                {r.capped && <span class="muted small"> (longer than the default: the default applies)</span>}
              </td>
              <td>
                <button class="btn btn-small" disabled={busy} onClick={() => save((m) => delete m[r.namespace])}>
                  remove
                </button>
              </td>
            </tr>
          ))}
          <tr class="muted">
            <td>every other namespace</td>
            <td>{ret.default}</td>
            <td />
          </tr>
        </tbody>
      </table>
      <form
        class="retention-form"
        onSubmit={(e) => {
          e.preventDefault();
          if (ns.trim() && keep.trim()) void save((m) => (m[ns.trim()] = keep.trim()));
        }}
      >
        <input class="input" placeholder="namespace or pattern (dev-*)" value={ns} onInput={(e) => setNs((e.target as HTMLInputElement).value)} id="retention-namespace" />
        <input class="input" placeholder="keep for (2d, 36h)" value={keep} onInput={(e) => setKeep((e.target as HTMLInputElement).value)} id="retention-keep" />
        <button class="btn btn-primary" type="submit" disabled={busy || !ns.trim() || !keep.trim()}>
          Add rule
        </button>
      </form>
      <p class="muted small">
        {ret.lastRun ? `Last checked ${new Date(ret.lastRun).toLocaleString()}` : 'Not checked yet'}
        {ret.pending > 0 ? ` · ${ret.pending} deletion(s) running` : ''}. Older logs of matching namespaces are deleted every hour.
      </p>
    </div>
  );
}
