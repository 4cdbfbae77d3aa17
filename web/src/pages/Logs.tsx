import { useEffect, useRef, useState } from 'preact/hooks';
import { errText, isAbort, logsFieldValues, logsQuery, type FieldValue, type LogRecord } from '../api';
import { LogVolume } from '../components/LogVolume';
import { Empty, ErrorBox, PageHeader, RangePicker } from '../components/ui';
import { fmtCount, fmtTimeMs } from '../format';
import { getExactFilter, levelClass, removeExactFilter, setExactFilter } from '../logsql';
import { navigate } from '../router';
import { nowSec, rangeByKey } from '../time';

const LIMIT = 200;
const FIELDS = ['namespace', 'pod', 'container'] as const;
type Field = (typeof FIELDS)[number];

function logsURL(query: string, range: string): string {
  const q = new URLSearchParams();
  if (query && query !== '*') q.set('query', query);
  if (range !== '1h') q.set('range', range);
  const s = q.toString();
  return `/logs${s ? `?${s}` : ''}`;
}

interface Window {
  start: number;
  end: number;
  /** Bumped by each run, so running the same query again refetches. */
  run: number;
}

export function LogsPage(props: { query: URLSearchParams }) {
  const query = props.query.get('query')?.trim() || '*';
  const rangeKey = rangeByKey(props.query.get('range')).key;
  const [text, setText] = useState(query);
  const [win, setWin] = useState<Window>(() => {
    const end = nowSec();
    return { start: end - rangeByKey(rangeKey).seconds, end, run: 0 };
  });
  const [rows, setRows] = useState<LogRecord[] | null>(null);
  const [loading, setLoading] = useState(false);
  const [error, setError] = useState('');
  const [values, setValues] = useState<Record<Field, FieldValue[]>>({ namespace: [], pod: [], container: [] });
  const [open, setOpen] = useState<Set<number>>(new Set());
  const input = useRef<HTMLInputElement>(null);

  // The URL is the source of truth: follow it (back/forward, links).
  useEffect(() => setText(query), [query]);
  useEffect(() => {
    const seconds = rangeByKey(rangeKey).seconds;
    if (win.end - win.start !== seconds) {
      const end = nowSec();
      setWin((w) => ({ start: end - seconds, end, run: w.run + 1 }));
    }
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [rangeKey]);

  const run = (q: string, range: string) => {
    const end = nowSec();
    setWin((w) => ({ start: end - rangeByKey(range).seconds, end, run: w.run + 1 }));
    navigate(logsURL(q.trim() || '*', range));
  };

  useEffect(() => {
    const ac = new AbortController();
    setLoading(true);
    setError('');
    logsQuery(query, win.start, win.end, LIMIT, ac.signal)
      .then((r) => {
        setRows(r);
        setOpen(new Set());
      })
      .catch((e) => {
        if (isAbort(e)) return;
        setRows(null);
        setError(errText(e));
      })
      .finally(() => !ac.signal.aborted && setLoading(false));
    return () => ac.abort();
  }, [query, win]);

  useEffect(() => {
    const ac = new AbortController();
    for (const f of FIELDS) {
      logsFieldValues(f, removeExactFilter(query, f), win.start, win.end, ac.signal)
        .then((v) => setValues((old) => ({ ...old, [f]: v })))
        .catch((e) => {
          if (!isAbort(e)) setValues((old) => ({ ...old, [f]: [] }));
        });
    }
    return () => ac.abort();
  }, [query, win]);

  const pick = (field: Field, value: string) => {
    let q = setExactFilter(query, field, value);
    // A narrower namespace makes the chosen pod/container meaningless.
    if (field === 'namespace') q = setExactFilter(setExactFilter(q, 'pod', ''), 'container', '');
    if (field === 'pod') q = setExactFilter(q, 'container', '');
    setText(q);
    run(q, rangeKey);
  };

  const toggle = (i: number) =>
    setOpen((s) => {
      const n = new Set(s);
      if (n.has(i)) n.delete(i);
      else n.add(i);
      return n;
    });

  return (
    <div class="page page-logs">
      <PageHeader title="Logs">
        <RangePicker value={rangeKey} onChange={(k) => run(input.current?.value ?? text, k)} id="logs-range" />
      </PageHeader>
      <form
        class="query-bar"
        onSubmit={(e) => {
          e.preventDefault();
          const q = input.current?.value ?? text;
          setText(q);
          run(q, rangeKey);
        }}
      >
        <input
          ref={input}
          id="logs-query"
          class="input mono"
          spellcheck={false}
          autocomplete="off"
          placeholder='LogsQL, e.g. error namespace:="default"'
          value={text}
          onInput={(e) => setText((e.currentTarget as HTMLInputElement).value)}
        />
        <button id="logs-run" type="submit" class="btn btn-primary">
          Run
        </button>
      </form>
      <div class="selectors">
        {FIELDS.map((f) => {
          const current = getExactFilter(query, f);
          const opts = values[f];
          const has = opts.some((o) => o.value === current);
          return (
            <label class="selector" key={f}>
              <span>{f}</span>
              <select
                id={`logs-${f}`}
                value={current}
                onChange={(e) => pick(f, (e.currentTarget as HTMLSelectElement).value)}
              >
                <option value="">all</option>
                {current && !has && <option value={current}>{current}</option>}
                {opts.map((o) => (
                  <option value={o.value} key={o.value}>
                    {o.value}
                    {o.hits !== undefined ? ` (${fmtCount(o.hits)})` : ''}
                  </option>
                ))}
              </select>
            </label>
          );
        })}
        <div class="result-info" id="logs-info">
          {loading && <span class="spinner" aria-label="loading" />}
          {rows && !loading && (
            <span>
              {rows.length >= LIMIT ? `Newest ${LIMIT} lines` : `${fmtCount(rows.length)} line${rows.length === 1 ? '' : 's'}`}
              {' · '}
              {fmtTimeMs(new Date(win.start * 1000)).slice(0, 16)} – {fmtTimeMs(new Date(win.end * 1000)).slice(11, 16)}
            </span>
          )}
        </div>
      </div>
      <ErrorBox error={error} />
      <LogVolume query={query} start={win.start} end={win.end} />
      {rows && rows.length === 0 && !loading && (
        <Empty title="No log lines">
          Nothing matches <code>{query}</code> in the last {rangeByKey(rangeKey).label}.
        </Empty>
      )}
      {rows && rows.length > 0 && (
        <div class="panel logs-panel">
          <div class="logs" id="logs-results" role="table">
            {rows.map((r, i) => (
              <LogRow key={i} r={r} open={open.has(i)} onToggle={() => toggle(i)} />
            ))}
          </div>
        </div>
      )}
    </div>
  );
}

function LogRow(props: { r: LogRecord; open: boolean; onToggle: () => void }) {
  const { r } = props;
  const t = r._time ? new Date(r._time) : null;
  const lvl = levelClass(r.level);
  const src = [r.namespace, r.pod, r.container].filter(Boolean).join(' / ');
  return (
    <div class={`log-row${props.open ? ' open' : ''}${r.stream === 'stderr' ? ' stderr' : ''}`} role="row">
      <div class="log-line" onClick={props.onToggle}>
        <span class="log-time mono" title={r._time}>
          {t && !Number.isNaN(t.getTime()) ? fmtTimeMs(t) : (r._time ?? '')}
        </span>
        <span class="log-src" title={src}>
          {src || <span class="muted">{r.node ?? '—'}</span>}
        </span>
        <span class="log-level">{r.level ? <span class={`lvl lvl-${lvl}`}>{r.level}</span> : null}</span>
        <span class="log-msg mono">{r._msg ?? ''}</span>
      </div>
      {props.open && (
        <table class="log-fields">
          <tbody>
            {Object.keys(r)
              .sort()
              .map((k) => (
                <tr key={k}>
                  <th>{k}</th>
                  <td class="mono">{String(r[k] ?? '')}</td>
                </tr>
              ))}
          </tbody>
        </table>
      )}
    </div>
  );
}
