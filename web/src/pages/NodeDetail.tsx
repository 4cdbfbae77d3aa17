import { useCallback, useEffect, useMemo, useState } from 'preact/hooks';
import { ApiError, errText, getNode, isAbort, type Node } from '../api';
import { Chart, type ChartQuery } from '../components/Chart';
import { ErrorBox, Link, PageHeader, RangePicker, RefreshPicker } from '../components/ui';
import { ProcessTable } from '../components/ProcessTable';
import { fmtAgo, fmtBytes, fmtCores, fmtDateTime } from '../format';
import { navigate } from '../router';
import { nowSec, rangeByKey, REFRESH_OPTIONS, useInterval, useTick } from '../time';
import { ReadyBadge, Sources } from './Infrastructure';

const STEPS = [15, 30, 60, 120, 300, 600, 900, 1800, 3600];

/** Query step for a range: at most ~300 points, on a round interval. */
export function stepFor(rangeSeconds: number): number {
  const want = rangeSeconds / 300;
  return STEPS.find((s) => s >= want) ?? STEPS[STEPS.length - 1];
}

/** A PromQL / LogsQL double-quoted string literal. */
export const quote = (s: string) => JSON.stringify(s);

const NET_EXCLUDE = 'lo|veth.*|cali.*|lxc.*|cilium_.*|flannel.*|cni.*|docker.*|br-.*|tunl.*|vxlan.*|kube-ipvs.*';
const FS_EXCLUDE = 'tmpfs|devtmpfs|overlay|squashfs|nsfs|ramfs|autofs|proc|sysfs|cgroup2?|fuse\\..*|tracefs|debugfs';

export function nodeQueries(name: string, window: number, cpuMode: 'mode' | 'total') {
  const sel = `node=${quote(name)}`;
  const w = `${window}s`;
  const cpu: ChartQuery[] =
    cpuMode === 'mode'
      ? [{ expr: `100 * avg by (mode) (rate(node_cpu_seconds_total{${sel},mode!="idle"}[${w}]))`, label: (m) => m.mode ?? 'cpu' }]
      : [{ expr: `100 * (1 - avg(rate(node_cpu_seconds_total{${sel},mode="idle"}[${w}])))`, label: () => 'total' }];
  const fsSel = `${sel},fstype!~${quote(FS_EXCLUDE)}`;
  const netSel = `${sel},device!~${quote(NET_EXCLUDE)}`;
  return {
    cpu,
    memory: [
      { expr: `max(node_memory_MemTotal_bytes{${sel}} - node_memory_MemAvailable_bytes{${sel}})`, label: () => 'used' },
      { expr: `max(node_memory_MemTotal_bytes{${sel}})`, label: () => 'total' },
    ] as ChartQuery[],
    load: [
      { expr: `max(node_load1{${sel}})`, label: () => 'load1' },
      { expr: `max(node_load5{${sel}})`, label: () => 'load5' },
      { expr: `max(node_load15{${sel}})`, label: () => 'load15' },
    ] as ChartQuery[],
    network: [
      {
        expr: `sum by (device) (rate(node_network_receive_bytes_total{${netSel}}[${w}]))`,
        label: (m: Record<string, string>) => `receive ${m.device ?? ''}`.trim(),
      },
      {
        expr: `sum by (device) (rate(node_network_transmit_bytes_total{${netSel}}[${w}]))`,
        label: (m: Record<string, string>) => `transmit ${m.device ?? ''}`.trim(),
      },
    ] as ChartQuery[],
    disk: [
      {
        expr: `sum by (device) (rate(node_disk_read_bytes_total{${sel}}[${w}]))`,
        label: (m: Record<string, string>) => `read ${m.device ?? ''}`.trim(),
      },
      {
        expr: `sum by (device) (rate(node_disk_written_bytes_total{${sel}}[${w}]))`,
        label: (m: Record<string, string>) => `write ${m.device ?? ''}`.trim(),
      },
    ] as ChartQuery[],
    filesystem: [
      {
        expr: `max by (mountpoint) (100 * (1 - node_filesystem_avail_bytes{${fsSel}} / node_filesystem_size_bytes{${fsSel}}))`,
        label: (m: Record<string, string>) => m.mountpoint ?? 'filesystem',
      },
    ] as ChartQuery[],
  };
}

export function NodeDetailPage(props: { name: string; query: URLSearchParams }) {
  const { name } = props;
  const rangeKey = rangeByKey(props.query.get('range')).key;
  const refreshKey = REFRESH_OPTIONS.find((o) => o.key === props.query.get('refresh'))?.key ?? '30s';
  const cpuMode = props.query.get('cpu') === 'total' ? 'total' : 'mode';
  const [node, setNode] = useState<Node | null>(null);
  const [nodeError, setNodeError] = useState('');
  const [end, setEnd] = useState(nowSec);
  useTick(15_000);

  const setParam = (k: string, v: string, dflt: string) => {
    const q = new URLSearchParams(props.query);
    if (v === dflt) q.delete(k);
    else q.set(k, v);
    const s = q.toString();
    navigate(`/infrastructure/${encodeURIComponent(name)}${s ? `?${s}` : ''}`, true);
  };

  const loadNode = useCallback(
    (signal?: AbortSignal) => {
      getNode(name, signal)
        .then((n) => {
          setNode(n);
          setNodeError('');
        })
        .catch((e) => {
          if (isAbort(e)) return;
          setNodeError(e instanceof ApiError && e.status === 404 ? `Node “${name}” is not known to the inventory.` : errText(e));
        });
    },
    [name],
  );

  useEffect(() => {
    const ac = new AbortController();
    loadNode(ac.signal);
    return () => ac.abort();
  }, [loadNode]);

  const refresh = useCallback(() => {
    setEnd(nowSec());
    loadNode();
  }, [loadNode]);
  useInterval(refresh, REFRESH_OPTIONS.find((o) => o.key === refreshKey)?.ms ?? 0);
  useEffect(() => setEnd(nowSec()), [rangeKey]);

  const range = rangeByKey(rangeKey).seconds;
  const step = stepFor(range);
  const start = end - range;
  const q = useMemo(() => nodeQueries(name, Math.max(120, step * 2), cpuMode), [name, step, cpuMode]);
  const common = { start, end, step, syncKey: `node:${name}` };
  const labels = Object.entries(node?.labels ?? {}).sort(([a], [b]) => a.localeCompare(b));
  const logsHref = `/logs?query=${encodeURIComponent(`node:=${quote(name)}`)}&range=${rangeKey}`;

  return (
    <div class="page">
      <div class="crumbs">
        <Link href="/infrastructure">Infrastructure</Link>
        <span>/</span>
        <span>{name}</span>
      </div>
      <PageHeader title={<span id="node-name">{name}</span>}>
        <Link href={logsHref} class="btn" id="node-logs-link">
          View logs
        </Link>
        <RangePicker value={rangeKey} onChange={(k) => setParam('range', k, '1h')} id="range-picker" />
        <RefreshPicker value={refreshKey} onChange={(k) => setParam('refresh', k, '30s')} onRefresh={refresh} />
      </PageHeader>
      <ErrorBox error={nodeError} />
      {node && (
        <div class="panel node-facts">
          <dl class="facts">
            <div>
              <dt>Status</dt>
              <dd>
                <ReadyBadge ready={node.ready} />
              </dd>
            </div>
            <div>
              <dt>Source</dt>
              <dd>
                <Sources source={node.source} />
              </dd>
            </div>
            <div>
              <dt>CPU cores</dt>
              <dd>{fmtCores(node.cpuCores)}</dd>
            </div>
            <div>
              <dt>Memory</dt>
              <dd>{node.memoryBytes ? fmtBytes(node.memoryBytes) : '—'}</dd>
            </div>
            {node.zone && (
              <div>
                <dt>Zone</dt>
                <dd>{node.zone}</dd>
              </div>
            )}
            <div>
              <dt>Last seen</dt>
              <dd title={fmtDateTime(node.lastSeen)}>{fmtAgo(node.lastSeen)}</dd>
            </div>
          </dl>
          <div class="labels" id="node-labels">
            {labels.length === 0 && <span class="muted">No labels</span>}
            {labels.map(([k, v]) => (
              <span class="label-chip" key={k} title={`${k}=${v}`}>
                <span class="lk">{k}</span>
                {v !== '' && <span class="lv">{v}</span>}
              </span>
            ))}
          </div>
        </div>
      )}
      <div class="charts">
        <Chart
          title="CPU usage"
          queries={q.cpu}
          unit="percent"
          {...common}
          yMax={cpuMode === 'total' ? 100 : undefined}
          extra={
            <div class="segmented segmented-small" role="group" aria-label="CPU breakdown">
              <button type="button" class={cpuMode === 'mode' ? 'active' : ''} onClick={() => setParam('cpu', 'mode', 'mode')}>
                by mode
              </button>
              <button type="button" class={cpuMode === 'total' ? 'active' : ''} onClick={() => setParam('cpu', 'total', 'mode')}>
                total
              </button>
            </div>
          }
        />
        <Chart title="Memory" queries={q.memory} unit="bytes" {...common} />
        <Chart title="Network" queries={q.network} unit="bytesRate" {...common} />
        <Chart title="Disk I/O" queries={q.disk} unit="bytesRate" {...common} />
        <Chart title="Filesystem usage" queries={q.filesystem} unit="percent" yMax={100} {...common} />
        <Chart title="Load average" queries={q.load} unit="number" {...common} />
      </div>
      <ProcessTable node={name} reload={end} />
    </div>
  );
}
