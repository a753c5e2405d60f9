// The header's account switcher: which account the session works in ("Acme › Child A"), a menu of
// the user's own tenant and every account below it, and a way back home. Only admins and
// managers switch; everyone sees which account is active. Switching re-reads the session and
// starts again on the API keys page, since the page shown belonged to the other account.
import { describeError } from '../api.ts';
import { h, toast, uid } from '../dom.ts';
import { navigate } from '../router.ts';
import { canSwitchAccounts, currentAccount, currentUser, switchAccount, switchableAccounts } from '../session.ts';
import type { SwitchableAccount } from '../types.ts';

const SEPARATOR = ' › ';

export function accountSwitcher(): HTMLElement | null {
  const user = currentUser();
  const account = currentAccount();
  if (!user) return null;
  const path = account?.path ?? [{ id: user.tenant_id, name: user.tenant_name ?? '' }];
  const label = h(
    'span',
    { class: 'active-account', 'data-active-account': path.at(-1)!.id },
    h('span', { class: 'visually-hidden' }, 'Account: '),
    path.flatMap((step, index) => [
      index > 0 ? h('span', { class: 'account-sep', 'aria-hidden': 'true' }, SEPARATOR.trim()) : null,
      h('span', { class: index === 0 ? 'tenant-name' : 'account-step' }, step.name),
    ]),
  );
  const box = h('div', { class: 'account-switcher' }, label);
  if (!canSwitchAccounts()) return box;

  const menuId = uid('accounts-menu');
  const toggle = h('button', { type: 'button', class: 'button small', 'aria-expanded': 'false', 'aria-controls': menuId }, 'Switch account');
  const menu = h('div', { class: 'account-menu', id: menuId, hidden: true });
  box.append(toggle, menu);
  if (path.length > 1) {
    const back = h('button', { type: 'button', class: 'button small back-home' }, `Back to ${path[0]!.name}`);
    back.addEventListener('click', () => void choose(null, path[0]!.name));
    box.append(back);
  }

  const close = (focusToggle = false) => {
    menu.hidden = true;
    toggle.setAttribute('aria-expanded', 'false');
    document.removeEventListener('click', outside);
    if (focusToggle) toggle.focus();
  };
  const outside = (event: Event) => {
    if (!box.contains(event.target as Node)) close();
  };
  box.addEventListener('keydown', (event) => {
    if (event.key === 'Escape' && !menu.hidden) close(true);
  });

  async function choose(tenantId: string | null, name: string): Promise<void> {
    try {
      await switchAccount(tenantId);
      close();
      toast(`Working in ${name}`);
      navigate('/console/');
    } catch (error) {
      toast(describeError(error), 'error');
    }
  }

  function item(target: SwitchableAccount): HTMLElement {
    const active = target.id === path.at(-1)!.id;
    const text = target.path.map((step) => step.name).join(SEPARATOR);
    const button = h(
      'button',
      {
        type: 'button',
        class: 'account-option',
        'data-account-id': target.id,
        'aria-current': active ? 'true' : null,
        disabled: target.status !== 'active',
      },
      text,
      target.status === 'active' ? null : h('span', { class: 'muted' }, ' (disabled)'),
    );
    button.addEventListener('click', () => void choose(target.id === path[0]!.id ? null : target.id, target.name));
    return h('li', {}, button);
  }

  toggle.addEventListener('click', async () => {
    if (!menu.hidden) return close();
    menu.hidden = false;
    toggle.setAttribute('aria-expanded', 'true');
    menu.replaceChildren(h('p', { class: 'muted' }, 'Loading…'));
    setTimeout(() => document.addEventListener('click', outside));
    try {
      const accounts = await switchableAccounts();
      menu.replaceChildren(
        h('p', { class: 'account-menu-title', id: `${menuId}-title` }, 'Work in account'),
        h('ul', { 'aria-labelledby': `${menuId}-title` }, accounts.map(item)),
      );
      menu.querySelector<HTMLButtonElement>('button[aria-current="true"], button:not([disabled])')?.focus();
    } catch (error) {
      menu.replaceChildren(h('p', { class: 'form-error', role: 'alert' }, describeError(error)));
    }
  });
  return box;
}
