import { useEffect, useRef, useState } from 'preact/hooks';
import { errText, getPatterns, isAbort, type LogPattern, type PatternResult } from '../api';
import { PatternsTable } from '../components/Patterns';
import { Empty, ErrorBox, Link, PageHeader, RangePicker } from '../components/ui';
import { fmtCount } from '../format';
import { navigate } from '../router';
import { nowSec, rangeByKey } from '../time';

function patternsURL(query: string, range: string): string {
  const q = new URLSearchParams();
  if (query && query !== '*') q.set('query', query);
  if (range !== '1h') q.set('range', range);
  const s = q.toString();
  return `/logs/patterns${s ? `?${s}` : ''}`;
}

function logsURL(query: string, range: string): string {
  const q = new URLSearchParams();
  q.set('query', query);
  if (range !== '1h') q.set('range', range);
  return `/logs?${q.toString()}`;
}

/** /logs/patterns: the log templates of a query and time range. */
export function PatternsPage(props: { query: URLSearchParams }) {
  const query = props.query.get('query')?.trim() || '*';
  const rangeKey = rangeByKey(props.query.get('range')).key;
  const [text, setText] = useState(query);
  const [res, setRes] = useState<PatternResult | null>(null);
  const [loading, setLoading] = useState(false);
  const [error, setError] = useState('');
  const [run, setRun] = useState(0);
  const input = useRef<HTMLInputElement>(null);

  useEffect(() => setText(query), [query]);
  useEffect(() => {
    const ac = new AbortController();
    const end = nowSec();
    setLoading(true);
    setError('');
    getPatterns(query, end - rangeByKey(rangeKey).seconds, end, ac.signal)
      .then((r) => setRes(r))
      .catch((e) => {
        if (!isAbort(e)) setError(errText(e));
      })
      .finally(() => setLoading(false));
    return () => ac.abort();
  }, [query, rangeKey, run]);

  const go = (q: string, range: string) => {
    setRun((n) => n + 1);
    navigate(patternsURL(q.trim() || '*', range));
  };
  const open = (p: LogPattern) => navigate(logsURL(p.query, rangeKey));

  return (
    <div class="page page-patterns">
      <PageHeader
        title="Log patterns"
        subtitle={
          <span>
            Lines grouped by template; variable parts (numbers, ids, addresses, paths, durations, quoted values) are marked{' '}
            <span class="pattern-var" style={{ background: '#e0f2fe', color: '#0369a1', borderRadius: '3px', padding: '0 4px', fontWeight: 600 }}>
              *
            </span>
            . <Link href={query === '*' ? '/logs' : `/logs?query=${encodeURIComponent(query)}`}>Back to logs</Link>
          </span>
        }
      >
        <RangePicker value={rangeKey} onChange={(k) => go(input.current?.value ?? text, k)} id="patterns-range" />
      </PageHeader>
      <form
        class="query-bar"
        onSubmit={(e) => {
          e.preventDefault();
          const q = input.current?.value ?? text;
          setText(q);
          go(q, rangeKey);
        }}
      >
        <input
          ref={input}
          id="patterns-query"
          class="input mono"
          spellcheck={false}
          autocomplete="off"
          placeholder='LogsQL, e.g. namespace:="default" or error'
          value={text}
          onInput={(e) => setText((e.currentTarget as HTMLInputElement).value)}
        />
        <button id="patterns-run" type="submit" class="btn btn-primary">
          Find patterns
        </button>
      </form>
      <div class="result-info muted" id="patterns-info" style={{ margin: '8px 0' }}>
        {loading && <span class="spinner" aria-label="loading" />}
        {res && !loading && (
          <span>
            {fmtCount(res.patterns.length)} pattern{res.patterns.length === 1 ? '' : 's'} in {fmtCount(res.total)} lines
            {' · previous window '}
            {fmtCount(res.previous_total)} lines{' · '}
            <span id="patterns-mode" data-mode={res.mode} title={res.mode === 'index' ? 'counted at ingest, per minute' : 'the matching lines were read and grouped now'}>
              {res.mode === 'index' ? 'from the pattern index' : `scanned ${fmtCount(res.scanned ?? 0)} lines`}
            </span>
            {res.truncated && ' (scan limit reached: counts cover the lines read)'}
          </span>
        )}
      </div>
      <ErrorBox error={error} />
      {res && res.patterns.length === 0 && !loading && (
        <Empty title="No log lines">
          Nothing matches <code>{query}</code> in the last {rangeByKey(rangeKey).label}.
        </Empty>
      )}
      {res && res.patterns.length > 0 && <PatternsTable patterns={res.patterns} onOpen={open} />}
    </div>
  );
}
