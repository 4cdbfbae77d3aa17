import { useCallback, useEffect, useState } from 'preact/hooks';
import { errText, logout, me, setCsrf, setUnauthorizedHandler, type Session } from './api';
import { Link } from './components/ui';
import { Icon, type IconName } from './components/icons';
import { navigate, useLocation } from './router';
import { LoginPage } from './pages/Login';
import { OverviewPage } from './pages/Overview';
import { InfrastructurePage } from './pages/Infrastructure';
import { NodeDetailPage } from './pages/NodeDetail';
import { LogsPage } from './pages/Logs';
import { LogAuditPage } from './pages/LogAudit';
import { LogDetailPage } from './pages/LogDetail';
import { LogTailPage } from './pages/LogTail';
import { LogVolumePage } from './pages/LogVolumePage';
import { PatternsPage } from './pages/Patterns';
import { SettingsPage } from './pages/Settings';
import { AutomationPage } from './pages/Automation';
import { ClusterMapPage } from './pages/ClusterMap';
import { ResourcesPage } from './pages/Resources';
import { ContainersPage } from './pages/Containers';
import { EventsPage } from './pages/Events';
import { NamespacePage, PodPage, WorkloadPage } from './pages/ClusterDetail';
import { ComingNext, COMING } from './pages/ComingNext';
import { SecurityPage } from './pages/Security';
import { CompliancePage } from './pages/Compliance';
import { VulnImagePage } from './pages/VulnImage';
import { MonitorsRoute } from './pages/Monitors';

interface NavItem {
  path: string;
  label: string;
  icon: IconName;
}

const NAV: NavItem[] = [
  { path: '/', label: 'Overview', icon: 'overview' },
  { path: '/infrastructure', label: 'Infrastructure', icon: 'server' },
  { path: '/cluster', label: 'Kubernetes', icon: 'overview' },
  { path: '/logs', label: 'Logs', icon: 'logs' },
  { path: '/monitors', label: 'Monitors', icon: 'bell' },
  { path: '/security', label: 'Security', icon: 'shield' },
  { path: '/events', label: 'Events', icon: 'events' },
  { path: '/automation', label: 'Automation', icon: 'automation' },
  { path: '/settings', label: 'Settings', icon: 'settings' },
];

function active(item: NavItem, path: string): boolean {
  if (item.path === '/') return path === '/';
  return path === item.path || path.startsWith(item.path + '/');
}

function loginTarget(): string {
  const here = window.location.pathname + window.location.search;
  // Several requests may fail at once: keep the first "next".
  return here.startsWith('/login') ? here : `/login?next=${encodeURIComponent(here)}`;
}

export function App() {
  const loc = useLocation();
  const [session, setSession] = useState<Session | null | undefined>(undefined);
  const [bootError, setBootError] = useState('');

  const check = useCallback(() => {
    setBootError('');
    me()
      .then((s) => setSession(s))
      .catch((e) => setBootError(errText(e)));
  }, []);

  useEffect(() => {
    setUnauthorizedHandler(() => {
      setCsrf('');
      setSession(null);
      navigate(loginTarget(), true);
    });
    check();
  }, [check]);

  // Keep the URL in step with the session.
  useEffect(() => {
    if (session === null && loc.path !== '/login') navigate(loginTarget(), true);
    if (session && loc.path === '/login') navigate(safeNext(loc.query.get('next')), true);
  }, [session, loc.path]);

  useEffect(() => {
    const item = NAV.find((n) => active(n, loc.path));
    document.title = session && item ? `${item.label} · vigil` : 'vigil';
  }, [loc.path, session]);

  if (session === undefined) {
    return (
      <div class="boot">
        {bootError ? (
          <div class="boot-error">
            <div>{bootError}</div>
            <button type="button" class="btn" onClick={check}>
              Retry
            </button>
          </div>
        ) : (
          <span class="spinner" aria-label="loading" />
        )}
      </div>
    );
  }

  if (session === null) {
    return <LoginPage onLogin={(s) => setSession(s)} />;
  }

  const onLogout = async () => {
    try {
      await logout();
    } catch {
      /* the session is dropped either way */
    }
    setSession(null);
    navigate('/login', true);
  };

  return (
    <div class="layout">
      <aside class="sidebar">
        <div class="sidebar-inner">
          <div class="brand">
            <svg viewBox="0 0 32 32" width="22" height="22" aria-hidden="true">
              <path d="M7 9l9 15 9-15" fill="none" stroke="#38bdf8" stroke-width="3.2" stroke-linecap="round" stroke-linejoin="round" />
              <circle cx="16" cy="9" r="2.4" fill="#38bdf8" />
            </svg>
            <span>vigil</span>
          </div>
          <nav class="nav" aria-label="Main">
            {NAV.map((n) => (
              <Link key={n.path} href={n.path} class={`nav-item${active(n, loc.path) ? ' active' : ''}`} id={`nav-${n.label.toLowerCase()}`}>
                <Icon name={n.icon} />
                <span>{n.label}</span>
              </Link>
            ))}
          </nav>
          <div class="sidebar-foot">
            <div class="user" title="Signed in">
              <Icon name="user" />
              <span id="current-user">{session.user}</span>
            </div>
            <button type="button" class="btn-link" id="logout" onClick={onLogout}>
              Sign out
            </button>
          </div>
        </div>
      </aside>
      <main class="content">
        <Route path={loc.path} query={loc.query} session={session} />
      </main>
    </div>
  );
}

function safeNext(next: string | null): string {
  if (!next || !next.startsWith('/') || next.startsWith('//') || next.startsWith('/login')) return '/';
  return next;
}

function Route(props: { path: string; query: URLSearchParams; session: Session }) {
  const p = props.path.replace(/\/+$/, '') || '/';
  if (p === '/' || p === '/login') return <OverviewPage />;
  if (p === '/infrastructure') return <InfrastructurePage />;
  if (p.startsWith('/infrastructure/')) {
    const name = decodeURIComponent(p.slice('/infrastructure/'.length));
    return <NodeDetailPage key={name} name={name} query={props.query} />;
  }
  if (p === '/logs') return <LogsPage query={props.query} />;
  if (p === '/logs/patterns') return <PatternsPage query={props.query} />;
  if (p === '/logs/tail') return <LogTailPage query={props.query} />;
  if (p === '/logs/detail') return <LogDetailPage query={props.query} />;
  if (p === '/logs/audit') return <LogAuditPage query={props.query} />;
  if (p === '/logs/volume') return <LogVolumePage query={props.query} />;
  if (p === '/cluster' || p === '/cluster/map') return <ClusterMapPage query={props.query} />;
  if (p === '/cluster/resources') return <ResourcesPage query={props.query} />;
  if (p === '/cluster/containers') return <ContainersPage query={props.query} />;
  if (p === '/events') return <EventsPage query={props.query} />;
  if (p === '/monitors' || p.startsWith('/monitors/')) return <MonitorsRoute path={p} query={props.query} />;
  {
    const seg = p.split('/').slice(1).map(decodeURIComponent);
    if (seg[0] === 'cluster' && seg[1] === 'namespaces' && seg.length === 3)
      return <NamespacePage key={p} name={seg[2]} query={props.query} />;
    if (seg[0] === 'cluster' && seg[1] === 'workloads' && seg.length === 5)
      return <WorkloadPage key={p} ns={seg[2]} kind={seg[3]} name={seg[4]} query={props.query} />;
    if (seg[0] === 'cluster' && seg[1] === 'pods' && seg.length === 4) return <PodPage key={p} ns={seg[2]} name={seg[3]} query={props.query} />;
  }
  if (p === '/settings') return <SettingsPage session={props.session} />;
  if (p === '/automation') return <AutomationPage />;
  if (p === '/security/compliance') return <CompliancePage query={props.query} />;
  if (p === '/security') return <SecurityPage query={props.query} />;
  if (p.startsWith('/security/images/')) {
    const digest = decodeURIComponent(p.slice('/security/images/'.length));
    return <VulnImagePage key={digest} digest={digest} />;
  }
  const coming = COMING[p.slice(1)];
  if (coming) return <ComingNext {...coming} />;
  return (
    <div class="page">
      <div class="empty">
        <div class="empty-title">Page not found</div>
        <div class="empty-text">
          <Link href="/">Back to the overview</Link>
        </div>
      </div>
    </div>
  );
}
