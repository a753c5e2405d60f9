// Start: find the session, then render the page the address names. Pages needing a session send
// the visitor to sign in; an ended session (401 on any call) does the same.
import { whenUnauthorized } from './api.ts';
import { renderHeader } from './components/header.ts';
import { h } from './dom.ts';
import { keyPage } from './pages/key.ts';
import { keysPage } from './pages/keys.ts';
import { scopesPage } from './pages/scopes.ts';
import { setupPage } from './pages/setup.ts';
import { signInPage } from './pages/sign-in.ts';
import { webhookPage } from './pages/webhook.ts';
import { webhooksPage } from './pages/webhooks.ts';
import { match, navigate, startRouter } from './router.ts';
import { currentUser, forget, loadSession, mustEnrolTwoFactor } from './session.ts';
import { twoFactorPage } from './pages/two-factor.ts';

const header = document.getElementById('top')!;
const main = document.getElementById('main')!;
let sessionChecked = false;
let endedNotice: string | undefined;

whenUnauthorized(() => {
  forget();
  endedNotice = 'Your session has ended. Sign in again.';
  for (const dialog of document.querySelectorAll('dialog')) dialog.remove();
  navigate('/console/sign-in', { replace: true });
});

async function render(): Promise<void> {
  const route = match(location);
  if (!sessionChecked) {
    sessionChecked = true;
    await loadSession();
  }
  const user = currentUser();
  if (route.page === 'setup') {
    renderHeader(header, '');
    setupPage(main);
    return;
  }
  if (route.page === 'sign-in') {
    if (user) return navigate('/console/', { replace: true });
    renderHeader(header, '');
    document.title = 'Sign in · Keygate';
    signInPage(main, endedNotice);
    endedNotice = undefined;
    return;
  }
  if (!user) return navigate('/console/sign-in', { replace: true });
  // The server refuses everything else to such a session; the console goes straight to enrolment.
  if (mustEnrolTwoFactor() && route.page !== 'two-factor') return navigate('/console/account/two-factor', { replace: true });
  renderHeader(header, route.page === 'webhook' ? 'webhooks' : route.page);
  switch (route.page) {
    case 'keys':
      document.title = 'API keys · Keygate';
      return keysPage(main, route.query);
    case 'key':
      document.title = 'API key · Keygate';
      return keyPage(main, route.params.id!);
    case 'scopes':
      document.title = 'Scope catalogue · Keygate';
      return scopesPage(main);
    case 'webhooks':
      document.title = 'Webhooks · Keygate';
      return webhooksPage(main);
    case 'webhook':
      document.title = 'Webhook · Keygate';
      return webhookPage(main, route.params.id!);
    case 'two-factor':
      document.title = 'Two-factor sign-in · Keygate';
      return twoFactorPage(main);
    default:
      document.title = 'Not found · Keygate';
      main.replaceChildren(
        h('div', { class: 'card' }, h('h1', {}, 'Page not found'), h('p', {}, h('a', { href: '/console/', 'data-link': true }, 'Back to the API keys'))),
      );
  }
}

startRouter(() => void render());
