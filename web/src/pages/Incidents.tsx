import { useCallback, useEffect, useState } from 'preact/hooks';
import { errText } from '../api';
import { ErrorBox, Link, PageHeader } from '../components/ui';
import { navigate } from '../router';
import { listIncidents, type Incident } from './MonitorsApi';
import { IncidentTable } from './MonitorsDetail';

/** Every monitor's incidents, open first when filtered. */
export function IncidentsPage(props: { query: URLSearchParams }) {
  const open = props.query.get('open') === '1';
  const [list, setList] = useState<Incident[] | null>(null);
  const [error, setError] = useState('');
  const load = useCallback(() => {
    listIncidents({ open: open ? '1' : undefined })
      .then((l) => {
        setList(l);
        setError('');
      })
      .catch((e) => setError(errText(e)));
  }, [open]);
  useEffect(() => {
    load();
    const t = setInterval(load, 15000);
    return () => clearInterval(t);
  }, [load]);
  return (
    <div class="page">
      <PageHeader title="Incidents" subtitle={<Link href="/monitors">← Monitors</Link>}>
        <div class="segmented" role="group" aria-label="Which incidents">
          <button type="button" id="inc-all" class={open ? '' : 'active'} onClick={() => navigate('/monitors/incidents')}>
            All
          </button>
          <button type="button" id="inc-open" class={open ? 'active' : ''} onClick={() => navigate('/monitors/incidents?open=1')}>
            Open
          </button>
        </div>
      </PageHeader>
      <ErrorBox error={error} onRetry={load} />
      <div class="panel table-panel">{list === null && !error ? <div class="loading-panel">Loading…</div> : <IncidentTable incidents={list ?? []} id="incidents-list" showMonitor />}</div>
    </div>
  );
}
