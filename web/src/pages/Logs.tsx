import { useEffect, useMemo, useRef, useState } from 'preact/hooks';
import {
  deleteSavedView,
  errText,
  isAbort,
  listSavedViews,
  logContext,
  logsFacet,
  logsFieldNames,
  logsQuery,
  logsQueryRaw,
  saveView,
  type FieldValue,
  type LogRecord,
  type SavedView,
} from '../api';
import { LogHistogram } from '../components/LogHistogram';
import { Empty, ErrorBox, Link, PageHeader, RangePicker } from '../components/ui';
import { fmtCount, fmtTimeMs } from '../format';
import { getExactFilter, levelClass, setExactFilter } from '../logsql';
import { navigate } from '../router';
import { nowSec, rangeByKey } from '../time';
import '../logs.css';

const LIMIT = 200;
const EXPORT_LIMIT = 10000;

/** The facets always shown, in order. */
export const FACETS = ['level', 'namespace', 'workload', 'pod', 'container', 'node', 'zone', 'stream'] as const;
/** Fields that are not worth a facet (unique per line, or internal). */
const HIDDEN = new Set(['_msg', '_time', '_stream', '_stream_id', 'pod_uid', 'file', 'log.file.path', 'restart']);

export interface LogsWindow {
  start: number;
  end: number;
}

/** The explorer's URL: query, and a range key or an absolute from/to (after a zoom). */
export function logsURL(query: string, range: string, win?: LogsWindow): string {
  const q = new URLSearchParams();
  if (query && query !== '*') q.set('query', query);
  if (win) {
    q.set('from', String(win.start));
    q.set('to', String(win.end));
  } else if (range !== '1h') q.set('range', range);
  const s = q.toString();
  return `/logs${s ? `?${s}` : ''}`;
}

/** Words and phrases of a query that should be highlighted in results. */
export function searchTerms(q: string): string[] {
  const out: string[] = [];
  const re = /(-?)("(?:[^"\\]|\\.)*"|[^\s()|]+)/g;
  let m: RegExpExecArray | null;
  const head = q.split('|')[0];
  while ((m = re.exec(head))) {
    if (m[1]) continue; // negated
    let t = m[2];
    if (/^(and|or|not|\*)$/i.test(t) || t.includes(':')) continue;
    if (t.startsWith('"')) {
      try {
        t = JSON.parse(t) as string;
      } catch {
        continue;
      }
    }
    t = t.replace(/^\*|\*$/g, '');
    if (t.length >= 2) out.push(t);
  }
  return out;
}

export function Highlight(props: { text: string; terms: string[] }) {
  const { text, terms } = props;
  if (!terms.length || !text) return <>{text}</>;
  const re = new RegExp(terms.map((t) => t.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')).join('|'), 'g');
  const parts: preact.ComponentChildren[] = [];
  let last = 0;
  let m: RegExpExecArray | null;
  let n = 0;
  while ((m = re.exec(text)) && n < 200) {
    if (m[0] === '') break;
    parts.push(text.slice(last, m.index), <mark key={n++}>{m[0]}</mark>);
    last = m.index + m[0].length;
  }
  parts.push(text.slice(last));
  return <>{parts}</>;
}

function download(name: string, type: string, data: string) {
  const url = URL.createObjectURL(new Blob([data], { type }));
  const a = document.createElement('a');
  a.href = url;
  a.download = name;
  document.body.appendChild(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 1000);
}

export function toCSV(rows: LogRecord[]): string {
  const cols = new Set<string>(['_time', 'namespace', 'pod', 'container', 'level', '_msg']);
  for (const r of rows) for (const k of Object.keys(r)) cols.add(k);
  const list = [...cols];
  const esc = (v: string | undefined) => {
    const s = v ?? '';
    return /[",\n\r]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
  };
  return [list.join(','), ...rows.map((r) => list.map((c) => esc(r[c])).join(','))].join('\n') + '\n';
}

export function LogsPage(props: { query: URLSearchParams }) {
  const query = props.query.get('query')?.trim() || '*';
  const rangeKey = rangeByKey(props.query.get('range')).key;
  const fromArg = Number(props.query.get('from'));
  const toArg = Number(props.query.get('to'));
  const zoomed = fromArg > 0 && toArg > fromArg;
  const [text, setText] = useState(query);
  const [run, setRun] = useState(0);
  const win = useMemo<LogsWindow>(() => {
    if (zoomed) return { start: fromArg, end: toArg };
    const end = nowSec();
    return { start: end - rangeByKey(rangeKey).seconds, end };
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [rangeKey, fromArg, toArg, run]);
  const [rows, setRows] = useState<LogRecord[] | null>(null);
  const [loading, setLoading] = useState(false);
  const [error, setError] = useState('');
  const [open, setOpen] = useState<number | null>(null);
  const [views, setViews] = useState<SavedView[]>([]);
  const terms = useMemo(() => searchTerms(query), [query]);

  useEffect(() => setText(query), [query]);

  const go = (q: string, range = rangeKey, w?: LogsWindow) => {
    setRun((n) => n + 1);
    navigate(logsURL(q.trim() || '*', range, w));
  };

  useEffect(() => {
    const ac = new AbortController();
    setLoading(true);
    setError('');
    logsQuery(query, win.start, win.end, LIMIT, ac.signal)
      .then((r) => {
        setRows(r);
        setOpen(null);
      })
      .catch((e) => {
        if (isAbort(e)) return;
        setRows(null);
        setError(errText(e));
      })
      .finally(() => !ac.signal.aborted && setLoading(false));
    return () => ac.abort();
  }, [query, win]);

  const loadViews = () =>
    listSavedViews()
      .then((v) => setViews(v ?? []))
      .catch(() => setViews([]));
  useEffect(() => {
    loadViews();
  }, []);

  const toggleFilter = (field: string, value: string) => {
    const cur = getExactFilter(query, field);
    const q = setExactFilter(query, field, cur === value ? '' : value);
    setText(q);
    go(q, rangeKey, zoomed ? win : undefined);
  };

  const exportRows = async (kind: 'json' | 'csv') => {
    try {
      const all = await logsQueryRaw(query, win.start, win.end, EXPORT_LIMIT);
      const stamp = new Date().toISOString().replace(/[:.]/g, '-').slice(0, 19);
      if (kind === 'json') download(`logs-${stamp}.json`, 'application/json', JSON.stringify(all, null, 1));
      else download(`logs-${stamp}.csv`, 'text/csv', toCSV(all));
    } catch (e) {
      setError(errText(e));
    }
  };

  const onSave = async () => {
    const name = window.prompt('Name of this view', '');
    if (!name) return;
    try {
      await saveView({ name, query, range: zoomed ? '' : rangeKey });
      loadViews();
    } catch (e) {
      setError(errText(e));
    }
  };

  return (
    <div class="page page-logs">
      <PageHeader title="Logs">
        <Link href={`/logs/tail${query !== '*' ? `?query=${encodeURIComponent(query)}` : ''}`} class="btn" id="logs-live-tail">
          Live tail
        </Link>
        <Link href={`/logs/patterns${query !== '*' ? `?query=${encodeURIComponent(query)}` : ''}`} class="btn" id="logs-patterns-link">
          Patterns
        </Link>
        <Link href="/logs/audit" class="btn" id="logs-audit-link">
          Audit
        </Link>
        <Link href="/logs/volume" class="btn" id="logs-volume-link">
          Volume
        </Link>
        <RangePicker value={zoomed ? '' : rangeKey} onChange={(k) => go(text, k)} id="logs-range" />
      </PageHeader>
      <QueryBox
        value={text}
        onChange={setText}
        onRun={(q) => go(q, rangeKey, zoomed ? win : undefined)}
        start={win.start}
        end={win.end}
      />
      <div class="logs-toolbar">
        <label class="selector">
          <span>Saved views</span>
          <select
            id="logs-views"
            value=""
            onChange={(e) => {
              const v = views.find((x) => String(x.id) === (e.currentTarget as HTMLSelectElement).value);
              if (v) go(v.query, v.range || rangeKey);
            }}
          >
            <option value="">{views.length ? 'open a view…' : 'none saved'}</option>
            {views.map((v) => (
              <option value={String(v.id)} key={v.id}>
                {v.name}
              </option>
            ))}
          </select>
        </label>
        <button type="button" class="btn btn-small" id="logs-save-view" onClick={onSave}>
          Save view
        </button>
        {views.length > 0 && (
          <details class="views-manage">
            <summary class="btn btn-small">Manage</summary>
            <ul>
              {views.map((v) => (
                <li key={v.id}>
                  <code>{v.name}</code>{' '}
                  <button type="button" class="btn btn-small" onClick={() => deleteSavedView(v.id).then(loadViews)}>
                    delete
                  </button>
                </li>
              ))}
            </ul>
          </details>
        )}
        <span class="spacer" />
        <button type="button" class="btn btn-small" id="logs-export-json" onClick={() => exportRows('json')}>
          Export JSON
        </button>
        <button type="button" class="btn btn-small" id="logs-export-csv" onClick={() => exportRows('csv')}>
          Export CSV
        </button>
        <div class="result-info" id="logs-info">
          {loading && <span class="spinner" aria-label="loading" />}
          {rows && !loading && (
            <span>
              {rows.length >= LIMIT ? `Newest ${LIMIT} lines` : `${fmtCount(rows.length)} line${rows.length === 1 ? '' : 's'}`}
              {' · '}
              {fmtTimeMs(new Date(win.start * 1000)).slice(0, 16)} – {fmtTimeMs(new Date(win.end * 1000)).slice(11, 16)}
              {zoomed && (
                <>
                  {' '}
                  <a href="#" id="logs-unzoom" onClick={(e) => (e.preventDefault(), go(query, rangeKey))}>
                    reset zoom
                  </a>
                </>
              )}
            </span>
          )}
        </div>
      </div>
      <ErrorBox error={error} />
      <LogHistogram query={query} start={win.start} end={win.end} onZoom={(s, e) => go(query, rangeKey, { start: s, end: e })} />
      <div class="logs-body">
        <Facets query={query} win={win} onPick={toggleFilter} />
        <div class="logs-results-col">
          {rows && rows.length === 0 && !loading && (
            <Empty title="No log lines">
              Nothing matches <code>{query}</code> in this time range.
            </Empty>
          )}
          {rows && rows.length > 0 && (
            <div class="panel logs-panel">
              <div class="logs" id="logs-results" role="table">
                {rows.map((r, i) => (
                  <LogRow key={i} r={r} terms={terms} open={open === i} onToggle={() => setOpen(open === i ? null : i)} onFilter={toggleFilter} />
                ))}
              </div>
            </div>
          )}
        </div>
      </div>
    </div>
  );
}

/** The LogsQL box with completion of field names (and of values after `field:`). */
function QueryBox(props: { value: string; onChange: (v: string) => void; onRun: (q: string) => void; start: number; end: number }) {
  const input = useRef<HTMLInputElement>(null);
  const [names, setNames] = useState<FieldValue[]>([]);
  const [sugg, setSugg] = useState<{ label: string; insert: string; hits?: number }[]>([]);
  const [sel, setSel] = useState(0);
  const token = useRef<{ from: number; to: number }>({ from: 0, to: 0 });

  useEffect(() => {
    const ac = new AbortController();
    logsFieldNames('*', props.start, props.end, ac.signal)
      .then(setNames)
      .catch(() => {});
    return () => ac.abort();
  }, [props.start, props.end]);

  const suggest = (v: string, caret: number) => {
    let from = caret;
    while (from > 0 && !/[\s()]/.test(v[from - 1])) from--;
    const word = v.slice(from, caret);
    token.current = { from, to: caret };
    const m = /^(-?)([\w.\-]+):=?"?([^"]*)$/.exec(word);
    if (m) {
      const field = m[2];
      const prefix = m[3];
      logsFacet(field, '*', props.start, props.end, 50)
        .then((vals) =>
          setSugg(
            vals
              .filter((x) => x.value.toLowerCase().startsWith(prefix.toLowerCase()))
              .slice(0, 12)
              .map((x) => ({ label: x.value, hits: x.hits, insert: `${m[1]}${field}:=${JSON.stringify(x.value)} ` })),
          ),
        )
        .catch(() => setSugg([]));
      setSel(0);
      return;
    }
    if (word.length < 1 || word.startsWith('"')) {
      setSugg([]);
      return;
    }
    const neg = word.startsWith('-') ? '-' : '';
    const w = word.replace(/^-/, '').toLowerCase();
    setSugg(
      names
        .filter((n) => n.value.toLowerCase().startsWith(w) && !n.value.startsWith('_stream'))
        .slice(0, 12)
        .map((n) => ({ label: n.value, hits: n.hits, insert: `${neg}${n.value}:` })),
    );
    setSel(0);
  };

  const accept = (i: number) => {
    const s = sugg[i];
    if (!s) return;
    const v = props.value;
    const nv = v.slice(0, token.current.from) + s.insert + v.slice(token.current.to);
    props.onChange(nv);
    const caret = token.current.from + s.insert.length;
    setTimeout(() => {
      input.current?.focus();
      input.current?.setSelectionRange(caret, caret);
      suggest(nv, caret);
    }, 0);
  };

  return (
    <form
      class="query-bar"
      onSubmit={(e) => {
        e.preventDefault();
        setSugg([]);
        props.onRun(input.current?.value ?? props.value);
      }}
    >
      <div class="query-wrap">
        <input
          ref={input}
          id="logs-query"
          class="input mono"
          spellcheck={false}
          autocomplete="off"
          placeholder='LogsQL, e.g. error namespace:="default" level:=error'
          value={props.value}
          onInput={(e) => {
            const el = e.currentTarget as HTMLInputElement;
            props.onChange(el.value);
            suggest(el.value, el.selectionStart ?? el.value.length);
          }}
          onKeyDown={(e) => {
            if (!sugg.length) return;
            if (e.key === 'ArrowDown') (e.preventDefault(), setSel((sel + 1) % sugg.length));
            else if (e.key === 'ArrowUp') (e.preventDefault(), setSel((sel - 1 + sugg.length) % sugg.length));
            else if (e.key === 'Tab' || (e.key === 'Enter' && sugg.length && sel >= 0 && !e.ctrlKey)) {
              e.preventDefault();
              accept(sel);
            } else if (e.key === 'Escape') setSugg([]);
          }}
          onBlur={() => setTimeout(() => setSugg([]), 150)}
        />
        {sugg.length > 0 && (
          <ul class="suggest" id="logs-suggest" role="listbox">
            {sugg.map((s, i) => (
              <li
                key={s.insert}
                role="option"
                aria-selected={i === sel}
                class={i === sel ? 'active' : ''}
                onMouseDown={(e) => (e.preventDefault(), accept(i))}
              >
                <span class="mono">{s.label}</span>
                {s.hits !== undefined && <span class="muted">{fmtCount(s.hits)}</span>}
              </li>
            ))}
          </ul>
        )}
      </div>
      <button id="logs-run" type="submit" class="btn btn-primary">
        Run
      </button>
    </form>
  );
}

/** Facets: the fixed ones with counts, and every other field of the matching lines on demand. */
function Facets(props: { query: string; win: LogsWindow; onPick: (field: string, value: string) => void }) {
  const { query, win } = props;
  const [values, setValues] = useState<Record<string, FieldValue[]>>({});
  const [names, setNames] = useState<FieldValue[]>([]);
  const [expanded, setExpanded] = useState<Set<string>>(new Set());

  const load = (field: string, signal: AbortSignal) =>
    logsFacet(field, query, win.start, win.end, 10, signal)
      .then((v) => setValues((old) => ({ ...old, [field]: v })))
      .catch((e) => {
        if (!isAbort(e)) setValues((old) => ({ ...old, [field]: [] }));
      });

  useEffect(() => {
    const ac = new AbortController();
    setValues({});
    for (const f of FACETS) load(f, ac.signal);
    for (const f of expanded) load(f, ac.signal);
    logsFieldNames(query, win.start, win.end, ac.signal)
      .then((n) => setNames(n.filter((x) => !HIDDEN.has(x.value) && !(FACETS as readonly string[]).includes(x.value))))
      .catch(() => setNames([]));
    return () => ac.abort();
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [query, win]);

  const expand = (f: string) => {
    const n = new Set(expanded);
    if (n.has(f)) n.delete(f);
    else {
      n.add(f);
      load(f, new AbortController().signal);
    }
    setExpanded(n);
  };

  const group = (f: string) => {
    const vs = values[f];
    const cur = getExactFilter(query, f);
    return (
      <ul class="facet-values">
        {vs === undefined && <li class="muted">…</li>}
        {vs?.length === 0 && <li class="muted">none</li>}
        {vs?.map((v) => (
          <li key={v.value}>
            <button
              type="button"
              class={`facet-value${cur === v.value ? ' active' : ''}`}
              data-field={f}
              data-value={v.value}
              title={`${f}:=${JSON.stringify(v.value)}`}
              onClick={() => props.onPick(f, v.value)}
            >
              {f === 'level' && <span class={`lvl-dot lvl-${levelClass(v.value)}`} />}
              <span class="facet-name">{v.value}</span>
              <span class="facet-count">{fmtCount(v.hits ?? 0)}</span>
            </button>
          </li>
        ))}
      </ul>
    );
  };

  return (
    <aside class="panel facets" id="logs-facets">
      {FACETS.map((f) => (
        <div class="facet" key={f} id={`facet-${f}`}>
          <div class="facet-title">{f}</div>
          {group(f)}
        </div>
      ))}
      {names.length > 0 && (
        <div class="facet" id="facet-fields">
          <div class="facet-title">fields</div>
          {names.slice(0, 60).map((n) => (
            <div key={n.value} class="facet-field">
              <button type="button" class="facet-field-name" data-field={n.value} onClick={() => expand(n.value)}>
                {expanded.has(n.value) ? '▾' : '▸'} {n.value}
              </button>
              {expanded.has(n.value) && group(n.value)}
            </div>
          ))}
        </div>
      )}
    </aside>
  );
}

/** The link to a line's detail page (metrics, events and processes around it). */
export function detailHref(r: LogRecord): string {
  const p = new URLSearchParams();
  for (const k of ['namespace', 'pod', 'container', 'node', '_time', '_stream_id']) if (r[k]) p.set(k === '_time' ? 'time' : k, r[k]!);
  if (r._msg) p.set('msg', r._msg.slice(0, 500));
  return `/logs/detail?${p}`;
}

function LogRow(props: { r: LogRecord; terms: string[]; open: boolean; onToggle: () => void; onFilter: (f: string, v: string) => void }) {
  const { r } = props;
  const t = r._time ? new Date(r._time) : null;
  const lvl = levelClass(r.level);
  const src = [r.namespace, r.pod, r.container].filter(Boolean).join(' / ') || r.source || r.node || '';
  return (
    <div class={`log-row${props.open ? ' open' : ''}${r.stream === 'stderr' ? ' stderr' : ''}`} role="row" data-level={lvl}>
      <div class="log-line" onClick={props.onToggle}>
        <span class="log-time mono" title={r._time}>
          {t && !Number.isNaN(t.getTime()) ? fmtTimeMs(t) : (r._time ?? '')}
        </span>
        <span class="log-src" title={src}>
          {src}
        </span>
        <span class="log-level">{r.level ? <span class={`lvl lvl-${lvl}`}>{r.level}</span> : null}</span>
        <span class="log-msg mono">
          <Highlight text={r._msg ?? ''} terms={props.terms} />
        </span>
      </div>
      {props.open && <LogRowDetail r={r} onFilter={props.onFilter} />}
    </div>
  );
}

function LogRowDetail(props: { r: LogRecord; onFilter: (f: string, v: string) => void }) {
  const { r } = props;
  const [ctx, setCtx] = useState<LogRecord[] | null>(null);
  const [err, setErr] = useState('');
  const showContext = () => {
    const p: Record<string, string> = { time: r._time ?? '', before: '10', after: '10' };
    if (r._stream_id) p.stream_id = r._stream_id;
    else for (const k of ['namespace', 'pod', 'container', 'node', 'file', 'source']) if (r[k]) p[k] = r[k]!;
    logContext(p)
      .then((rows) => setCtx(rows ?? []))
      .catch((e) => setErr(errText(e)));
  };
  return (
    <div class="log-detail">
      <div class="log-actions">
        <button type="button" class="btn btn-small" id="log-context" onClick={showContext}>
          Context
        </button>
        <Link href={detailHref(r)} class="btn btn-small" id="log-open-detail">
          Metrics, events &amp; processes
        </Link>
      </div>
      {err && <div class="alert alert-error">{err}</div>}
      {ctx && (
        <div class="log-context" id="log-context-rows">
          {ctx.map((c, i) => (
            <div key={i} class={`ctx-line mono${c._time === r._time && c._msg === r._msg ? ' current' : ''}`}>
              <span class="log-time">{c._time ? fmtTimeMs(new Date(c._time)) : ''}</span> {c._msg}
            </div>
          ))}
          {ctx.length === 0 && <div class="muted">no lines around this one</div>}
        </div>
      )}
      <table class="log-fields">
        <tbody>
          {Object.keys(r)
            .sort()
            .filter((k) => k !== '_msg')
            .map((k) => (
              <tr key={k}>
                <th>{k}</th>
                <td class="mono">
                  {k.startsWith('_') ? (
                    String(r[k] ?? '')
                  ) : (
                    <a href="#" title="filter by this value" onClick={(e) => (e.preventDefault(), props.onFilter(k, r[k] ?? ''))}>
                      {String(r[k] ?? '')}
                    </a>
                  )}
                </td>
              </tr>
            ))}
        </tbody>
      </table>
      <pre class="log-full mono">{r._msg}</pre>
    </div>
  );
}
