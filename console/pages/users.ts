// Users: the people of the signed-in admin's tenant (email, name, role, status, how many user keys
// act for them, last sign-in), Invite, which creates a user and shows their set-up link once, and
// on each row Change role, Disable / Enable and Delete (the same dialogs as the user's page).
import { describeError, get } from '../api.ts';
import { confirmDelete, confirmStatusChange, openInviteDialog, openRoleDialog } from '../components/user-dialogs.ts';
import { h, toast } from '../dom.ts';
import { dateTime } from '../format.ts';
import { activeTenantId, currentUser } from '../session.ts';
import type { ListedUser } from '../types.ts';

export async function usersPage(main: HTMLElement): Promise<void> {
  const errorLine = h('p', { class: 'form-error', role: 'alert' });
  const list = h('div', { class: 'table-wrap' }, h('p', { class: 'muted' }, 'Loading…'));
  const invite = h('button', { type: 'button', class: 'button primary' }, 'Invite user');
  invite.addEventListener('click', () => openInviteDialog(() => void usersPage(main)));
  main.replaceChildren(h('div', { class: 'page-head' }, h('h1', {}, 'Users'), h('div', { class: 'actions' }, invite)), errorLine, list);
  const reload = (message: string) => () => {
    toast(message);
    void usersPage(main);
  };
  const rowButton = (label: string, user: ListedUser, work: () => Promise<void> | void, tone = '') => {
    const button = h('button', { type: 'button', class: `button small ${tone}`.trim(), 'aria-label': `${label}: ${user.email}` }, label);
    button.addEventListener('click', () => {
      errorLine.textContent = '';
      Promise.resolve()
        .then(work)
        .catch((error) => (errorLine.textContent = describeError(error)));
    });
    return button;
  };
  let users: ListedUser[];
  try {
    users = (await get<{ data: ListedUser[] }>('/admin/v1/users', { tenant_id: activeTenantId() })).data;
  } catch (error) {
    list.replaceChildren();
    errorLine.textContent = describeError(error);
    return;
  }
  list.replaceChildren(
    h(
      'table',
      { class: 'stacked users-table' },
      h('caption', { class: 'visually-hidden' }, 'Users'),
      h('thead', {}, h('tr', {}, ...['Email', 'Name', 'Role', 'Status', 'Keys', 'Last sign-in', 'Actions'].map((t) => h('th', { scope: 'col' }, t)))),
      h(
        'tbody',
        {},
        ...users.map((user) =>
          h(
            'tr',
            { 'data-user-id': user.id },
            h('td', { 'data-label': 'Email' }, h('a', { href: `/console/users/${encodeURIComponent(user.id)}`, 'data-link': true }, user.email)),
            h('td', { 'data-label': 'Name' }, user.name ?? '—'),
            h('td', { 'data-label': 'Role' }, h('span', { class: `badge role role-${user.role}` }, user.role)),
            h('td', { 'data-label': 'Status' }, userStatus(user)),
            h('td', { 'data-label': 'Keys' }, String(user.key_count ?? 0)),
            h('td', { 'data-label': 'Last sign-in' }, user.last_sign_in_at ? dateTime(user.last_sign_in_at) : 'Never'),
            // Your own row offers no Disable or Delete, where one slip locks you out; My account is yours.
            user.id === currentUser()!.id
              ? h('td', { 'data-label': 'Actions' }, h('a', { href: '/console/account', 'data-link': true }, 'My account'))
              : h(
                  'td',
                  { 'data-label': 'Actions', class: 'row-actions' },
                  rowButton('Role', user, () => openRoleDialog(user, reload('Role changed'))),
                  rowButton(user.status === 'active' ? 'Disable' : 'Enable', user, () =>
                    confirmStatusChange(user, reload(user.status === 'active' ? 'User disabled' : 'User enabled')),
                  ),
                  rowButton('Delete', user, () => confirmDelete(user, reload(`Deleted ${user.email}`)), 'danger'),
                ),
          ),
        ),
      ),
    ),
  );
}

export function userStatus(user: ListedUser): HTMLElement {
  if (user.status !== 'active') return h('span', { class: 'badge badge-disabled' }, 'disabled');
  return user.has_password ? h('span', { class: 'badge badge-active' }, 'active') : h('span', { class: 'badge badge-invited' }, 'invited');
}
