// One user: who they are, their user keys and console sessions, and the changes an admin may make
// (role, disable / enable, delete, a new set-up link, end sessions). The server refuses what the
// signed-in person may not do (a stronger user, another tenant).
import { api, del, describeError, get } from '../api.ts';
import { confirmDialog } from '../components/dialog.ts';
import { keysTable, sessionsTable } from '../components/people-tables.ts';
import { confirmDelete, confirmStatusChange, newSetupLink, openRoleDialog } from '../components/user-dialogs.ts';
import { h, toast } from '../dom.ts';
import { dateTime } from '../format.ts';
import { navigate } from '../router.ts';
import type { ConsoleSessionInfo, KeyPage, ListedUser } from '../types.ts';
import { userStatus } from './users.ts';

export async function userPage(main: HTMLElement, id: string): Promise<void> {
  const path = `/admin/v1/users/${encodeURIComponent(id)}`;
  main.replaceChildren(h('p', { class: 'muted' }, 'Loading…'));
  let user: ListedUser;
  try {
    user = (await get<{ user: ListedUser }>(path)).user;
  } catch (error) {
    main.replaceChildren(
      h(
        'div',
        { class: 'card' },
        h('h1', {}, 'User not available'),
        h('p', { role: 'alert' }, describeError(error)),
        h('a', { href: '/console/users', 'data-link': true }, 'Back to the users'),
      ),
    );
    return;
  }
  const refresh = () => void userPage(main, id);
  const errorLine = h('p', { class: 'form-error', role: 'alert' });
  const attempt = (work: () => Promise<void>) => () => {
    errorLine.textContent = '';
    work().catch((error) => (errorLine.textContent = describeError(error)));
  };
  const button = (label: string, handler: () => void, tone = '') => {
    const b = h('button', { type: 'button', class: `button ${tone}`.trim() }, label);
    b.addEventListener('click', handler);
    return b;
  };
  const keys = h('div', {}, h('p', { class: 'muted' }, 'Loading…'));
  const sessions = h('div', {}, h('p', { class: 'muted' }, 'Loading…'));
  const endAll = button(
    'End all sessions',
    attempt(async () => {
      const yes = await confirmDialog({
        title: `End every session of ${user.email}?`,
        message: 'They are signed out everywhere now.',
        confirm: 'End sessions',
        danger: true,
      });
      if (!yes) return;
      const { ended } = await api<{ ended: number }>('DELETE', `${path}/sessions`);
      toast(ended === 1 ? '1 session ended' : `${ended} sessions ended`);
      refresh();
    }),
  );
  const row = (label: string, value: Node | string) => [h('dt', {}, label), h('dd', {}, value)];
  main.replaceChildren(
    h(
      'div',
      { class: 'page-head' },
      h('h1', {}, user.email),
      h(
        'div',
        { class: 'actions' },
        button('Change role', () => openRoleDialog(user, () => (toast('Role changed'), refresh()))),
        button(
          user.status === 'active' ? 'Disable' : 'Enable',
          attempt(() => confirmStatusChange(user, () => (toast(user.status === 'active' ? 'User disabled' : 'User enabled'), refresh()))),
        ),
        // A link is an invitation: once the person has set a password, the server refuses one.
        user.has_password
          ? null
          : button(
              'New set-up link',
              attempt(() => newSetupLink(user, refresh)),
            ),
        button(
          'Delete',
          attempt(() => confirmDelete(user, () => (toast(`Deleted ${user.email}`), navigate('/console/users')))),
          'danger',
        ),
      ),
    ),
    errorLine,
    h(
      'dl',
      { class: 'details' },
      ...row('Name', user.name ?? '—'),
      ...row('Role', h('span', { class: `badge role role-${user.role}` }, user.role)),
      ...row('Status', userStatus(user)),
      ...row('Last sign-in', user.last_sign_in_at ? dateTime(user.last_sign_in_at) : 'Never'),
      ...row('Created', dateTime(user.created_at)),
    ),
    h('section', { 'aria-labelledby': 'user-keys-title' }, h('h2', { id: 'user-keys-title' }, 'User keys'), keys),
    h(
      'section',
      { 'aria-labelledby': 'user-sessions-title' },
      h('div', { class: 'page-head' }, h('h2', { id: 'user-sessions-title' }, 'Console sessions'), endAll),
      sessions,
    ),
  );
  const [keyPage, sessionList] = await Promise.allSettled([
    get<KeyPage>('/admin/v1/keys', { user_id: user.id, limit: 200 }),
    get<{ data: ConsoleSessionInfo[] }>(`${path}/sessions`),
  ]);
  keys.replaceChildren(
    keyPage.status === 'fulfilled'
      ? keysTable(keyPage.value.data, `User keys of ${user.email}`, 'No user keys.')
      : h('p', { class: 'form-error' }, describeError(keyPage.reason)),
  );
  if (sessionList.status === 'rejected') {
    sessions.replaceChildren(h('p', { class: 'form-error' }, describeError(sessionList.reason)));
    return;
  }
  endAll.hidden = sessionList.value.data.length === 0;
  sessions.replaceChildren(
    sessionsTable(
      sessionList.value.data,
      `Console sessions of ${user.email}`,
      (session) =>
        void attempt(async () => {
          await del(`${path}/sessions/${encodeURIComponent(session.handle)}`);
          toast('Session ended');
          if (session.current) navigate('/console/sign-in');
          else refresh();
        })(),
    ),
  );
}
