// One stream of Kubernetes events, object changes and vigil's own events,
// with facets, full-text search, a histogram and user status updates/markers.
import { useCallback, useEffect, useState } from 'preact/hooks';
import { errText, isAbort } from '../api';
import { eventFacets, eventHistogram, listEvents, postEvent, type EventHistogram, type VEvent } from '../cluster';
import { EventList } from '../components/cluster';
import { ErrorBox, PageHeader, RangePicker } from '../components/ui';
import { navigate } from '../router';
import { rangeByKey, useInterval } from '../time';
import '../cluster.css';

const FACETS = ['type', 'source', 'reason', 'namespace', 'kind'] as const;

function Histogram(props: { h: EventHistogram | null }) {
  const h = props.h;
  if (!h || !h.series.length) return <div class="muted small" id="events-histogram">No events in this range.</div>;
  const buckets = new Map<string, { normal: number; warning: number }>();
  for (const s of h.series) {
    const warn = s.fields.type === 'Warning';
    s.timestamps.forEach((t, i) => {
      const b = buckets.get(t) ?? { normal: 0, warning: 0 };
      if (warn) b.warning += s.values[i];
      else b.normal += s.values[i];
      buckets.set(t, b);
    });
  }
  const rows = [...buckets.entries()].sort(([a], [b]) => a.localeCompare(b));
  const max = Math.max(...rows.map(([, b]) => b.normal + b.warning), 1);
  const w = 100 / Math.max(rows.length, 1);
  return (
    <svg id="events-histogram" class="histogram" viewBox="0 0 100 30" preserveAspectRatio="none" width="100%" height="70">
      {rows.map(([t, b], i) => {
        const hn = (28 * b.normal) / max;
        const hw = (28 * b.warning) / max;
        return (
          <g key={t}>
            <title>{`${new Date(t).toLocaleString()}: ${b.normal} normal, ${b.warning} warning`}</title>
            <rect x={i * w + 0.1} width={Math.max(w - 0.2, 0.1)} y={30 - hn} height={hn} fill="#93c5fd" />
            <rect x={i * w + 0.1} width={Math.max(w - 0.2, 0.1)} y={30 - hn - hw} height={hw} fill="#f87171" />
          </g>
        );
      })}
    </svg>
  );
}

export function EventsPage(props: { query: URLSearchParams }) {
  const q = props.query;
  const range = q.get('range') ?? '1h';
  const params: Record<string, string> = { range: `${rangeByKey(range).seconds}s`, limit: '300' };
  for (const f of [...FACETS, 'q', 'name']) if (q.get(f)) params[f] = q.get(f)!;
  const pkey = JSON.stringify(params);

  const [events, setEvents] = useState<VEvent[] | null>(null);
  const [facets, setFacets] = useState<Record<string, { value: string; hits: number }[]>>({});
  const [hist, setHist] = useState<EventHistogram | null>(null);
  const [error, setError] = useState('');
  const [text, setText] = useState(q.get('q') ?? '');
  const [msg, setMsg] = useState('');
  const [posting, setPosting] = useState(false);

  const set = (k: string, v: string | null) => {
    const n = new URLSearchParams(q);
    if (v) n.set(k, v);
    else n.delete(k);
    navigate(`/events${n.toString() ? '?' + n.toString() : ''}`, true);
  };

  const load = useCallback(
    (signal?: AbortSignal) => {
      listEvents(params, signal)
        .then((e) => {
          setEvents(e);
          setError('');
        })
        .catch((e) => !isAbort(e) && setError(errText(e)));
      eventFacets(params, signal)
        .then(setFacets)
        .catch(() => undefined);
      eventHistogram(params, signal)
        .then(setHist)
        .catch(() => undefined);
    },
    // eslint-disable-next-line react-hooks/exhaustive-deps
    [pkey],
  );
  useEffect(() => {
    const ac = new AbortController();
    load(ac.signal);
    return () => ac.abort();
  }, [load]);
  useInterval(load, 5_000);

  const submit = (e: Event) => {
    e.preventDefault();
    setText(text.trim());
    set('q', text.trim());
  };
  const post = async (e: Event) => {
    e.preventDefault();
    if (!msg.trim()) return;
    setPosting(true);
    try {
      await postEvent({ message: msg.trim(), marker: true, namespace: q.get('namespace') ?? undefined });
      setMsg('');
      load();
    } catch (err) {
      setError(errText(err));
    } finally {
      setPosting(false);
    }
  };

  return (
    <div class="page">
      <PageHeader title="Events" subtitle="Kubernetes events, object changes and vigil's own events in one stream">
        <RangePicker value={range} onChange={(r) => set('range', r)} id="events-range" />
      </PageHeader>
      <ErrorBox error={error} onRetry={() => load()} />
      <form class="k-filters" onSubmit={submit}>
        <input class="input input-search" id="ev-q" type="search" placeholder="Search events (words in any field)" value={text} onInput={(e) => setText((e.currentTarget as HTMLInputElement).value)} />
        <button class="btn" type="submit" id="ev-search">
          Search
        </button>
        {FACETS.filter((f) => q.get(f)).map((f) => (
          <button type="button" key={f} class="btn btn-small" data-clear={f} onClick={() => set(f, null)}>
            {f}: {q.get(f)} ✕
          </button>
        ))}
      </form>
      <div class="panel">
        <Histogram h={hist} />
      </div>
      <div class="events-layout">
        <aside class="ev-facets panel" id="event-facets">
          {FACETS.map((f) => (
            <div class="ev-facet" key={f} data-facet={f}>
              <h3>{f}</h3>
              {(facets[f] ?? []).slice(0, 12).map((v) => (
                <button type="button" key={v.value} class={q.get(f) === v.value ? 'active' : ''} data-value={v.value} onClick={() => set(f, q.get(f) === v.value ? null : v.value)}>
                  <span>{v.value || '(none)'}</span>
                  <span class="muted">{v.hits}</span>
                </button>
              ))}
            </div>
          ))}
        </aside>
        <div>
          <form class="k-filters panel" onSubmit={post}>
            <input class="input" id="ev-post-message" placeholder='Post a status update or marker, e.g. "deploying v2.3"' value={msg} maxLength={2000} onInput={(e) => setMsg((e.currentTarget as HTMLInputElement).value)} style={{ flex: 1 }} />
            <button class="btn btn-primary" type="submit" id="ev-post-submit" disabled={posting || !msg.trim()}>
              Post marker
            </button>
          </form>
          <div class="panel">
            {events === null && !error ? <div class="loading-panel">Loading events…</div> : <EventList events={events ?? []} id="events-list" empty="No events match." />}
            {events && <div class="muted small" id="events-count">{events.length === 300 ? 'newest 300 shown' : `${events.length} events`}</div>}
          </div>
        </div>
      </div>
    </div>
  );
}
