// Start: find the session, then render the page the address names. Pages needing a session send
// the visitor to sign in; an ended session (401 on any call) does the same.
import { whenConflict, whenUnauthorized } from './api.ts';
import { renderHeader } from './components/header.ts';
import { h, toast } from './dom.ts';
import { keyPage } from './pages/key.ts';
import { keysPage } from './pages/keys.ts';
import { scopesPage } from './pages/scopes.ts';
import { setupPage } from './pages/setup.ts';
import { signInPage } from './pages/sign-in.ts';
import { webhookPage } from './pages/webhook.ts';
import { webhooksPage } from './pages/webhooks.ts';
import { accountsPage } from './pages/accounts.ts';
import { auditPage } from './pages/audit.ts';
import { match, navigate, startRouter } from './router.ts';
import { accountPage } from './pages/account.ts';
import { userPage } from './pages/user.ts';
import { usersPage } from './pages/users.ts';
import { currentAccount, currentUser, forget, loadSession, mustEnrolTwoFactor } from './session.ts';
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

// Another tab switched the session's account: this page's calls are refused, so it follows.
whenConflict(async () => {
  const shown = currentAccount()?.id;
  await loadSession();
  if (movedAway(shown)) navigate('/console/', { replace: true });
});

/** Whether the session now works in another account than the page showed; if so, says so. */
function movedAway(shown: string | undefined): boolean {
  const now = currentAccount();
  if (shown === undefined || !now || now.id === shown) return false;
  for (const dialog of document.querySelectorAll('dialog')) dialog.remove();
  toast(`This session now works in ${now.name} (switched in another tab)`, 'error');
  return true;
}

async function render(): Promise<void> {
  const route = match(location);
  // Read again on every page: a role changed meanwhile shows at the next click, not the next reload.
  if (!sessionChecked || currentUser()) {
    sessionChecked = true;
    const shown = currentAccount()?.id;
    await loadSession();
    if (movedAway(shown) && route.page !== 'keys') return navigate('/console/', { replace: true });
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
  renderHeader(header, route.page === 'webhook' ? 'webhooks' : route.page === 'user' ? 'users' : route.page);
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
    case 'users':
      document.title = 'Users · Keygate';
      return usersPage(main);
    case 'user':
      document.title = 'User · Keygate';
      return userPage(main, route.params.id!);
    case 'account':
      document.title = 'My account · Keygate';
      return accountPage(main);
    case 'accounts':
      document.title = 'Accounts · Keygate';
      return accountsPage(main);
    case 'audit':
      document.title = 'Audit log · Keygate';
      return auditPage(main, route.query);
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
