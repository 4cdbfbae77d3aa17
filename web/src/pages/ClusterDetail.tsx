// Detail pages for a namespace, a workload and a pod (with its containers):
// usage charts, status, labels, the pods they hold, recent events, log links.
import type { ComponentChildren } from 'preact';
import { useState } from 'preact/hooks';
import {
  logsHref,
  namespaceDetail,
  nsHref,
  podDetail,
  podHref,
  workloadDetail,
  workloadHref,
  type NamespaceDetail,
  type PodDetail,
  type Health,
  type PodView,
  type VEvent,
  type WorkloadDetail,
} from '../cluster';
import { Chart, type ChartQuery } from '../components/Chart';
import { EventList, HealthBadge, HealthDot, Labels } from '../components/cluster';
import { ErrorBox, Link, PageHeader, RangePicker } from '../components/ui';
import { usePolled } from '../components/usePolled';
import { fmtAgo, fmtDateTime } from '../format';
import { nowSec, rangeByKey } from '../time';
import { quote, stepFor } from './NodeDetail';
import '../cluster.css';

/** CPU, memory, network and restarts charts for a set of pods. */
function UsageCharts(props: { sel: string; byContainer?: boolean; range: string; namespace?: string }) {
  const r = rangeByKey(props.range);
  const end = nowSec();
  const start = end - r.seconds;
  const step = stepFor(r.seconds);
  const w = `${Math.max(step * 2, 60)}s`;
  const by = props.byContainer ? 'container' : 'pod';
  const lab = (m: Record<string, string>) => m[by] ?? 'total';
  const sel = `${props.sel},container!=""`;
  const q = (expr: string): ChartQuery[] => [{ expr, label: lab }];
  return (
    <div class="charts">
      <Chart title="CPU (cores)" unit="number" start={start} end={end} step={step} syncKey="detail" markers={{ namespace: props.namespace }}
        queries={q(`sum by (${by}) (rate(container_cpu_usage_seconds_total{${sel}}[${w}]))`)} />
      <Chart title="Memory working set" unit="bytes" start={start} end={end} step={step} syncKey="detail" markers={{ namespace: props.namespace }}
        queries={q(`sum by (${by}) (container_memory_working_set_bytes{${sel}})`)} />
      <Chart title="Network" unit="bytesRate" start={start} end={end} step={step} syncKey="detail"
        queries={[
          { expr: `sum(rate(container_network_receive_bytes_total{${props.sel}}[${w}]))`, label: () => 'receive' },
          { expr: `sum(rate(container_network_transmit_bytes_total{${props.sel}}[${w}]))`, label: () => 'transmit' },
        ]} />
      <Chart title="Restarts" unit="number" start={start} end={end} step={step} syncKey="detail"
        queries={q(`sum by (${by}) (kube_pod_container_status_restarts_total{${props.sel}})`)} />
    </div>
  );
}

const podsRegex = (pods: string[]) => pods.map((p) => p.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')).join('|') || '^$';

function PodTable(props: { pods: PodView[]; id: string }) {
  if (!props.pods.length) return <div class="muted small">No pods.</div>;
  return (
    <table class="table" id={props.id}>
      <thead>
        <tr>
          <th>Pod</th>
          <th>Status</th>
          <th>Ready</th>
          <th class="num">Restarts</th>
          <th>Node</th>
          <th>Age</th>
        </tr>
      </thead>
      <tbody>
        {props.pods.map((p) => (
          <tr key={p.name} class="pod-row" data-pod={p.name} data-health={p.health}>
            <td>
              <HealthDot health={p.health} /> <Link href={podHref(p.namespace, p.name)}>{p.name}</Link>
            </td>
            <td>{p.status}</td>
            <td>
              {p.readyContainers}/{p.containers.length}
            </td>
            <td class="num">{p.restarts}</td>
            <td>{p.node ? <Link href={`/infrastructure/${encodeURIComponent(p.node)}`}>{p.node}</Link> : <span class="muted">—</span>}</td>
            <td title={fmtDateTime(p.created)}>{fmtAgo(p.created)}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

function Section(props: { title: ComponentChildren; children: ComponentChildren; id?: string }) {
  return (
    <div class="panel" id={props.id}>
      <div class="panel-head">
        <h2>{props.title}</h2>
      </div>
      {props.children}
    </div>
  );
}

function PodsSection(props: { pods: PodView[] }) {
  return (
    <Section title="Pods">
      <PodTable pods={props.pods} id="detail-pods" />
    </Section>
  );
}

function LabelsSection(props: { labels?: Record<string, string> }) {
  return (
    <Section title="Labels">
      <Labels labels={props.labels} id="detail-labels" />
    </Section>
  );
}

/**
 * The frame every detail page shares: the name, a health badge with a summary,
 * the Logs link and the range picker, errors, usage charts, the page's own
 * sections and the recent events last.
 */
function DetailFrame<T extends { health: Health; events: VEvent[] }>(props: {
  title: ComponentChildren;
  detail: { data: T | null; err: string; load: () => void };
  summary: (d: T) => string;
  logs: string;
  query: URLSearchParams;
  charts: (range: string, data: T | null) => ComponentChildren;
  children: (d: T) => ComponentChildren;
}) {
  const [range, setRange] = useState(props.query.get('range') ?? '1h');
  const { data, err, load } = props.detail;
  return (
    <div class="page">
      <PageHeader title={<span id="detail-name">{props.title}</span>} subtitle={data && <HealthBadge health={data.health}>{props.summary(data)}</HealthBadge>}>
        <Link href={props.logs} id="detail-logs-link" class="btn">
          Logs
        </Link>
        <RangePicker value={range} onChange={setRange} id="range-picker" />
      </PageHeader>
      <ErrorBox error={err} onRetry={() => load()} />
      {props.charts(range, data)}
      {data && (
        <>
          {props.children(data)}
          <Section title="Recent events (24 h)">
            <EventList events={data.events} id="detail-events" />
          </Section>
        </>
      )}
    </div>
  );
}

export function NamespacePage(props: { name: string; query: URLSearchParams }) {
  const detail = usePolled<NamespaceDetail>((s) => namespaceDetail(props.name, s), 10_000, [props.name]);
  return (
    <DetailFrame
      title={`Namespace ${props.name}`}
      detail={detail}
      summary={(d) => `${d.phase} · ${d.pods} pods · ${d.workloads} workloads`}
      logs={logsHref({ namespace: props.name })}
      query={props.query}
      charts={(range) => <UsageCharts sel={`namespace=${quote(props.name)}`} range={range} namespace={props.name} />}
    >
      {(data) => (
        <>
          <Section title="Workloads">
            <table class="table" id="detail-workloads">
              <tbody>
                {data.workloadList.map((w) => (
                  <tr key={w.kind + w.name} class="workload-row" data-workload={`${w.kind}/${w.name}`}>
                    <td>
                      <HealthDot health={w.health} /> <Link href={workloadHref(w.namespace, w.kind, w.name)}>{w.name}</Link>
                    </td>
                    <td class="muted">{w.kind}</td>
                    <td>
                      {w.ready}/{w.desired} ready
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </Section>
          <PodsSection pods={data.podList} />
          <div class="grid-2">
            <LabelsSection labels={data.labels} />
            <Section title="Services">
              {data.services.length ? (
                <ul class="small">
                  {data.services.map((s) => (
                    <li key={s.name}>
                      svc/{s.name} ({s.type}) → {s.workloads.join(', ') || 'no pods'}
                    </li>
                  ))}
                </ul>
              ) : (
                <span class="muted">none</span>
              )}
            </Section>
          </div>
        </>
      )}
    </DetailFrame>
  );
}

export function WorkloadPage(props: { ns: string; kind: string; name: string; query: URLSearchParams }) {
  const detail = usePolled<WorkloadDetail>((s) => workloadDetail(props.ns, props.kind, props.name, s), 10_000, [props.ns, props.kind, props.name]);
  return (
    <DetailFrame
      title={
        <>
          {props.kind} <Link href={nsHref(props.ns)}>{props.ns}</Link>/{props.name}
        </>
      }
      detail={detail}
      summary={(d) => `${d.ready}/${d.desired} ready · ${d.available} available`}
      logs={logsHref({ namespace: props.ns, workload: props.name })}
      query={props.query}
      charts={(range, data) =>
        data && <UsageCharts sel={`namespace=${quote(props.ns)},pod=~${quote(podsRegex(data.pods))}`} range={range} namespace={props.ns} />
      }
    >
      {(data) => (
        <>
          <PodsSection pods={data.podList} />
          <div class="grid-2">
            <LabelsSection labels={data.labels} />
            <Section title="Selector">
              <Labels labels={data.selector} />
            </Section>
          </div>
        </>
      )}
    </DetailFrame>
  );
}

export function PodPage(props: { ns: string; name: string; query: URLSearchParams }) {
  const detail = usePolled<PodDetail>((s) => podDetail(props.ns, props.name, s), 10_000, [props.ns, props.name]);
  return (
    <DetailFrame
      title={
        <>
          Pod <Link href={nsHref(props.ns)}>{props.ns}</Link>/{props.name}
        </>
      }
      detail={detail}
      summary={(d) => `${d.status} · ${d.readyContainers}/${d.containers.length} ready · ${d.restarts} restarts`}
      logs={logsHref({ namespace: props.ns, pod: props.name })}
      query={props.query}
      charts={(range) => <UsageCharts sel={`namespace=${quote(props.ns)},pod=${quote(props.name)}`} byContainer range={range} namespace={props.ns} />}
    >
      {(data) => (
        <>
          <div class="grid-2">
            <Section title="Status">
              <dl class="kv" id="detail-status">
                <dt>Phase</dt>
                <dd>{data.phase}</dd>
                <dt>Node</dt>
                <dd>{data.node ? <Link href={`/infrastructure/${encodeURIComponent(data.node)}`}>{data.node}</Link> : 'unscheduled'}</dd>
                <dt>Workload</dt>
                <dd>{data.workload ? <Link href={workloadHref(data.namespace, data.workloadKind ?? '', data.workload)}>{`${data.workloadKind}/${data.workload}`}</Link> : '—'}</dd>
                <dt>IP</dt>
                <dd>{data.ip || '—'}</dd>
                <dt>Created</dt>
                <dd>{fmtDateTime(data.created)}</dd>
              </dl>
            </Section>
            <LabelsSection labels={data.labels} />
          </div>
          <Section title="Containers" id="detail-containers">
            <table class="table">
              <thead>
                <tr>
                  <th>Container</th>
                  <th>Image</th>
                  <th>State</th>
                  <th class="num">Restarts</th>
                  <th>Started</th>
                  <th />
                </tr>
              </thead>
              <tbody>
                {data.containers.map((c) => (
                  <tr key={c.name} class="container-row" data-container={c.name} data-health={c.health}>
                    <td>
                      <HealthDot health={c.health} /> {c.name}
                    </td>
                    <td class="small">{c.image}</td>
                    <td>
                      {c.state}
                      {c.reason ? ` (${c.reason})` : ''}
                      {c.ready ? '' : ' · not ready'}
                    </td>
                    <td class="num">{c.restarts}</td>
                    <td>{c.startedAt ? fmtAgo(c.startedAt) : '—'}</td>
                    <td>
                      <Link href={logsHref({ namespace: c.namespace, pod: c.pod, container: c.name })}>logs</Link>
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </Section>
        </>
      )}
    </DetailFrame>
  );
}
