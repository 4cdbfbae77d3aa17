// Security: vulnerabilities of the images running in the cluster — overview
// (severity counts, top images, top advisories, fixable), images, workloads
// and containers, and a map of namespaces → workloads → containers coloured
// by risk (vulnerabilities plus compliance failures when those are served).
import { useState } from 'preact/hooks';
import { ApiError, csrfToken, errText, sendJSON } from '../api';
import { SevBadge, SevCard, TabBar, tabFrom } from '../components/severity';
import { useAction } from '../components/useAction';
import { usePolled } from '../components/usePolled';
import { Empty, ErrorBox, Link, PageHeader } from '../components/ui';
import { fmtCount } from '../format';
import { navigate } from '../router';
import {
  complianceWorkloads,
  fmtAge,
  riskLevel,
  shortDigest,
  vulnContainers,
  vulnImages,
  vulnOverview,
  vulnWorkloads,
  SEVERITIES,
  type ComplianceWorkload,
  type ContainerRow,
  type ImageRow,
  type Overview,
  type Workload,
} from './VulnApi';
import { CountCells, CountHeads, DBBanner, ProgressLine, SevBar } from './VulnParts';
import './Vuln.css';

const TABS = [
  { key: 'overview', label: 'Overview' },
  { key: 'images', label: 'Images' },
  { key: 'workloads', label: 'Workloads' },
  { key: 'containers', label: 'Containers' },
  { key: 'map', label: 'Map' },
] as const;
type Tab = (typeof TABS)[number]['key'];

export function SecurityPage(props: { query: URLSearchParams }) {
  const tab = tabFrom(TABS, props.query);
  const ns = props.query.get('namespace') ?? '';
  // Poll fast while a scan runs so progress moves, slowly otherwise.
  const { data: ov, err, setErr, load } = usePolled(vulnOverview, (o) => (o && o.progress.state !== 'idle' ? 1500 : 10000));

  const setTab = (t: Tab) => navigate(`/security${t === 'overview' ? '' : `?tab=${t}`}`);
  const [busy, run] = useAction(setErr);
  const rescan = () =>
    run(async () => {
      await sendJSON('POST', '/api/vulns/rescan');
      load();
    });

  return (
    <div class="page vuln-page" id="security-page">
      <PageHeader
        title="Security · Vulnerabilities"
        subtitle={
          ov ? (
            <span id="vuln-db-status" data-stale={String(ov.db.stale)}>
              Vulnerability database: {fmtCount(ov.db.records)} advisories
              {ov.db.ecosystems.length ? ` (${ov.db.ecosystems.map((e) => e.name).join(', ')})` : ''}
              {ov.db.updated ? `, updated ${fmtAge(ov.db.ageSeconds)} ago` : ', empty'}
              {ov.db.stale && (
                <span class="badge badge-crit" style={{ marginLeft: '6px' }}>
                  stale
                </span>
              )}
            </span>
          ) : (
            'Images running in the cluster, matched against the offline vulnerability database'
          )
        }
      >
        <TabBar id="vuln-tabs" prefix="vuln-tab" tabs={TABS} value={tab} onChange={setTab} />
        <Link href="/security/compliance" class="btn" id="security-to-compliance">
          Compliance
        </Link>
        <button type="button" class="btn" id="vuln-rescan" disabled={busy} onClick={rescan} title="Match every stored image against the database again">
          Rescan
        </button>
      </PageHeader>
      <ErrorBox error={err} onRetry={load} />
      {ov && <DBBanner db={ov.db} />}
      {ov && <ProgressLine progress={ov.progress} />}
      {ov && !ov.progress.cluster && (
        <div class="alert alert-warn">No cluster is connected (start the server with --kubeconfig or in a pod): only stored results are shown.</div>
      )}
      {ov?.progress.lastError && <div class="alert alert-error">Last error: {ov.progress.lastError}</div>}
      {tab === 'overview' && ov && <OverviewTab ov={ov} />}
      {tab === 'images' && <ImagesTab />}
      {tab === 'workloads' && <WorkloadsTab />}
      {tab === 'containers' && <ContainersTab namespace={ns} />}
      {tab === 'map' && <MapTab />}
      {tab === 'overview' && ov && <ImportPanel onDone={load} />}
    </div>
  );
}

function OverviewTab(props: { ov: Overview }) {
  const { ov } = props;
  return (
    <>
      <div class="cards vuln-cards" id="vuln-counts">
        {SEVERITIES.map((s) => (
          <SevCard key={s} sev={s} class={`vuln-card vuln-card-${s}`} id={`vuln-count-${s}`} value={fmtCount(ov.counts[s])} foot="findings in running images" />
        ))}
        <SevCard
          class="vuln-card"
          id="vuln-count-fixable"
          label="Fix available"
          value={fmtCount(ov.fixable)}
          foot={`of ${fmtCount(ov.findings)} findings · ${ov.scanned}/${ov.images} images scanned · ${ov.containers} containers`}
        />
      </div>
      <div class="vuln-two">
        <div class="panel table-panel">
          <div class="panel-head">
            <h2>Top images</h2>
            <p class="muted">By severity-weighted findings</p>
          </div>
          {ov.topImages.length === 0 ? (
            <Empty title="No images yet">Images appear after the first listing of running pods.</Empty>
          ) : (
            <ImageTable id="vuln-top-images" images={ov.topImages} />
          )}
        </div>
        <div class="panel table-panel">
          <div class="panel-head">
            <h2>Top advisories</h2>
            <p class="muted">By severity, then by containers affected</p>
          </div>
          {ov.topCVEs.length === 0 ? (
            <Empty title="No findings">Nothing in the running images matches the database.</Empty>
          ) : (
            <table class="table" id="vuln-top-cves">
              <thead>
                <tr>
                  <th>Advisory</th>
                  <th>Severity</th>
                  <th>Packages</th>
                  <th>Fixed in</th>
                  <th class="num">Images</th>
                  <th class="num">Containers</th>
                </tr>
              </thead>
              <tbody>
                {ov.topCVEs.map((c) => (
                  <tr key={c.id} data-id={c.id}>
                    <td>
                      <a href={advisoryURL(c.id)} target="_blank" rel="noopener noreferrer" class="mono">
                        {c.id}
                      </a>
                      <div class="muted vuln-summary">{c.summary}</div>
                    </td>
                    <td>
                      <SevBadge severity={c.severity} score={c.score} />
                    </td>
                    <td class="mono">{c.packages.slice(0, 3).join(', ') + (c.packages.length > 3 ? ` +${c.packages.length - 3}` : '')}</td>
                    <td class="mono">{c.fixed || <span class="muted">no fix</span>}</td>
                    <td class="num">{c.images}</td>
                    <td class="num">{c.containers}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          )}
        </div>
      </div>
    </>
  );
}

function advisoryURL(id: string): string {
  return id.startsWith('GO-') ? `https://pkg.go.dev/vuln/${id}` : `https://osv.dev/vulnerability/${id}`;
}

function ImageTable(props: { id: string; images: ImageRow[] }) {
  return (
    <table class="table" id={props.id}>
      <thead>
        <tr>
          <th>Image</th>
          <th>Mix</th>
          <CountHeads />
          <th class="num">Fixable</th>
          <th class="num">Containers</th>
        </tr>
      </thead>
      <tbody>
        {props.images.map((im) => (
          <ImageTr key={im.digest} im={im} />
        ))}
      </tbody>
    </table>
  );
}

function ImageTr(props: { im: ImageRow }) {
  const im = props.im;
  const href = `/security/images/${encodeURIComponent(im.digest)}`;
  return (
    <tr class="clickable" data-digest={im.digest} onClick={() => navigate(href)}>
      <td>
        <Link href={href} class="mono">
          {im.ref.replace(/@sha256:[0-9a-f]+$/, '')}
        </Link>
        <div class="muted mono vuln-digest">
          {shortDigest(im.digest)} {im.os ? `· ${im.os}` : ''} {im.status !== 'done' && <span class={`badge ${im.status === 'error' ? 'badge-crit' : 'badge-muted'}`}>{im.status}</span>}
        </div>
        {im.error && <div class="error-text vuln-summary">{im.error}</div>}
      </td>
      <td>
        <SevBar counts={im.vulns} />
      </td>
      <CountCells counts={im.vulns} />
      <td class="num">{im.fixable}</td>
      <td class="num">{im.containers}</td>
    </tr>
  );
}

function useLoad<T>(fn: (s: AbortSignal) => Promise<T>): [T | null, string] {
  const { data, err } = usePolled(fn, 10000);
  return [data, err];
}

/** The error or the loading line while a tab's data is not there; null once it is. */
function pending(v: unknown, err: string) {
  if (err) return <ErrorBox error={err} />;
  if (!v) return <div class="loading-panel">Loading…</div>;
  return null;
}

function ImagesTab() {
  const [ims, err] = useLoad(vulnImages);
  if (!ims || err) return pending(ims, err);
  if (!ims.length) return <Empty title="No images">No running containers have been listed yet.</Empty>;
  return (
    <div class="panel table-panel">
      <ImageTable id="vuln-images" images={ims} />
    </div>
  );
}

function WorkloadsTab() {
  const [wls, err] = useLoad(vulnWorkloads);
  if (!wls || err) return pending(wls, err);
  if (!wls.length) return <Empty title="No workloads">No running containers have been listed yet.</Empty>;
  const sorted = [...wls].sort((a, b) => weight(b) - weight(a) || a.namespace.localeCompare(b.namespace) || a.name.localeCompare(b.name));
  return (
    <div class="panel table-panel">
      <table class="table" id="vuln-workloads">
        <thead>
          <tr>
            <th>Namespace</th>
            <th>Workload</th>
            <th>Containers</th>
            <th class="num">Images</th>
            <CountHeads />
            <th class="num">Fixable</th>
          </tr>
        </thead>
        <tbody>
          {sorted.map((w) => (
            <tr key={`${w.namespace}/${w.kind}/${w.name}`} data-workload={`${w.namespace}/${w.kind}/${w.name}`}>
              <td>
                <Link href={`/security?tab=containers&namespace=${encodeURIComponent(w.namespace)}`}>{w.namespace}</Link>
              </td>
              <td>
                <span class="muted">{w.kind}/</span>
                {w.name}
                {w.pending > 0 && <span class="badge badge-muted"> {w.pending} pending</span>}
              </td>
              <td class="mono">{w.containers.join(', ')}</td>
              <td class="num">{w.images}</td>
              <CountCells counts={w.vulns} />
              <td class="num">{w.fixable}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

function weight(w: { vulns: Workload['vulns'] }): number {
  const c = w.vulns;
  return c.critical * 100 + c.high * 10 + c.medium + c.low * 0.1 + c.unknown * 0.5;
}

function ContainersTab(props: { namespace: string }) {
  const [rows, err] = useLoad(vulnContainers);
  if (!rows || err) return pending(rows, err);
  const namespaces = [...new Set(rows.map((r) => r.namespace))].sort();
  const shown = props.namespace ? rows.filter((r) => r.namespace === props.namespace) : rows;
  return (
    <div class="panel table-panel">
      <div class="panel-head vuln-filter">
        <label>
          Namespace{' '}
          <select
            id="vuln-ns-filter"
            value={props.namespace}
            onChange={(e) => {
              const v = (e.currentTarget as HTMLSelectElement).value;
              navigate(`/security?tab=containers${v ? `&namespace=${encodeURIComponent(v)}` : ''}`);
            }}
          >
            <option value="">all</option>
            {namespaces.map((n) => (
              <option key={n} value={n}>
                {n}
              </option>
            ))}
          </select>
        </label>
        <span class="muted">{shown.length} containers</span>
      </div>
      <table class="table" id="vuln-containers">
        <thead>
          <tr>
            <th>Namespace</th>
            <th>Workload</th>
            <th>Pod / container</th>
            <th>Image</th>
            <CountHeads />
            <th class="num">Fixable</th>
          </tr>
        </thead>
        <tbody>
          {shown.map((c) => (
            <tr key={`${c.namespace}/${c.pod}/${c.container}`} data-container={`${c.namespace}/${c.pod}/${c.container}`}>
              <td>{c.namespace}</td>
              <td>
                <span class="muted">{c.kind}/</span>
                {c.workload}
              </td>
              <td class="mono">
                {c.pod} / {c.container}
              </td>
              <td class="mono">
                {c.digest && !c.digest.startsWith('unresolved:') ? (
                  <Link href={`/security/images/${encodeURIComponent(c.digest)}`}>{c.image}</Link>
                ) : (
                  <span title={c.error}>{c.image}</span>
                )}
                {c.status !== 'done' && <span class={`badge ${c.status === 'error' ? 'badge-crit' : 'badge-muted'}`}> {c.status}</span>}
              </td>
              <CountCells counts={c.vulns} />
              <td class="num">{c.fixable}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

interface MapData {
  containers: ContainerRow[];
  compliance: ComplianceWorkload[] | null;
}

async function loadMap(signal: AbortSignal): Promise<MapData> {
  const [containers, compliance] = await Promise.all([vulnContainers(signal), complianceWorkloads(signal)]);
  return { containers, compliance };
}

function MapTab() {
  const [data, err] = useLoad(loadMap);
  if (!data || err) return pending(data, err);
  if (!data.containers.length) return <Empty title="Nothing to map">No running containers have been listed yet.</Empty>;
  const comp = new Map<string, ComplianceWorkload>();
  for (const c of data.compliance ?? []) comp.set(`${c.namespace}/${c.kind}/${c.name}`, c);
  const byNs = new Map<string, Map<string, ContainerRow[]>>();
  for (const c of data.containers) {
    const wk = `${c.kind}/${c.workload}`;
    if (!byNs.has(c.namespace)) byNs.set(c.namespace, new Map());
    const m = byNs.get(c.namespace)!;
    if (!m.has(wk)) m.set(wk, []);
    m.get(wk)!.push(c);
  }
  return (
    <>
      <div class="vuln-legend" id="vuln-map-legend">
        <span>Risk:</span>
        {(['critical', 'high', 'medium', 'low', 'unknown', 'clean'] as const).map((s) => (
          <span key={s} class={`vuln-legend-item risk-${s}`}>
            {s === 'unknown' ? 'unrated only' : s}
          </span>
        ))}
        <span class="muted">
          {data.compliance === null
            ? '· compliance results are not available on this server'
            : `· includes failed compliance controls of ${data.compliance.length} workloads`}
        </span>
      </div>
      <div class="vuln-map" id="vuln-map">
        {[...byNs.entries()]
          .sort((a, b) => a[0].localeCompare(b[0]))
          .map(([ns, wls]) => {
            const nsCounts = sum([...wls.values()].flat().map((c) => c.vulns));
            let nsComp: ComplianceWorkload['failed'] = { critical: 0, high: 0, medium: 0, low: 0 };
            for (const wk of wls.keys()) {
              const f = comp.get(`${ns}/${wk}`)?.failed;
              if (f) nsComp = { critical: nsComp.critical + f.critical, high: nsComp.high + f.high, medium: nsComp.medium + f.medium, low: nsComp.low + f.low };
            }
            return (
              <div class={`vuln-ns risk-${riskLevel(nsCounts, nsComp)}`} key={ns} data-namespace={ns}>
                <div class="vuln-ns-head">
                  <Link href={`/security?tab=containers&namespace=${encodeURIComponent(ns)}`}>{ns}</Link>
                  <SevBar counts={nsCounts} />
                </div>
                <div class="vuln-wls">
                  {[...wls.entries()]
                    .sort((a, b) => a[0].localeCompare(b[0]))
                    .map(([wk, cs]) => {
                      const c = comp.get(`${ns}/${wk}`);
                      const uniq = new Map<string, ContainerRow>();
                      for (const x of cs) uniq.set(x.container, x);
                      const counts = sum([...new Map(cs.map((x) => [x.digest, x.vulns])).values()]);
                      const lvl = riskLevel(counts, c?.failed);
                      const failed = c ? c.failed.critical + c.failed.high + c.failed.medium + c.failed.low : 0;
                      return (
                        <div class={`vuln-wl risk-${lvl}`} key={wk} data-workload={`${ns}/${wk}`} data-risk={lvl} title={`${wk}: ${describe(counts)}${c ? `; ${failed} failed controls` : ''}`}>
                          <div class="vuln-wl-name">{wk.split('/')[1]}</div>
                          <div class="vuln-wl-kind muted">
                            {wk.split('/')[0]} · {new Set(cs.map((x) => x.pod)).size} pods
                          </div>
                          <div class="vuln-ctrs">
                            {[...uniq.values()].map((x) => (
                              <Link
                                key={x.container}
                                href={x.digest && !x.digest.startsWith('unresolved:') ? `/security/images/${encodeURIComponent(x.digest)}` : '/security?tab=containers'}
                                class={`vuln-ctr risk-${riskLevel(x.vulns)}`}
                                title={`${x.container}: ${x.image} — ${describe(x.vulns)}`}
                              >
                                {x.container}
                              </Link>
                            ))}
                          </div>
                          <div class="vuln-wl-counts">
                            {counts.critical > 0 && <span class="sevtext-critical">{counts.critical}C </span>}
                            {counts.high > 0 && <span class="sevtext-high">{counts.high}H </span>}
                            {counts.medium > 0 && <span class="sevtext-medium">{counts.medium}M </span>}
                            {counts.low + counts.unknown > 0 && <span class="muted">{counts.low + counts.unknown} other </span>}
                            {failed > 0 && <span class="vuln-comp" title="failed compliance controls">⚑ {failed}</span>}
                          </div>
                        </div>
                      );
                    })}
                </div>
              </div>
            );
          })}
      </div>
    </>
  );
}

function sum(cs: ContainerRow['vulns'][]): ContainerRow['vulns'] {
  const t = { critical: 0, high: 0, medium: 0, low: 0, unknown: 0 };
  for (const c of cs) {
    t.critical += c.critical;
    t.high += c.high;
    t.medium += c.medium;
    t.low += c.low;
    t.unknown += c.unknown;
  }
  return t;
}

function describe(c: ContainerRow['vulns']): string {
  return `${c.critical} critical, ${c.high} high, ${c.medium} medium, ${c.low} low, ${c.unknown} unrated`;
}

function ImportPanel(props: { onDone: () => void }) {
  const [msg, setMsg] = useState('');
  const [err, setErr] = useState('');
  const [busy, setBusy] = useState(false);
  const upload = async (f: File) => {
    setBusy(true);
    setErr('');
    setMsg('');
    try {
      const res = await fetch('/api/vulns/db/import', {
        method: 'POST',
        body: f,
        credentials: 'same-origin',
        headers: { 'Content-Type': 'application/zip', 'X-CSRF-Token': csrfToken(), Accept: 'application/json' },
      });
      const j = await res.json().catch(() => ({}));
      if (!res.ok) throw new ApiError(res.status, j.error ?? `${res.status} ${res.statusText}`);
      setMsg(`Imported: ${Object.entries(j.ecosystems ?? {}).map(([k, v]) => `${k} ${(v as { records: number }).records}`).join(', ')}`);
      props.onDone();
    } catch (e) {
      setErr(errText(e));
    } finally {
      setBusy(false);
    }
  };
  return (
    <div class="panel vuln-import">
      <div class="panel-head">
        <h2>Offline database bundle</h2>
        <p class="muted">
          Upload an OSV archive (<code>all.zip</code> of one ecosystem) for sites without access to a mirror. Images are matched again when it loads.
        </p>
      </div>
      <div class="pad">
        <input
          type="file"
          accept=".zip"
          id="vuln-import-file"
          disabled={busy}
          onChange={(e) => {
            const f = (e.currentTarget as HTMLInputElement).files?.[0];
            if (f) upload(f);
          }}
        />
        {msg && <span class="ok-text"> {msg}</span>}
        {err && <span class="error-text"> {err}</span>}
      </div>
    </div>
  );
}
