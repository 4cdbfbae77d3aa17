import { useEffect, useRef, useState } from 'preact/hooks';
import type { LogRecord } from '../api';
import { Link, PageHeader } from '../components/ui';
import { fmtTimeMs } from '../format';
import { levelClass } from '../logsql';
import { navigate } from '../router';
import { Highlight, searchTerms } from './Logs';
import '../logs.css';

/** Rows kept on screen; older ones fall off so the page stays fast. */
export const TAIL_MAX_ROWS = 1000;

/** A received line with a stable key, so rendering only adds and drops rows. */
interface TailRow {
  k: number;
  r: LogRecord;
}

/**
 * Live tail: new lines matching the query, streamed by Server-Sent Events.
 * Lines are buffered and rendered at most five times a second, and only
 * the newest TAIL_MAX_ROWS stay in the DOM, so thousands of lines a second
 * do not freeze the page. Paused, lines keep counting but are not shown.
 */
export function LogTailPage(props: { query: URLSearchParams }) {
  const query = props.query.get('query')?.trim() || '*';
  const [text, setText] = useState(query);
  const [rows, setRows] = useState<TailRow[]>([]);
  const [paused, setPaused] = useState(false);
  const [rate, setRate] = useState(0);
  const [total, setTotal] = useState(0);
  const [lost, setLost] = useState(0);
  const [status, setStatus] = useState<'connecting' | 'live' | 'error'>('connecting');
  const buf = useRef<TailRow[]>([]);
  const seq = useRef(0);
  const pausedRef = useRef(false);
  const counter = useRef({ n: 0, total: 0 });
  const terms = searchTerms(query);

  useEffect(() => setText(query), [query]);
  useEffect(() => {
    pausedRef.current = paused;
  }, [paused]);

  useEffect(() => {
    setRows([]);
    setLost(0);
    buf.current = [];
    counter.current = { n: 0, total: 0 };
    setStatus('connecting');
    const es = new EventSource(`/select/logsql/tail?query=${encodeURIComponent(query)}`);
    let frame = 0;
    const flush = () => {
      frame = 0;
      if (pausedRef.current || buf.current.length === 0) return;
      const incoming = buf.current;
      buf.current = [];
      setRows((old) => {
        const next = incoming.length >= TAIL_MAX_ROWS ? incoming.slice(-TAIL_MAX_ROWS) : old.concat(incoming);
        return next.length > TAIL_MAX_ROWS ? next.slice(next.length - TAIL_MAX_ROWS) : next;
      });
    };
    es.onopen = () => setStatus('live');
    // The server skips lines when this page falls behind; say how many.
    es.addEventListener('lost', (ev) => setLost(Number((ev as MessageEvent).data) || 0));
    es.onerror = () => setStatus(es.readyState === EventSource.CLOSED ? 'error' : 'connecting');
    es.onmessage = (ev) => {
      let r: LogRecord;
      try {
        r = JSON.parse(ev.data) as LogRecord;
      } catch {
        return;
      }
      counter.current.n++;
      counter.current.total++;
      if (pausedRef.current) return;
      buf.current.push({ k: seq.current++, r });
      if (buf.current.length > TAIL_MAX_ROWS) buf.current.splice(0, buf.current.length - TAIL_MAX_ROWS);
      // At most a few renders a second, each in an animation frame: the page
      // stays responsive however fast lines arrive.
      if (!frame) frame = window.setTimeout(() => requestAnimationFrame(flush), 200);
    };
    const tick = window.setInterval(() => {
      setRate(counter.current.n);
      setTotal(counter.current.total);
      counter.current.n = 0;
    }, 1000);
    return () => {
      es.close();
      if (frame) window.clearTimeout(frame);
      window.clearInterval(tick);
    };
  }, [query]);

  // Keep the newest line in view unless the reader scrolled up.
  const list = useRef<HTMLDivElement>(null);
  const stick = useRef(true);
  useEffect(() => {
    const el = list.current;
    if (el && stick.current) el.scrollTop = el.scrollHeight;
  }, [rows]);

  return (
    <div class="page page-logs page-tail">
      <PageHeader title="Live tail" subtitle="new lines as they arrive">
        <Link href={`/logs${query !== '*' ? `?query=${encodeURIComponent(query)}` : ''}`} class="btn" id="tail-explorer">
          Explorer
        </Link>
      </PageHeader>
      <form
        class="query-bar"
        onSubmit={(e) => {
          e.preventDefault();
          navigate(`/logs/tail${text.trim() && text.trim() !== '*' ? `?query=${encodeURIComponent(text.trim())}` : ''}`);
        }}
      >
        <input
          id="tail-query"
          class="input mono"
          spellcheck={false}
          autocomplete="off"
          value={text}
          placeholder='LogsQL filter, e.g. namespace:="shop" level:=error'
          onInput={(e) => setText((e.currentTarget as HTMLInputElement).value)}
        />
        <button type="submit" class="btn btn-primary" id="tail-apply">
          Apply
        </button>
        <button type="button" class="btn" id="tail-pause" aria-pressed={paused} onClick={() => setPaused(!paused)}>
          {paused ? 'Resume' : 'Pause'}
        </button>
        <button type="button" class="btn" id="tail-clear" onClick={() => setRows([])}>
          Clear
        </button>
      </form>
      <div class="tail-status" id="tail-status">
        <span class={`tail-dot tail-${paused ? 'paused' : status}`} />
        <span id="tail-state">{paused ? 'paused' : status}</span>
        <span id="tail-rate" data-rate={rate}>
          {rate.toLocaleString()} lines/s
        </span>
        <span class="muted" id="tail-total" data-total={total}>
          {total.toLocaleString()} received · {rows.length.toLocaleString()} shown (newest {TAIL_MAX_ROWS.toLocaleString()})
        </span>
        {lost > 0 && (
          <span class="muted" id="tail-lost">
            {lost.toLocaleString()} skipped (arriving faster than shown)
          </span>
        )}
      </div>
      <div
        class="panel logs-panel tail-panel"
        ref={list}
        onScroll={(e) => {
          const el = e.currentTarget as HTMLDivElement;
          stick.current = el.scrollHeight - el.scrollTop - el.clientHeight < 40;
        }}
      >
        <div class="logs" id="tail-rows">
          {rows.map(({ k, r }) => {
            const lvl = levelClass(r.level);
            return (
              <div class={`log-row${r.stream === 'stderr' ? ' stderr' : ''}`} key={k} data-level={lvl}>
                <div class="log-line">
                  <span class="log-time mono">{r._time ? fmtTimeMs(new Date(r._time)) : ''}</span>
                  <span class="log-src">{[r.namespace, r.pod, r.container].filter(Boolean).join(' / ') || r.source || r.node}</span>
                  <span class="log-level">{r.level ? <span class={`lvl lvl-${lvl}`}>{r.level}</span> : null}</span>
                  <span class="log-msg mono">
                    <Highlight text={r._msg ?? ''} terms={terms} />
                  </span>
                </div>
              </div>
            );
          })}
          {rows.length === 0 && <div class="empty-text muted tail-empty">Waiting for new lines matching <code>{query}</code>…</div>}
        </div>
      </div>
    </div>
  );
}
