// A tiny history router: the app has two screens, "/" (Join) and
// "/chat?name=..&room=.." (Chat), as the original client had.
import { useEffect, useState } from 'react';

function current() {
  return { path: window.location.pathname, params: new URLSearchParams(window.location.search) };
}

/** Goes to `to` (a path with an optional query) without reloading the page. */
export function navigate(to, { replace = false } = {}) {
  if (replace) window.history.replaceState(null, '', to);
  else window.history.pushState(null, '', to);
  window.dispatchEvent(new PopStateEvent('popstate'));
}

/** The current location, updated on navigate() and on back/forward. */
export function useLocation() {
  const [loc, setLoc] = useState(current);
  useEffect(() => {
    const update = () => setLoc(current());
    window.addEventListener('popstate', update);
    return () => window.removeEventListener('popstate', update);
  }, []);
  return loc;
}

/** Builds "/path?k=v&..." from an object, skipping empty values. */
export function href(path, query = {}) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(query)) if (v) q.set(k, v);
  const s = q.toString();
  return s ? `${path}?${s}` : path;
}

/** An <a> that navigates in-app on a plain left click. */
export function Link({ to, onClick, ...rest }) {
  return (
    <a
      href={to}
      onClick={(e) => {
        onClick?.(e);
        if (e.defaultPrevented || e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey) return;
        e.preventDefault();
        navigate(to);
      }}
      {...rest}
    />
  );
}
