import type { LogPattern } from '../api';
import { fmtAgo, fmtCount, fmtDateTime } from '../format';

const TREND_CLASS: Record<LogPattern['trend'], string> = {
  new: 'badge badge-crit',
  rising: 'badge badge-crit',
  falling: 'badge badge-ok',
  steady: 'badge badge-muted',
};

/** A template with its variable parts (<*>) set apart from the constant text. */
export function TemplateText(props: { template: string }) {
  const parts = props.template.split('<*>');
  return (
    <span class="pattern-template mono" style={{ whiteSpace: 'pre-wrap', wordBreak: 'break-word' }}>
      {parts.map((p, i) => (
        <span key={i}>
          {p}
          {i < parts.length - 1 && (
            <span
              class="pattern-var"
              title="variable part"
              style={{ background: '#e0f2fe', color: '#0369a1', borderRadius: '3px', padding: '0 4px', margin: '0 1px', fontWeight: 600 }}
            >
              *
            </span>
          )}
        </span>
      ))}
    </span>
  );
}

function trendTitle(p: LogPattern): string {
  if (p.trend === 'new') return 'not seen in the previous window of the same length';
  return `${fmtCount(p.previous_count)} in the previous window of the same length`;
}

/** The patterns table; clicking a row opens its lines. */
export function PatternsTable(props: { patterns: LogPattern[]; onOpen: (p: LogPattern) => void }) {
  return (
    <div class="panel table-panel">
      <table class="table" id="patterns-table">
        <thead>
          <tr>
            <th class="num">Count</th>
            <th class="num">Share</th>
            <th>Trend</th>
            <th>Pattern</th>
            <th>First seen</th>
            <th>Last seen</th>
          </tr>
        </thead>
        <tbody>
          {props.patterns.map((p) => (
            <tr
              key={p.id}
              class="clickable pattern-row"
              data-id={p.id}
              data-count={p.count}
              title={`Sample: ${p.sample}\n\nClick to open these lines in the log explorer`}
              onClick={() => props.onOpen(p)}
            >
              <td class="num pattern-count">{fmtCount(p.count)}</td>
              <td class="num pattern-share" style={{ minWidth: '90px' }}>
                <div style={{ display: 'flex', alignItems: 'center', gap: '6px', justifyContent: 'flex-end' }}>
                  <span>{(p.share * 100).toFixed(p.share < 0.1 ? 1 : 0)}%</span>
                  <span style={{ display: 'inline-block', width: '40px', height: '6px', background: '#eef0f3', borderRadius: '3px' }}>
                    <span
                      style={{ display: 'block', width: `${Math.max(2, p.share * 100)}%`, height: '6px', background: '#38bdf8', borderRadius: '3px' }}
                    />
                  </span>
                </div>
              </td>
              <td>
                <span class={`pattern-trend ${TREND_CLASS[p.trend]}`} data-trend={p.trend} title={trendTitle(p)}>
                  {p.trend}
                </span>
              </td>
              <td style={{ maxWidth: '720px' }}>
                <TemplateText template={p.template} />
                <div class="pattern-sample muted mono" style={{ fontSize: '11.5px', marginTop: '3px', overflow: 'hidden', textOverflow: 'ellipsis', whiteSpace: 'nowrap', maxWidth: '720px' }}>
                  {p.sample}
                </div>
              </td>
              <td class="muted" title={fmtDateTime(p.first_seen)} style={{ whiteSpace: 'nowrap' }}>
                {fmtAgo(p.first_seen)}
              </td>
              <td class="muted" title={fmtDateTime(p.last_seen)} style={{ whiteSpace: 'nowrap' }}>
                {fmtAgo(p.last_seen)}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
