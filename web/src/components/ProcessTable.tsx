import { useEffect, useState } from 'preact/hooks';
import { errText, getNodeProcesses, isAbort, type NodeProcessList } from '../api';
import { fmtAgo, fmtBytes, fmtDateTime } from '../format';
import { ErrorBox, Link } from './ui';

const quote = (s: string) => JSON.stringify(s);

/** A node's top processes (by CPU or memory) at a point in time, from the agent's process series. */
export function ProcessTable(props: { node: string; time?: number; reload: number }) {
  const { node, time, reload } = props;
  const [sort, setSort] = useState<'cpu' | 'memory'>('cpu');
  const [data, setData] = useState<NodeProcessList | null>(null);
  const [error, setError] = useState('');

  useEffect(() => {
    const ac = new AbortController();
    getNodeProcesses(node, { time, sort, limit: 25 }, ac.signal)
      .then((d) => {
        setData(d);
        setError('');
      })
      .catch((e) => {
        if (!isAbort(e)) setError(errText(e));
      });
    return () => ac.abort();
  }, [node, time, sort, reload]);

  const procs = data?.processes ?? [];
  return (
    <div class="panel table-panel" id="node-processes" style={{ marginTop: '16px' }}>
      <div class="panel-head process-head" style={{ display: 'flex', justifyContent: 'space-between', alignItems: 'flex-start', gap: '12px' }}>
        <div>
          <h2>Top processes</h2>
          <p class="muted" id="node-processes-info">
            {data?.collectedAt ? (
              <span title={fmtDateTime(data.collectedAt)}>sampled {fmtAgo(data.collectedAt)}</span>
            ) : (
              'no process samples from this node yet (the agent reports them every 15 s)'
            )}
          </p>
        </div>
        <div class="segmented segmented-small" role="group" aria-label="Sort processes" id="node-processes-sort">
          <button type="button" data-sort="cpu" class={sort === 'cpu' ? 'active' : ''} onClick={() => setSort('cpu')}>
            by CPU
          </button>
          <button type="button" data-sort="memory" class={sort === 'memory' ? 'active' : ''} onClick={() => setSort('memory')}>
            by memory
          </button>
        </div>
      </div>
      <ErrorBox error={error} />
      {procs.length > 0 && (
        <table class="table" id="node-process-table">
          <thead>
            <tr>
              <th class="num">PID</th>
              <th>Command</th>
              <th>User</th>
              <th class="num">CPU %</th>
              <th class="num">Memory</th>
              <th class="num">Mem %</th>
              <th>Pod / container</th>
            </tr>
          </thead>
          <tbody>
            {procs.map((p) => (
              <tr key={`${p.pid}:${p.command}`} class="process-row" data-pid={String(p.pid)} data-command={p.command}>
                <td class="num">{p.pid}</td>
                <td class="process-cmd" title={p.args || p.command}>
                  <div style={{ maxWidth: '440px', overflow: 'hidden', textOverflow: 'ellipsis', whiteSpace: 'nowrap' }}>
                    <span class="name">{p.command}</span>
                    {p.args && p.args !== p.command && <span class="muted process-args">{`  ${p.args}`}</span>}
                  </div>
                </td>
                <td class="process-user">{p.user}</td>
                <td class="num process-cpu">{p.cpuPercent.toFixed(1)}</td>
                <td class="num process-mem">{fmtBytes(p.memoryBytes)}</td>
                <td class="num">{p.memoryPercent == null ? '—' : p.memoryPercent.toFixed(1)}</td>
                <td class="process-owner">
                  {p.pod && p.namespace ? (
                    <>
                      <Link href={`/cluster/pods/${encodeURIComponent(p.namespace)}/${encodeURIComponent(p.pod)}`} class="process-pod">
                        {p.namespace}/{p.pod}
                      </Link>
                      {p.container && (
                        <>
                          {' / '}
                          <Link
                            class="process-container"
                            href={`/logs?query=${encodeURIComponent(`namespace:=${quote(p.namespace)} pod:=${quote(p.pod)} container:=${quote(p.container)}`)}`}
                            title="container logs"
                          >
                            {p.container}
                          </Link>
                        </>
                      )}
                    </>
                  ) : p.containerId ? (
                    <span class="muted" title={p.containerId}>
                      container {p.containerId.slice(0, 12)}
                    </span>
                  ) : (
                    <span class="muted">host</span>
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </div>
  );
}
