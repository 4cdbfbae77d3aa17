// Namespaces → workloads → pods → containers, coloured by health; services
// drawn with the workloads they select. Every tile links to its detail page.
import { useState } from 'preact/hooks';
import { clusterMap, nsHref, podHref, workloadHref, type Health } from '../cluster';
import { CLUSTER_TABS, HealthDot, Tabs } from '../components/cluster';
import { ErrorBox, Link, PageHeader } from '../components/ui';
import { usePolled } from '../components/usePolled';
import '../cluster.css';

const HEALTHS: Health[] = ['critical', 'warning', 'unknown', 'ok'];

export function ClusterMapPage(props: { query: URLSearchParams }) {
  const { data, err: error, load } = usePolled(clusterMap, 5_000);
  const [filter, setFilter] = useState(props.query.get('q') ?? '');
  const [only, setOnly] = useState(props.query.get('health') ?? '');

  const f = filter.trim().toLowerCase();
  const shown = (data ?? [])
    .map((ns) => ({
      ...ns,
      workloads: ns.workloads.filter(
        (w) =>
          (!only || w.health === only || w.podViews.some((p) => p.health === only)) &&
          (!f || ns.name.includes(f) || w.name.toLowerCase().includes(f) || w.podViews.some((p) => p.name.includes(f))),
      ),
    }))
    .filter((ns) => ns.workloads.length > 0 || (!f && !only));
  const counts: Record<string, number> = {};
  for (const ns of data ?? []) for (const w of ns.workloads) for (const p of w.podViews) counts[p.health] = (counts[p.health] ?? 0) + 1;

  return (
    <div class="page">
      <PageHeader title="Kubernetes" subtitle="Namespaces, workloads, pods and containers by health">
        <input
          class="input input-search"
          id="map-filter"
          type="search"
          placeholder="Filter namespaces, workloads, pods"
          value={filter}
          onInput={(e) => setFilter((e.currentTarget as HTMLInputElement).value)}
        />
      </PageHeader>
      <Tabs items={CLUSTER_TABS} current="/cluster/map" />
      <ErrorBox error={error} onRetry={() => load()} />
      <div class="k-filters" id="map-legend">
        <button type="button" class={`btn btn-small${only === '' ? ' btn-primary' : ''}`} onClick={() => setOnly('')}>
          All pods
        </button>
        {HEALTHS.map((h) => (
          <button type="button" key={h} data-health={h} class={`btn btn-small${only === h ? ' btn-primary' : ''}`} onClick={() => setOnly(only === h ? '' : h)}>
            <HealthDot health={h} /> {h} <b class="map-count" data-health={h}>{counts[h] ?? 0}</b>
          </button>
        ))}
      </div>
      {data === null && !error && <div class="panel loading-panel">Loading the cluster map…</div>}
      <div class="map" id="cluster-map">
        {shown.map((ns) => (
          <section class="map-ns" key={ns.name} data-ns={ns.name} data-health={ns.health}>
            <div class="map-ns-head">
              <HealthDot health={ns.health} />
              <Link href={nsHref(ns.name)}>{ns.name}</Link>
              <span class="muted small">
                {ns.workloads.length} workloads · {ns.workloads.reduce((a, w) => a + w.podViews.length, 0)} pods
              </span>
            </div>
            <div class="map-workloads">
              {ns.workloads.map((w) => (
                <div class={`map-workload h-${w.health}`} key={w.kind + w.name} data-workload={`${w.kind}/${w.name}`} data-health={w.health}>
                  <div class="map-workload-head">
                    <Link href={workloadHref(ns.name, w.kind, w.name)}>{w.name}</Link>
                    <span class="muted">{w.kind}</span>
                    <span class="muted">
                      {w.ready}/{w.desired}
                    </span>
                  </div>
                  <div class="map-pods">
                    {w.podViews.map((p) => (
                      <Link
                        key={p.name}
                        href={podHref(ns.name, p.name)}
                        class={`map-pod h-${p.health}`}
                        title={`${p.name} · ${p.status} · ${p.node || 'unscheduled'}`}
                      >
                        <span data-pod={p.name} data-health={p.health} class="map-pod-id" />
                        {p.containers.map((c) => (
                          <span key={c.name} class={`map-ctr h-${c.health}`} title={`${c.name}: ${c.state}${c.reason ? ' (' + c.reason + ')' : ''}`} />
                        ))}
                      </Link>
                    ))}
                  </div>
                </div>
              ))}
            </div>
            {ns.services.length > 0 && (
              <div class="map-services">
                {ns.services.map((s) => (
                  <span class="map-service" key={s.name} data-service={s.name} title={`${s.type} ${s.clusterIP ?? ''} ${(s.ports ?? []).join(' ')}`}>
                    svc/{s.name} → {s.workloads.length ? s.workloads.join(', ') : 'no pods'}
                  </span>
                ))}
              </div>
            )}
          </section>
        ))}
      </div>
    </div>
  );
}
