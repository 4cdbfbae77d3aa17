// Pieces shared by the security pages (vulnerabilities and compliance): the
// tab bar, severity badges and the severity count cards.
import type { ComponentChildren } from 'preact';
import './severity.css';

export interface TabDef<K extends string> {
  key: K;
  label: string;
}

/** The tab named by ?tab=, or the first one. */
export function tabFrom<K extends string>(tabs: readonly TabDef<K>[], query: URLSearchParams): K {
  return tabs.find((t) => t.key === query.get('tab'))?.key ?? tabs[0].key;
}

/** A segmented tab list; each button is #<prefix>-<key>. */
export function TabBar<K extends string>(props: { id: string; prefix: string; tabs: readonly TabDef<K>[]; value: K; onChange: (k: K) => void }) {
  return (
    <div class="segmented" role="tablist" id={props.id}>
      {props.tabs.map((t) => (
        <button type="button" key={t.key} id={`${props.prefix}-${t.key}`} class={props.value === t.key ? 'active' : ''} onClick={() => props.onChange(t.key)}>
          {t.label}
        </button>
      ))}
    </div>
  );
}

export function sevLabel(s: string): string {
  return s === 'unknown' ? 'Unrated' : s[0].toUpperCase() + s.slice(1);
}

/** A severity pill; extra classes let a page keep its own hooks on it. */
export function SevBadge(props: { severity: string; score?: number; class?: string }) {
  return (
    <span class={`badge sev sev-${props.severity}${props.class ? ` ${props.class}` : ''}`}>
      {props.severity === 'unknown' ? 'unrated' : props.severity}
      {props.score ? ` ${props.score.toFixed(1)}` : ''}
    </span>
  );
}

/** A count card coloured by its severity; with onClick it is a toggle button. */
export function SevCard(props: {
  sev?: string;
  value: ComponentChildren;
  label?: string;
  foot?: ComponentChildren;
  class: string;
  id?: string;
  dataSev?: string;
  selected?: boolean;
  onClick?: () => void;
}) {
  const body = (
    <>
      <div class="card-label">{props.label ?? sevLabel(props.sev ?? '')}</div>
      <div class={`card-value${props.sev ? ` sevtext-${props.sev}` : ''}`}>{props.value}</div>
      {props.foot && <div class="card-foot">{props.foot}</div>}
    </>
  );
  if (!props.onClick) {
    return (
      <div class={`card ${props.class}`} id={props.id} data-sev={props.dataSev}>
        {body}
      </div>
    );
  }
  return (
    <button type="button" class={`card sev-card-btn ${props.class}${props.selected ? ' selected' : ''}`} id={props.id} data-sev={props.dataSev} onClick={props.onClick}>
      {body}
    </button>
  );
}
