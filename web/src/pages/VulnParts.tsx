// Small pieces shared by the vulnerability pages.
import type { Counts, DBStatus, Progress } from './VulnApi';
import { SEVERITIES, fmtAge } from './VulnApi';

/** Counts as coloured numbers, zeros faint. */
export function CountCells(props: { counts: Counts }) {
  return (
    <>
      {SEVERITIES.map((s) => (
        <td key={s} class={`num sevnum ${props.counts[s] ? `sevtext-${s}` : 'muted'}`} data-sev={s}>
          {props.counts[s]}
        </td>
      ))}
    </>
  );
}

export function CountHeads() {
  return (
    <>
      <th class="num">Critical</th>
      <th class="num">High</th>
      <th class="num">Medium</th>
      <th class="num">Low</th>
      <th class="num" title="No severity in the advisory (the Go database gives none)">Unrated</th>
    </>
  );
}

/** A horizontal bar of the severity mix. */
export function SevBar(props: { counts: Counts }) {
  const total = SEVERITIES.reduce((n, s) => n + props.counts[s], 0);
  if (!total) return <span class="sevbar sevbar-empty" />;
  return (
    <span class="sevbar" title={SEVERITIES.map((s) => `${s} ${props.counts[s]}`).join(', ')}>
      {SEVERITIES.filter((s) => props.counts[s]).map((s) => (
        <span key={s} class={`sevbar-seg sevbg-${s}`} style={{ width: `${(100 * props.counts[s]) / total}%` }} />
      ))}
    </span>
  );
}

export function DBBanner(props: { db: DBStatus }) {
  const db = props.db;
  if (!db.updated) {
    return (
      <div class="alert alert-warn" id="vuln-db-stale" role="alert">
        The vulnerability database is empty: nothing can be matched. Load it with <code>vigil vulndb import &lt;bundle.zip&gt; --db-dir &lt;data-dir&gt;/vulndb</code>,{' '}
        <code>vigil vulndb update</code>, or upload an OSV archive below.
      </div>
    );
  }
  if (!db.stale) return null;
  return (
    <div class="alert alert-warn" id="vuln-db-stale" role="alert">
      The vulnerability database is {fmtAge(db.ageSeconds)} old (stale after {fmtAge(db.staleAfterSeconds)}): advisories published since are missing. Run{' '}
      <code>vigil vulndb update</code> or import a fresh bundle.
    </div>
  );
}

export function ProgressLine(props: { progress: Progress }) {
  const p = props.progress;
  if (p.state === 'idle') return null;
  const pct = p.total ? Math.round((100 * p.done) / p.total) : 0;
  const what =
    p.state === 'listing'
      ? 'Listing running containers…'
      : p.state === 'rematching'
        ? `Matching stored images against the updated database: ${p.done} of ${p.total}`
        : `Scanning images: ${p.done} of ${p.total}${p.current ? ` — ${p.current}` : ''}`;
  return (
    <div class="vuln-progress" id="vuln-progress" data-state={p.state}>
      <span class="spinner" aria-hidden="true" />
      <span class="vuln-progress-text">{what}</span>
      {p.state !== 'listing' && (
        <span class="pct-bar vuln-progress-bar">
          <span class="pct-fill ok" style={{ width: `${pct}%` }} />
        </span>
      )}
    </div>
  );
}
