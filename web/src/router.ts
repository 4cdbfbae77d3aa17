// A tiny history-API router: the server answers every client-side route with
// index.html, so plain paths work on reload.
import { useEffect, useState } from 'preact/hooks';

export interface Location {
  path: string;
  query: URLSearchParams;
}

function current(): Location {
  return { path: window.location.pathname || '/', query: new URLSearchParams(window.location.search) };
}

const listeners = new Set<() => void>();

function notify() {
  for (const l of listeners) l();
}

window.addEventListener('popstate', notify);

export function navigate(to: string, replace = false) {
  const here = window.location.pathname + window.location.search;
  if (to === here) return;
  if (replace) window.history.replaceState(null, '', to);
  else window.history.pushState(null, '', to);
  window.scrollTo(0, 0);
  notify();
}

export function useLocation(): Location {
  const [loc, setLoc] = useState(current);
  useEffect(() => {
    const l = () => setLoc(current());
    listeners.add(l);
    return () => {
      listeners.delete(l);
    };
  }, []);
  return loc;
}

/** Click handler for <a href> that routes in-app for plain left clicks. */
export function linkClick(e: MouseEvent) {
  if (e.defaultPrevented || e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey) return;
  const a = (e.currentTarget as HTMLElement).closest('a');
  if (!a || a.target || a.origin !== window.location.origin) return;
  e.preventDefault();
  navigate(a.pathname + a.search);
}
