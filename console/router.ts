// Pages by path under /console, with the History API. Links marked data-link stay in the page.
export const BASE = '/console';

export interface Route {
  page:
    | 'keys'
    | 'key'
    | 'scopes'
    | 'webhooks'
    | 'webhook'
    | 'sign-in'
    | 'setup'
    | 'not-found'
    | 'users'
    | 'user'
    | 'account'
    | 'accounts'
    | 'audit'
    | 'two-factor';
  params: Record<string, string>;
  query: URLSearchParams;
}

export function match(location: Location): Route {
  const path = location.pathname.replace(/\/+$/, '') || '/';
  const query = new URLSearchParams(location.search);
  const rest = path === BASE ? '/' : path.startsWith(`${BASE}/`) ? path.slice(BASE.length) : null;
  if (rest === '/' || rest === '/keys') return { page: 'keys', params: {}, query };
  if (rest === '/sign-in') return { page: 'sign-in', params: {}, query };
  if (rest === '/setup') return { page: 'setup', params: {}, query };
  if (rest === '/scopes') return { page: 'scopes', params: {}, query };
  if (rest === '/account/two-factor') return { page: 'two-factor', params: {}, query };
  const key = rest?.match(/^\/keys\/([^/]+)$/);
  if (key) return { page: 'key', params: { id: decodeURIComponent(key[1]!) }, query };
  if (rest === '/webhooks') return { page: 'webhooks', params: {}, query };
  const webhook = rest?.match(/^\/webhooks\/([^/]+)$/);
  if (webhook) return { page: 'webhook', params: { id: decodeURIComponent(webhook[1]!) }, query };
  if (rest === '/users') return { page: 'users', params: {}, query };
  const user = rest?.match(/^\/users\/([^/]+)$/);
  if (user) return { page: 'user', params: { id: decodeURIComponent(user[1]!) }, query };
  if (rest === '/account') return { page: 'account', params: {}, query };
  if (rest === '/accounts') return { page: 'accounts', params: {}, query };
  if (rest === '/audit') return { page: 'audit', params: {}, query };
  return { page: 'not-found', params: {}, query };
}

let render: () => void = () => {};

export function startRouter(onChange: () => void): void {
  render = onChange;
  window.addEventListener('popstate', () => render());
  document.addEventListener('click', (event) => {
    const link = (event.target as Element | null)?.closest?.('a[data-link]');
    if (!(link instanceof HTMLAnchorElement) || event.ctrlKey || event.metaKey || event.shiftKey || event.button !== 0) return;
    event.preventDefault();
    navigate(link.getAttribute('href')!);
  });
  render();
}

export function navigate(href: string, options: { replace?: boolean } = {}): void {
  if (options.replace) history.replaceState(null, '', href);
  else history.pushState(null, '', href);
  render();
}

/** Rewrites the query of the current page without a new history entry and without rendering. */
export function replaceQuery(query: URLSearchParams): void {
  const text = query.toString();
  history.replaceState(null, '', `${location.pathname}${text ? `?${text}` : ''}`);
}
