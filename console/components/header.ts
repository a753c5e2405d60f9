// The page header: where you are, who you are (user and role), and sign-out.
import { h } from '../dom.ts';
import { navigate } from '../router.ts';
import { canManageWebhooks, currentUser, mustEnrolTwoFactor, signOut } from '../session.ts';

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
      limited ? null : link('/console/', 'API keys', 'keys'),
      limited ? null : link('/console/scopes', 'Scope catalogue', 'scopes'),
      !limited && canManageWebhooks() ? link('/console/webhooks', 'Webhooks', 'webhooks') : null,
      link('/console/account/two-factor', 'Two-factor', 'two-factor'),
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
