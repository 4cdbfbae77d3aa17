import type { ComponentChildren } from 'preact';
import { linkClick } from '../router';
import { RANGES, REFRESH_OPTIONS } from '../time';

export function Link(props: { href: string; class?: string; id?: string; children: ComponentChildren; title?: string }) {
  return (
    <a href={props.href} class={props.class} id={props.id} title={props.title} onClick={linkClick}>
      {props.children}
    </a>
  );
}

export function PageHeader(props: { title: ComponentChildren; subtitle?: ComponentChildren; children?: ComponentChildren }) {
  return (
    <div class="page-header">
      <div class="page-title">
        <h1>{props.title}</h1>
        {props.subtitle && <div class="page-subtitle">{props.subtitle}</div>}
      </div>
      {props.children && <div class="page-actions">{props.children}</div>}
    </div>
  );
}

export function RangePicker(props: { value: string; onChange: (key: string) => void; id?: string }) {
  return (
    <div class="segmented" role="group" aria-label="Time range" id={props.id}>
      {RANGES.map((r) => (
        <button
          type="button"
          key={r.key}
          data-range={r.key}
          class={r.key === props.value ? 'active' : ''}
          aria-pressed={r.key === props.value}
          onClick={() => props.onChange(r.key)}
        >
          {r.label}
        </button>
      ))}
    </div>
  );
}

export function RefreshPicker(props: { value: string; onChange: (key: string) => void; onRefresh: () => void }) {
  return (
    <div class="refresh">
      <button type="button" class="btn btn-icon" title="Refresh now" aria-label="Refresh now" onClick={props.onRefresh}>
        <svg viewBox="0 0 16 16" width="14" height="14" aria-hidden="true">
          <path
            d="M13.5 8a5.5 5.5 0 1 1-1.6-3.9M13.5 2.5v3h-3"
            fill="none"
            stroke="currentColor"
            stroke-width="1.6"
            stroke-linecap="round"
            stroke-linejoin="round"
          />
        </svg>
      </button>
      <label class="refresh-select">
        <span>Auto</span>
        <select
          id="refresh-interval"
          value={props.value}
          onChange={(e) => props.onChange((e.currentTarget as HTMLSelectElement).value)}
        >
          {REFRESH_OPTIONS.map((o) => (
            <option value={o.key} key={o.key}>
              {o.label}
            </option>
          ))}
        </select>
      </label>
    </div>
  );
}

export function ErrorBox(props: { error: string; onRetry?: () => void }) {
  if (!props.error) return null;
  return (
    <div class="alert alert-error" role="alert">
      <span>{props.error}</span>
      {props.onRetry && (
        <button type="button" class="btn btn-small" onClick={props.onRetry}>
          Retry
        </button>
      )}
    </div>
  );
}

export function Empty(props: { title: string; children?: ComponentChildren }) {
  return (
    <div class="empty">
      <div class="empty-title">{props.title}</div>
      {props.children && <div class="empty-text">{props.children}</div>}
    </div>
  );
}

export function Pct(props: { value: number | undefined }) {
  const v = props.value;
  if (v === undefined || !Number.isFinite(v)) return <span class="muted">—</span>;
  const c = Math.max(0, Math.min(100, v));
  const level = c >= 90 ? 'crit' : c >= 75 ? 'warn' : 'ok';
  return (
    <span class="pct">
      <span class="pct-bar">
        <span class={`pct-fill ${level}`} style={{ width: `${c}%` }} />
      </span>
      <span class="pct-num">{v.toFixed(1)}%</span>
    </span>
  );
}
