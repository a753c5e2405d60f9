// The page header: where you are, who you are (user and role), and sign-out.
import { h } from '../dom.ts';
import { navigate } from '../router.ts';
import { canManageAccounts, canManageUsers, canManageWebhooks, canReadAudit, currentUser, mustEnrolTwoFactor, signOut } from '../session.ts';
import { accountSwitcher } from './account-switcher.ts';

export function renderHeader(target: HTMLElement, active: string): void {
  const user = currentUser();
  if (!user) {
    target.replaceChildren(h('span', { class: 'brand' }, 'Keygate'));
    return;
  }
  const signOutButton = h('button', { type: 'button', class: 'button small' }, 'Sign out');
  signOutButton.addEventListener('click', async () => {
    await signOut().catch(() => {});
    navigate('/console/sign-in');
  });
  const link = (href: string, label: string, page: string) => h('a', { href, 'data-link': true, 'aria-current': active === page ? 'page' : null }, label);
  // A session limited to two-factor enrolment reaches no other page: the header offers none.
  const limited = mustEnrolTwoFactor();
  target.replaceChildren(
    h('a', { class: 'brand', href: '/console/', 'data-link': true }, 'Keygate'),
    h(
      'nav',
      { 'aria-label': 'Main' },
      ...(limited
        ? [link('/console/account/two-factor', 'Two-factor', 'two-factor')]
        : [
            link('/console/', 'API keys', 'keys'),
            link('/console/scopes', 'Scope catalogue', 'scopes'),
            canManageWebhooks() ? link('/console/webhooks', 'Webhooks', 'webhooks') : null,
            canManageUsers() ? link('/console/users', 'Users', 'users') : null,
            canManageAccounts() ? link('/console/accounts', 'Accounts', 'accounts') : null,
            canReadAudit() ? link('/console/audit', 'Audit', 'audit') : null,
          ]),
    ),
    h(
      'div',
      { class: 'whoami' },
      h(
        'a',
        { class: 'user-email', href: '/console/account', 'data-link': true, 'aria-current': active === 'account' ? 'page' : null, title: 'My account' },
        user.email,
      ),
      h('span', { class: `badge role role-${user.role}`, 'data-role': user.role }, user.role),
      accountSwitcher(),
      signOutButton,
    ),
  );
}
