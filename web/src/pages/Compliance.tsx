// Security · Compliance: score per framework (CIS Kubernetes Benchmark, CIS
// EKS, NSA-CISA, Pod Security Standards), failed checks with evidence and
// filters, the controls, exceptions (accepted risks) and reports.
import { useCallback, useEffect, useState } from 'preact/hooks';
import { errText, isAbort } from '../api';
import { SevBadge, SevCard, TabBar, tabFrom } from '../components/severity';
import { useAction } from '../components/useAction';
import { usePolled } from '../components/usePolled';
import { Empty, ErrorBox, Link, PageHeader } from '../components/ui';
import { fmtAgo, fmtCount, fmtDateTime } from '../format';
import { navigate } from '../router';
import {
  addException,
  addSchedule,
  complianceFindings,
  complianceScan,
  complianceSummary,
  deleteException,
  deleteSchedule,
  generateReport,
  hasCompliance,
  hasVulns,
  listExceptions,
  listReports,
  listSchedules,
  refs,
  REPORT_KINDS,
  runSchedule,
  SEVS,
  type ControlStatus,
  type Exception,
  type Finding,
  type ReportKind,
  type ReportVulnSummary,
  type Schedule,
  type Score,
  type StoredReport,
  type Summary,
} from './ComplianceApi';
import { SEVERITIES } from './VulnApi';
import './Compliance.css';

const TABS = [
  { key: 'overview', label: 'Overview' },
  { key: 'controls', label: 'Controls' },
  { key: 'exceptions', label: 'Exceptions' },
  { key: 'reports', label: 'Reports' },
] as const;
type Tab = (typeof TABS)[number]['key'];

export function CompliancePage(props: { query: URLSearchParams }) {
  const tab = tabFrom(TABS, props.query);
  const { data: sum, err, setErr, load } = usePolled(complianceSummary, 15000);
  const [busy, run] = useAction(setErr);

  const setTab = (t: Tab) => navigate(`/security/compliance${t === 'overview' ? '' : `?tab=${t}`}`);
  const evaluate = () =>
    run(async () => {
      await complianceScan();
      load();
    });

  return (
    <div class="page comp-page" id="compliance-page">
      <PageHeader
        title="Security · Compliance"
        subtitle={
          <span id="compliance-status">
            {sum?.time
              ? `Evaluated ${fmtAgo(sum.time)} · ${fmtCount(sum.objects)} objects · ${sum.durationMs.toFixed(0)} ms`
              : 'Not evaluated yet'}
            {' · '}
            <Link href="/security" id="compliance-to-vulns">
              Vulnerabilities
            </Link>
          </span>
        }
      >
        <TabBar id="compliance-tabs" prefix="compliance-tab" tabs={TABS} value={tab} onChange={setTab} />
        <button type="button" class="btn" id="compliance-scan" disabled={busy} onClick={evaluate}>
          {busy ? 'Evaluating…' : 'Evaluate now'}
        </button>
      </PageHeader>
      <ErrorBox error={err} onRetry={load} />
      {sum && !sum.cluster && (
        <div class="alert alert-warn">No cluster is connected (start the server with --kubeconfig or in a pod): only node checks are evaluated.</div>
      )}
      {sum && tab === 'overview' && <OverviewTab sum={sum} query={props.query} />}
      {sum && tab === 'controls' && <ControlsTab controls={sum.controls} />}
      {sum && tab === 'exceptions' && <ExceptionsTab controls={sum.controls} onChange={load} />}
      {tab === 'reports' && <ReportsTab />}
    </div>
  );
}

/** The badge keeps csev-<severity> so findings can be picked by severity. */
function CompSev(props: { sev: string }) {
  return <SevBadge severity={props.sev} class={`csev-${props.sev}`} />;
}

function ScoreCard(props: { s: Score; selected: boolean; onClick: () => void }) {
  const { s } = props;
  const level = s.score >= 90 ? 'good' : s.score >= 70 ? 'fair' : 'poor';
  return (
    <button type="button" class={`card comp-score sev-card-btn${props.selected ? ' selected' : ''}`} id={`compliance-score-${s.id}`} onClick={props.onClick}>
      <div class="card-label">{s.name}</div>
      <div class={`comp-score-value comp-${level}`} data-score={s.score}>
        {s.score.toFixed(1)}%
      </div>
      <div class="comp-bar">
        <span class={`comp-bar-fill comp-bg-${level}`} style={{ width: `${s.score}%` }} />
      </div>
      <div class="card-foot">
        {fmtCount(s.passed)} passed · {fmtCount(s.failed)} failed checks · {s.failedControls}/{s.controls} controls failing
      </div>
      <div class="comp-sevs">
        {SEVS.map((v) => (
          <span key={v} class={`comp-sevcount sevtext-${v}`} title={`${v} failed checks`}>
            {s.failedBySeverity[v] ?? 0} {v}
          </span>
        ))}
      </div>
    </button>
  );
}

function OverviewTab(props: { sum: Summary; query: URLSearchParams }) {
  const { sum, query } = props;
  const filters = {
    severity: query.get('severity') ?? '',
    namespace: query.get('namespace') ?? '',
    control: query.get('control') ?? '',
    framework: query.get('framework') ?? '',
    status: query.get('status') ?? 'fail',
  };
  const [rows, setRows] = useState<Finding[] | null>(null);
  const [total, setTotal] = useState(0);
  const [err, setErr] = useState('');
  const key = JSON.stringify(filters) + (sum.time ?? '');

  useEffect(() => {
    const ac = new AbortController();
    const params: Record<string, string> = { limit: '500' };
    for (const [k, v] of Object.entries(filters)) if (v) params[k] = v;
    complianceFindings(params, ac.signal)
      .then((r) => {
        setRows(r.findings);
        setTotal(r.total);
        setErr('');
      })
      .catch((e) => !isAbort(e) && setErr(errText(e)));
    return () => ac.abort();
  }, [key]);

  const setFilter = (k: string, v: string) => {
    const q = new URLSearchParams(query);
    if (v) q.set(k, v);
    else q.delete(k);
    q.delete('tab');
    const s = q.toString();
    navigate(`/security/compliance${s ? `?${s}` : ''}`, true);
  };
  const byId = new Map(sum.controls.map((c) => [c.id, c]));

  return (
    <>
      <div class="cards comp-cards" id="compliance-scores">
        {sum.scores.length === 0 && <Empty title="No score yet">Scores appear after the first evaluation.</Empty>}
        {sum.scores.map((s) => (
          <ScoreCard key={s.id} s={s} selected={filters.framework === s.id} onClick={() => setFilter('framework', filters.framework === s.id ? '' : s.id)} />
        ))}
      </div>
      <div class="cards comp-sev-cards" id="compliance-severity">
        {SEVS.map((v) => (
          <SevCard
            key={v}
            sev={v}
            class="comp-sev-card"
            id={`compliance-failed-${v}`}
            value={fmtCount(sum.failedBySeverity[v] ?? 0)}
            foot="failed checks"
            selected={filters.severity === v}
            onClick={() => setFilter('severity', filters.severity === v ? '' : v)}
          />
        ))}
      </div>
      <div class="panel table-panel">
        <div class="panel-head comp-filters">
          <h2>Failed checks</h2>
          <label>
            Severity ≥{' '}
            <select id="compliance-filter-severity" value={filters.severity} onChange={(e) => setFilter('severity', e.currentTarget.value)}>
              <option value="">any</option>
              {SEVS.map((v) => (
                <option key={v} value={v}>
                  {v}
                </option>
              ))}
            </select>
          </label>
          <label>
            Namespace{' '}
            <select id="compliance-filter-namespace" value={filters.namespace} onChange={(e) => setFilter('namespace', e.currentTarget.value)}>
              <option value="">all</option>
              {sum.namespaces.map((n) => (
                <option key={n} value={n}>
                  {n}
                </option>
              ))}
            </select>
          </label>
          <label>
            Framework{' '}
            <select id="compliance-filter-framework" value={filters.framework} onChange={(e) => setFilter('framework', e.currentTarget.value)}>
              <option value="">all</option>
              {sum.frameworks.map((f) => (
                <option key={f.id} value={f.id}>
                  {f.name}
                </option>
              ))}
            </select>
          </label>
          <label>
            Control{' '}
            <select id="compliance-filter-control" value={filters.control} onChange={(e) => setFilter('control', e.currentTarget.value)}>
              <option value="">all</option>
              {sum.controls.map((c) => (
                <option key={c.id} value={c.id}>
                  {c.id} {c.title}
                </option>
              ))}
            </select>
          </label>
          <label>
            Status{' '}
            <select id="compliance-filter-status" value={filters.status} onChange={(e) => setFilter('status', e.currentTarget.value)}>
              <option value="fail">failed</option>
              <option value="excepted">excepted</option>
              <option value="unknown">unknown</option>
            </select>
          </label>
          <span class="muted" id="compliance-findings-total">
            {fmtCount(total)} checks
          </span>
        </div>
        <ErrorBox error={err} />
        {rows && rows.length === 0 ? (
          <Empty title="Nothing here">No check matches these filters.</Empty>
        ) : (
          <table class="table" id="compliance-findings">
            <thead>
              <tr>
                <th>Severity</th>
                <th>Control</th>
                <th>Object</th>
                <th>Evidence</th>
                <th>Remediation</th>
              </tr>
            </thead>
            <tbody>
              {(rows ?? []).map((f, i) => {
                const c = byId.get(f.control);
                return (
                  <tr key={i} class="comp-row" data-control={f.control} data-name={f.name}>
                    <td>
                      <CompSev sev={f.severity} />
                    </td>
                    <td>
                      <div class="comp-ctl">{f.control}</div>
                      <div class="muted comp-small">{f.title}</div>
                      {c && <div class="comp-refs">{refs(c).join(' · ')}</div>}
                    </td>
                    <td class="comp-obj">
                      <span class="muted">{f.kind}</span> {f.namespace ? `${f.namespace}/` : ''}
                      {f.name}
                    </td>
                    <td>
                      <div>{f.message}</div>
                      {f.path && <code class="comp-path">{f.path}</code>}
                      {f.exception && (
                        <div class="comp-exc">
                          Excepted by {f.exception.owner} until {fmtDateTime(f.exception.expires)}: {f.exception.reason}
                        </div>
                      )}
                    </td>
                    <td class="comp-small comp-fix">{c?.remediation}</td>
                  </tr>
                );
              })}
            </tbody>
          </table>
        )}
      </div>
    </>
  );
}

function ControlsTab(props: { controls: ControlStatus[] }) {
  return (
    <div class="panel table-panel">
      <div class="panel-head">
        <h2>Controls</h2>
        <p class="muted">Rego policies with their mappings; custom controls load from --compliance-policies-dir</p>
      </div>
      <table class="table" id="compliance-controls">
        <thead>
          <tr>
            <th>Control</th>
            <th>Severity</th>
            <th>Frameworks</th>
            <th class="num">Passed</th>
            <th class="num">Failed</th>
            <th class="num">Excepted</th>
          </tr>
        </thead>
        <tbody>
          {props.controls.map((c) => (
            <tr key={c.id} data-control={c.id}>
              <td>
                <Link href={`/security/compliance?control=${encodeURIComponent(c.id)}`}>
                  <b>{c.id}</b>
                </Link>{' '}
                {c.title}
                {c.custom && <span class="badge badge-muted">custom</span>}
                <div class="muted comp-small">{c.rationale}</div>
              </td>
              <td>
                <CompSev sev={c.severity} />
              </td>
              <td class="comp-small">{refs(c).join(' · ')}</td>
              <td class="num">{c.passed}</td>
              <td class={`num${c.failed ? ` sevtext-${c.severity}` : ''}`}>{c.failed}</td>
              <td class="num">{c.excepted}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

function ExceptionsTab(props: { controls: ControlStatus[]; onChange: () => void }) {
  const [list, setList] = useState<Exception[]>([]);
  const [err, setErr] = useState('');
  const inMonth = new Date(Date.now() + 30 * 86400e3).toISOString().slice(0, 10);
  const [form, setForm] = useState({ control: '', namespace: '', kind: '', name: '', reason: '', owner: '', expires: inMonth });
  const load = useCallback(() => {
    listExceptions()
      .then((l) => setList(l))
      .catch((e) => setErr(errText(e)));
  }, []);
  useEffect(load, [load]);
  const submit = async (e: Event) => {
    e.preventDefault();
    try {
      await addException({ ...form, expires: new Date(form.expires + 'T23:59:59Z').toISOString() });
      setErr('');
      setForm({ ...form, reason: '', name: '' });
      load();
      props.onChange();
    } catch (x) {
      setErr(errText(x));
    }
  };
  const remove = async (id: number) => {
    try {
      await deleteException(id);
      load();
      props.onChange();
    } catch (x) {
      setErr(errText(x));
    }
  };
  const field = (k: keyof typeof form, label: string, placeholder = '') => (
    <label>
      {label}
      <input id={`exception-${k}`} value={form[k]} placeholder={placeholder} onInput={(e) => setForm({ ...form, [k]: e.currentTarget.value })} />
    </label>
  );
  const now = Date.now();
  return (
    <>
      <div class="panel">
        <div class="panel-head">
          <h2>Accept a risk</h2>
          <p class="muted">An exception needs a reason, an owner and an expiry; expired exceptions stop applying.</p>
        </div>
        <form class="comp-form" id="exception-form" onSubmit={submit}>
          <label>
            Control
            <select id="exception-control" value={form.control} onChange={(e) => setForm({ ...form, control: e.currentTarget.value })}>
              <option value="">choose…</option>
              {props.controls.map((c) => (
                <option key={c.id} value={c.id}>
                  {c.id} {c.title}
                </option>
              ))}
            </select>
          </label>
          {field('namespace', 'Namespace', 'any')}
          {field('kind', 'Kind', 'any')}
          {field('name', 'Name', 'any (globs: web-*)')}
          {field('reason', 'Reason')}
          {field('owner', 'Owner')}
          <label>
            Expires
            <input id="exception-expires" type="date" value={form.expires} onInput={(e) => setForm({ ...form, expires: e.currentTarget.value })} />
          </label>
          <button type="submit" class="btn btn-primary" id="exception-submit">
            Add exception
          </button>
        </form>
        <ErrorBox error={err} />
      </div>
      <div class="panel table-panel">
        <table class="table" id="compliance-exceptions">
          <thead>
            <tr>
              <th>Control</th>
              <th>Scope</th>
              <th>Reason</th>
              <th>Owner</th>
              <th>Expires</th>
              <th />
            </tr>
          </thead>
          <tbody>
            {list.map((x) => (
              <tr key={x.id} class={new Date(x.expires).getTime() < now ? 'comp-expired' : ''}>
                <td>{x.control}</td>
                <td>{[x.namespace || '*', x.kind || '*', x.name || '*'].join(' / ')}</td>
                <td>{x.reason}</td>
                <td>{x.owner}</td>
                <td>
                  {fmtDateTime(x.expires)}
                  {new Date(x.expires).getTime() < now && <span class="badge badge-crit">expired</span>}
                </td>
                <td class="actions">
                  <button type="button" class="btn btn-small" onClick={() => remove(x.id!)}>
                    Remove
                  </button>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
        {list.length === 0 && <Empty title="No exceptions">Every failed check counts against the score.</Empty>}
      </div>
    </>
  );
}

const WEEKDAYS = ['Sunday', 'Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday'];

const KIND_LABEL: Record<ReportKind, string> = {
  compliance: 'Compliance',
  vulnerabilities: 'Vulnerabilities',
  both: 'Compliance + vulnerabilities',
};

function KindBadge(props: { kind?: ReportKind }) {
  const k = props.kind ?? 'compliance';
  return (
    <span class={`badge badge-muted report-kind report-kind-${k}`} data-kind={k}>
      {KIND_LABEL[k] ?? k}
    </span>
  );
}

function KindSelect(props: { id: string; value: ReportKind; onChange: (k: ReportKind) => void }) {
  return (
    <select id={props.id} value={props.value} onChange={(e) => props.onChange(e.currentTarget.value as ReportKind)}>
      {REPORT_KINDS.map((k) => (
        <option key={k.value} value={k.value}>
          {k.label}
        </option>
      ))}
    </select>
  );
}

/** "3 critical, 5 high · 2 new, 1 fixed" with the image and fixable counts below. */
function VulnSummaryCell(props: { v: ReportVulnSummary }) {
  const { v } = props;
  const sevs = SEVERITIES.filter((s) => (v.countsBySeverity?.[s] ?? 0) > 0);
  return (
    <>
      <div class="report-vulns">
        {sevs.length === 0 ? (
          <span>0 findings</span>
        ) : (
          sevs.map((s, i) => (
            <span key={s}>
              {i > 0 && ', '}
              <span class={s === 'unknown' ? 'muted' : `sevtext-${s}`}>
                {v.countsBySeverity[s]} {s === 'unknown' ? 'unrated' : s}
              </span>
            </span>
          ))
        )}
        {' · '}
        <span class={v.new ? 'sevtext-high' : ''}>{v.new} new</span>, <span class={v.fixed ? 'comp-good' : ''}>{v.fixed} fixed</span>
      </div>
      <div class="muted comp-small">
        {fmtCount(v.images)} {v.images === 1 ? 'image' : 'images'} · {fmtCount(v.fixable)} fixable
      </div>
    </>
  );
}

function ReportsTab() {
  const [reports, setReports] = useState<StoredReport[]>([]);
  const [schedules, setSchedules] = useState<Schedule[]>([]);
  const [err, setErr] = useState('');
  const [busy, run] = useAction(setErr);
  const [form, setForm] = useState({ name: 'Weekly security report', kind: 'both' as ReportKind, cadence: 'weekly', hour: '7', weekday: '1', recipients: '' });
  const [genKind, setGenKind] = useState<ReportKind>('both');
  const load = useCallback(() => {
    Promise.all([listReports(), listSchedules()])
      .then(([r, s]) => {
        setReports(r);
        setSchedules(s);
      })
      .catch((e) => setErr(errText(e)));
  }, []);
  useEffect(load, [load]);
  const act = (fn: () => Promise<unknown>) =>
    run(async () => {
      await fn();
      setErr('');
      load();
    });
  const submit = (e: Event) => {
    e.preventDefault();
    act(() =>
      addSchedule({
        name: form.name,
        kind: form.kind,
        cadence: form.cadence as Schedule['cadence'],
        hour: Number(form.hour),
        weekday: Number(form.weekday),
        recipients: form.recipients
          .split(',')
          .map((s) => s.trim())
          .filter(Boolean),
      }),
    );
  };
  return (
    <>
      <ErrorBox error={err} />
      <div class="panel">
        <div class="panel-head">
          <h2>Schedules</h2>
          <p class="muted">
            Reports are mailed as HTML with CSV and JSON attachments (a vulnerability section adds its own CSV); each lists what is new and fixed since the
            previous one.
          </p>
        </div>
        <form class="comp-form" id="schedule-form" onSubmit={submit}>
          <label>
            Name
            <input id="schedule-name" value={form.name} onInput={(e) => setForm({ ...form, name: e.currentTarget.value })} />
          </label>
          <label>
            Content
            <KindSelect id="schedule-kind" value={form.kind} onChange={(kind) => setForm({ ...form, kind })} />
          </label>
          <label>
            Cadence
            <select id="schedule-cadence" value={form.cadence} onChange={(e) => setForm({ ...form, cadence: e.currentTarget.value })}>
              <option value="daily">daily</option>
              <option value="weekly">weekly</option>
            </select>
          </label>
          {form.cadence === 'weekly' && (
            <label>
              Day
              <select id="schedule-weekday" value={form.weekday} onChange={(e) => setForm({ ...form, weekday: e.currentTarget.value })}>
                {WEEKDAYS.map((d, i) => (
                  <option key={d} value={String(i)}>
                    {d}
                  </option>
                ))}
              </select>
            </label>
          )}
          <label>
            Hour (UTC)
            <input id="schedule-hour" type="number" min="0" max="23" value={form.hour} onInput={(e) => setForm({ ...form, hour: e.currentTarget.value })} />
          </label>
          <label class="comp-wide">
            Recipients
            <input id="schedule-recipients" placeholder="ops@example.com, security@example.com" value={form.recipients} onInput={(e) => setForm({ ...form, recipients: e.currentTarget.value })} />
          </label>
          <button type="submit" class="btn btn-primary" id="schedule-submit" disabled={busy}>
            Add schedule
          </button>
        </form>
        <table class="table" id="compliance-schedules">
          <tbody>
            {schedules.map((s) => (
              <tr key={s.id} data-schedule={s.id} data-kind={s.kind}>
                <td>
                  <b>{s.name}</b>
                </td>
                <td>
                  <KindBadge kind={s.kind} />
                </td>
                <td>
                  {s.cadence === 'weekly' ? `${WEEKDAYS[s.weekday]}s` : 'daily'} at {String(s.hour).padStart(2, '0')}:00 UTC
                </td>
                <td>{s.recipients.join(', ')}</td>
                <td class="muted">next {fmtDateTime(s.nextRun)}</td>
                <td class="actions">
                  <button type="button" class="btn btn-small" disabled={busy} onClick={() => act(() => runSchedule(s.id!))}>
                    Send now
                  </button>{' '}
                  <button type="button" class="btn btn-small" disabled={busy} onClick={() => act(() => deleteSchedule(s.id!))}>
                    Delete
                  </button>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      <div class="panel table-panel">
        <div class="panel-head report-head">
          <h2>Reports</h2>
          <div class="report-generate">
            <KindSelect id="report-kind" value={genKind} onChange={setGenKind} />
            <button type="button" class="btn" id="report-generate" disabled={busy} onClick={() => act(() => generateReport(genKind, '', []))}>
              Generate now
            </button>
          </div>
        </div>
        {reports.length === 0 ? (
          <Empty title="No reports yet">Generate one now or add a schedule.</Empty>
        ) : (
          <table class="table" id="compliance-reports">
            <thead>
              <tr>
                <th>Time</th>
                <th>Report</th>
                <th>Compliance</th>
                <th>Vulnerabilities</th>
                <th>Download</th>
              </tr>
            </thead>
            <tbody>
              {reports.map((r) => {
                const comp = hasCompliance(r.kind);
                const vulns = hasVulns(r.kind) || !!r.summary.vulnerabilities;
                return (
                  <tr key={r.id} data-report={r.id} data-kind={r.kind}>
                    <td class="comp-obj">{fmtDateTime(r.time)}</td>
                    <td>
                      <div>{r.title}</div>
                      <KindBadge kind={r.kind} />
                      {r.recipients?.length ? <div class="muted comp-small">mailed to {r.recipients.join(', ')}</div> : null}
                      {r.mailError && <div class="sevtext-high comp-small">mail failed: {r.mailError}</div>}
                    </td>
                    <td class="report-comp">
                      {comp ? (
                        <>
                          <div class="comp-small">
                            {(r.summary.scores ?? []).map((s, i) => (
                              <span key={s.id}>
                                {i > 0 && ' · '}
                                <span class="report-score">
                                  {s.id} {s.score.toFixed(1)}%
                                </span>
                              </span>
                            ))}
                          </div>
                          <div class="comp-small">
                            <span class={r.summary.new ? 'sevtext-high' : ''}>{r.summary.new} new</span>,{' '}
                            <span class={r.summary.fixed ? 'comp-good' : ''}>{r.summary.fixed} fixed</span> failed checks
                          </div>
                        </>
                      ) : (
                        <span class="muted">—</span>
                      )}
                    </td>
                    <td class="report-vuln-cell">
                      {r.summary.vulnerabilities ? <VulnSummaryCell v={r.summary.vulnerabilities} /> : <span class="muted">—</span>}
                    </td>
                    <td class="comp-dl">
                      <a href={`/api/compliance/reports/${r.id}/report.html`} target="_blank" rel="noopener">
                        HTML
                      </a>
                      {comp && (
                        <a class="report-dl-csv" href={`/api/compliance/reports/${r.id}/report.csv`} download>
                          {vulns ? 'Compliance CSV' : 'CSV'}
                        </a>
                      )}
                      {vulns && (
                        <a class="report-dl-vulns" href={`/api/compliance/reports/${r.id}/vulnerabilities.csv`} download>
                          Vulnerabilities CSV
                        </a>
                      )}
                      <a href={`/api/compliance/reports/${r.id}/report.json`} download>
                        JSON
                      </a>
                    </td>
                  </tr>
                );
              })}
            </tbody>
          </table>
        )}
      </div>
    </>
  );
}
