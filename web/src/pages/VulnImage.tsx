// One image: packages, layers, findings with remediation, and where it runs.
import { useMemo, useState } from 'preact/hooks';
import { SevBadge, SevCard } from '../components/severity';
import { usePolled } from '../components/usePolled';
import { Empty, ErrorBox, Link, PageHeader } from '../components/ui';
import { fmtAgo, fmtCount } from '../format';
import { SEVERITIES, shortDigest, vulnImage, type Severity } from './VulnApi';
import './Vuln.css';

export function VulnImagePage(props: { digest: string }) {
  const { data: d, err, load } = usePolled((signal) => vulnImage(props.digest, signal), 0, [props.digest]);
  const [sev, setSev] = useState<Severity | ''>('');
  const [pkgFilter, setPkgFilter] = useState('');
  const [allPkgs, setAllPkgs] = useState(false);
  const [allFindings, setAllFindings] = useState(false);

  const rep = d?.report;
  const findings = useMemo(() => (rep?.findings ?? []).filter((f) => !sev || f.severity === sev), [rep, sev]);
  const pkgs = useMemo(() => {
    const q = pkgFilter.toLowerCase();
    return (rep?.packages ?? []).filter((p) => !q || p.name.toLowerCase().includes(q) || p.type.includes(q));
  }, [rep, pkgFilter]);
  const layerCounts = useMemo(() => {
    const m = new Map<number, { pkgs: number; findings: number }>();
    for (const p of rep?.packages ?? []) {
      const x = m.get(p.layer) ?? { pkgs: 0, findings: 0 };
      x.pkgs++;
      m.set(p.layer, x);
    }
    for (const f of rep?.findings ?? []) {
      const x = m.get(f.layer) ?? { pkgs: 0, findings: 0 };
      x.findings++;
      m.set(f.layer, x);
    }
    return m;
  }, [rep]);

  if (err) return <div class="page"><ErrorBox error={err} onRetry={load} /></div>;
  if (!d) return <div class="page"><div class="loading-panel">Loading…</div></div>;
  const im = d.image;
  return (
    <div class="page vuln-page" id="vuln-image-page">
      <div class="crumbs">
        <Link href="/security">Security</Link>
        <span>/</span>
        <Link href="/security?tab=images">Images</Link>
      </div>
      <PageHeader
        title={<span class="mono" id="vuln-image-ref">{im.ref.replace(/@sha256:[0-9a-f]+$/, '')}</span>}
        subtitle={
          <span class="mono">
            {im.digest} {im.os ? `· ${im.os}` : ''} {im.scannedAt ? `· scanned ${fmtAgo(im.scannedAt)}` : ''}
            {rep ? ` · ${fmtCount(rep.packages.length)} packages · ${rep.durationMs} ms` : ''}
          </span>
        }
      />
      {im.status !== 'done' && (
        <div class={`alert ${im.status === 'error' ? 'alert-error' : 'alert-warn'}`}>
          {im.status === 'error' ? `Scan failed: ${im.error}` : `This image is ${im.status}.`}
        </div>
      )}
      {rep?.warnings?.map((w) => (
        <div class="alert alert-warn" key={w}>
          {w}
        </div>
      ))}
      {rep && (
        <>
          <div class="cards vuln-cards" id="vuln-image-counts">
            {SEVERITIES.map((s) => (
              <SevCard key={s} sev={s} class="vuln-card" dataSev={s} value={rep.counts[s]} selected={sev === s} onClick={() => setSev(sev === s ? '' : s)} />
            ))}
            <SevCard class="vuln-card" label="Fix available" value={im.fixable} foot={`runs in ${d.containers.length} containers`} />
          </div>

          <h2 class="section-title">Remediation, step by step</h2>
          {rep.remediations.length === 0 ? (
            <Empty title="Nothing to fix" />
          ) : (
            <ol class="vuln-steps panel" id="vuln-remediation">
              {rep.remediations.map((r, i) => (
                <li key={i} data-package={r.package}>
                  <SevBadge severity={r.severity} /> <span>{r.text}</span>
                  {r.command && <pre class="vuln-cmd">{r.command}</pre>}
                </li>
              ))}
            </ol>
          )}

          <h2 class="section-title">Findings {sev && `(${sev})`}</h2>
          <div class="panel table-panel">
            <table class="table" id="vuln-findings">
              <thead>
                <tr>
                  <th>Advisory</th>
                  <th>Severity</th>
                  <th>Package</th>
                  <th>Installed</th>
                  <th>Fixed</th>
                  <th class="num">Layer</th>
                  <th>Remediation</th>
                </tr>
              </thead>
              <tbody>
                {(allFindings ? findings : findings.slice(0, 25)).map((f) => (
                  <tr key={`${f.id}/${f.package}/${f.path}`} data-id={f.id}>
                    <td>
                      <a href={f.url} target="_blank" rel="noopener noreferrer" class="mono">
                        {f.id}
                      </a>
                      {f.aliases?.length ? <div class="muted mono vuln-summary">{f.aliases.slice(0, 2).join(' ')}</div> : null}
                      <div class="muted vuln-summary">{f.summary}</div>
                    </td>
                    <td>
                      <SevBadge severity={f.severity} score={f.score} />
                    </td>
                    <td class="mono">
                      {f.package}
                      <div class="muted">{f.type}</div>
                    </td>
                    <td class="mono">{f.version}</td>
                    <td class="mono">{f.fixed || <span class="muted">none yet</span>}</td>
                    <td class="num">
                      {f.layer}
                      {f.baseLayer && <div class="badge badge-muted">base</div>}
                    </td>
                    <td class="vuln-rem">{f.remediation}</td>
                  </tr>
                ))}
              </tbody>
            </table>
            {findings.length > 25 && !allFindings && (
              <div class="pad">
                <button type="button" class="btn btn-small" id="vuln-findings-all" onClick={() => setAllFindings(true)}>
                  Show all {findings.length} findings
                </button>
              </div>
            )}
          </div>

          <h2 class="section-title">Layers</h2>
          <div class="panel table-panel">
            <table class="table" id="vuln-layers">
              <thead>
                <tr>
                  <th class="num">#</th>
                  <th>Created by</th>
                  <th>Diff ID</th>
                  <th class="num">Packages</th>
                  <th class="num">Findings</th>
                </tr>
              </thead>
              <tbody>
                {(rep.layers ?? []).map((l) => (
                  <tr key={l.index} data-layer={l.index}>
                    <td class="num">{l.index}</td>
                    <td class="mono vuln-cmdcell">
                      {l.command || <span class="muted">—</span>} {l.base && <span class="badge badge-muted">base image</span>}
                      {l.empty && <span class="badge badge-muted">no files</span>}
                    </td>
                    <td class="mono muted">{l.diffID ? shortDigest(l.diffID) : ''}</td>
                    <td class="num">{layerCounts.get(l.index)?.pkgs ?? 0}</td>
                    <td class="num">{layerCounts.get(l.index)?.findings ?? 0}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>

          <h2 class="section-title">Where it runs</h2>
          <div class="panel table-panel">
            {d.containers.length === 0 ? (
              <Empty title="Not running now" />
            ) : (
              <table class="table" id="vuln-image-containers">
                <thead>
                  <tr>
                    <th>Namespace</th>
                    <th>Workload</th>
                    <th>Pod</th>
                    <th>Container</th>
                    <th>Node</th>
                  </tr>
                </thead>
                <tbody>
                  {d.containers.map((c) => (
                    <tr key={`${c.namespace}/${c.pod}/${c.container}`}>
                      <td>{c.namespace}</td>
                      <td>
                        <span class="muted">{c.kind}/</span>
                        {c.workload}
                      </td>
                      <td class="mono">{c.pod}</td>
                      <td class="mono">{c.container}</td>
                      <td class="mono">{c.node}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            )}
          </div>

          <h2 class="section-title">Packages ({fmtCount(rep.packages.length)})</h2>
          <div class="panel table-panel">
            <div class="panel-head vuln-filter">
              <input class="input input-search" id="vuln-pkg-filter" placeholder="Filter packages" value={pkgFilter} onInput={(e) => setPkgFilter((e.currentTarget as HTMLInputElement).value)} />
              <span class="muted">{pkgs.length} shown</span>
            </div>
            <table class="table" id="vuln-packages">
              <thead>
                <tr>
                  <th>Package</th>
                  <th>Version</th>
                  <th>Type</th>
                  <th>Source</th>
                  <th>Path</th>
                  <th class="num">Layer</th>
                </tr>
              </thead>
              <tbody>
                {pkgs.slice(0, allPkgs ? 2000 : pkgFilter ? 200 : 20).map((p) => (
                  <tr key={`${p.type}/${p.name}/${p.version}/${p.path}`}>
                    <td class="mono">{p.name}</td>
                    <td class="mono">{p.version}</td>
                    <td>{p.type}</td>
                    <td class="mono muted">{p.sourceName}</td>
                    <td class="mono muted">{p.path}</td>
                    <td class="num">{p.layer}</td>
                  </tr>
                ))}
              </tbody>
            </table>
            {!allPkgs && pkgs.length > (pkgFilter ? 200 : 20) && (
              <div class="pad">
                <button type="button" class="btn btn-small" id="vuln-packages-all" onClick={() => setAllPkgs(true)}>
                  Show all {fmtCount(pkgs.length)} packages
                </button>
              </div>
            )}
          </div>
        </>
      )}
    </div>
  );
}
