// The page header: where you are, who you are (user and role), and sign-out.
import { h } from '../dom.ts';
import { navigate } from '../router.ts';
import { canManageWebhooks, canReadAudit, currentUser, signOut } from '../session.ts';

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
  target.replaceChildren(
    h('a', { class: 'brand', href: '/console/', 'data-link': true }, 'Keygate'),
    h(
      'nav',
      { 'aria-label': 'Main' },
      link('/console/', 'API keys', 'keys'),
      link('/console/scopes', 'Scope catalogue', 'scopes'),
      canManageWebhooks() ? link('/console/webhooks', 'Webhooks', 'webhooks') : null,
      canReadAudit() ? link('/console/audit', 'Audit', 'audit') : null,
    ),
    h(
      'div',
      { class: 'whoami' },
      h('span', { class: 'user-email' }, user.email),
      h('span', { class: `badge role role-${user.role}`, 'data-role': user.role }, user.role),
      user.tenant_name ? h('span', { class: 'muted tenant-name' }, user.tenant_name) : null,
      signOutButton,
    ),
  );
}
