// Small widgets shared by the cluster pages.
import type { ComponentChildren } from 'preact';
import type { Health, VEvent } from '../cluster';
import { fmtAgo, fmtDateTime } from '../format';
import { Link } from './ui';
import { nsHref, podHref, workloadHref } from '../cluster';

export function HealthDot(props: { health: Health; title?: string }) {
  return <span class={`hdot h-${props.health}`} title={props.title ?? props.health} data-health={props.health} />;
}

export function HealthBadge(props: { health: Health; children?: ComponentChildren }) {
  return (
    <span class={`hbadge h-${props.health}`} data-health={props.health}>
      {props.children ?? props.health}
    </span>
  );
}

/** A tiny SVG line of recent values; cheap enough for hundreds of rows. */
export function Sparkline(props: { values: (number | null)[]; max?: number; title?: string; class?: string }) {
  const w = 90;
  const h = 22;
  const vals = props.values;
  const finite = vals.filter((v): v is number => v != null && Number.isFinite(v));
  if (finite.length < 2) return <svg class={`spark empty ${props.class ?? ''}`} width={w} height={h} aria-label="no data" />;
  const max = props.max ?? Math.max(...finite, 1e-9);
  const pts: string[] = [];
  vals.forEach((v, i) => {
    if (v == null) return;
    const x = (i / (vals.length - 1)) * (w - 2) + 1;
    const y = h - 1 - (Math.min(v, max) / max) * (h - 2);
    pts.push(`${x.toFixed(1)},${y.toFixed(1)}`);
  });
  return (
    <svg class={`spark ${props.class ?? ''}`} width={w} height={h} viewBox={`0 0 ${w} ${h}`} role="img" aria-label={props.title}>
      <title>{props.title}</title>
      <polyline points={pts.join(' ')} fill="none" stroke="currentColor" stroke-width="1.4" />
    </svg>
  );
}

/** Links an event's object to its page when vigil has one. */
export function ObjectLink(props: { e: VEvent }) {
  const { e } = props;
  if (!e.name) return e.namespace ? <Link href={nsHref(e.namespace)}>{e.namespace}</Link> : null;
  const label = `${e.kind ?? ''}${e.kind ? '/' : ''}${e.name}`;
  if (e.kind === 'Pod' && e.namespace) return <Link href={podHref(e.namespace, e.name)}>{label}</Link>;
  if (e.kind === 'Node') return <Link href={`/infrastructure/${encodeURIComponent(e.name)}`}>{label}</Link>;
  if (e.kind === 'Namespace') return <Link href={nsHref(e.name)}>{label}</Link>;
  if (e.namespace && e.kind && ['Deployment', 'StatefulSet', 'DaemonSet', 'Job', 'CronJob'].includes(e.kind))
    return <Link href={workloadHref(e.namespace, e.kind, e.name)}>{label}</Link>;
  return <span>{label}</span>;
}

/** A compact list of events, newest first. */
export function EventList(props: { events: VEvent[]; empty?: string; id?: string }) {
  if (!props.events.length) return <div class="muted small" id={props.id}>{props.empty ?? 'No events.'}</div>;
  return (
    <ul class="event-list" id={props.id}>
      {props.events.map((e, i) => (
        <li key={i} class={`event-row ev-${e.type === 'Warning' ? 'warning' : 'normal'}${e.marker ? ' ev-marker' : ''}`} data-reason={e.reason}>
          <span class="ev-time" title={fmtDateTime(e.time)}>
            {fmtAgo(e.time)}
          </span>
          <span class={`ev-type ${e.type === 'Warning' ? 'crit-text' : 'muted'}`}>{e.marker ? 'Marker' : e.type}</span>
          <span class="ev-reason">{e.reason || e.source}</span>
          <span class="ev-obj">
            <ObjectLink e={e} />
          </span>
          <span class="ev-msg">
            {e.message}
            {e.count && e.count > 1 ? <span class="muted"> ×{e.count}</span> : null}
          </span>
        </li>
      ))}
    </ul>
  );
}

export function Labels(props: { labels?: Record<string, string>; id?: string }) {
  const entries = Object.entries(props.labels ?? {}).sort(([a], [b]) => a.localeCompare(b));
  if (!entries.length) return <span class="muted">none</span>;
  return (
    <div class="k-labels" id={props.id}>
      {entries.map(([k, v]) => (
        <span class="k-label-chip" key={k}>
          {k}={v}
        </span>
      ))}
    </div>
  );
}

export function Tabs(props: { items: { href: string; label: string; id: string }[]; current: string }) {
  return (
    <div class="k-tabs" role="tablist">
      {props.items.map((t) => (
        <Link key={t.href} href={t.href} id={t.id} class={`k-tab${props.current === t.href ? ' active' : ''}`}>
          {t.label}
        </Link>
      ))}
    </div>
  );
}

export const CLUSTER_TABS = [
  { href: '/cluster/map', label: 'Cluster map', id: 'tab-map' },
  { href: '/cluster/resources', label: 'Resources', id: 'tab-resources' },
  { href: '/cluster/containers', label: 'Containers', id: 'tab-containers' },
];
