// My account: my name, a new password (given the current one; my other sessions end), my console
// sessions (sign out one, or every other), and my user keys with New user key where my role
// allows it.
import { api, ApiError, describeError, get, post } from '../api.ts';
import { openNewKeyDialog } from '../components/new-key-dialog.ts';
import { keysTable, sessionsTable } from '../components/people-tables.ts';
import { field, h, setFieldError, toast, uid } from '../dom.ts';
import { navigate } from '../router.ts';
import { canWrite, currentUser, loadSession } from '../session.ts';
import type { ConsoleSessionInfo, KeyPage } from '../types.ts';

export function accountPage(main: HTMLElement): void {
  const me = currentUser()!;
  const keys = h('div', {}, h('p', { class: 'muted' }, 'Loading…'));
  const sessions = h('div', {}, h('p', { class: 'muted' }, 'Loading…'));
  const keyActions: Node[] = [];
  if (canWrite()) {
    const newKey = h('button', { type: 'button', class: 'button primary' }, 'New user key');
    newKey.addEventListener(
      'click',
      () => void openNewKeyDialog('user', () => void loadKeys(), { onlyMe: true }).catch((e) => toast(describeError(e), 'error')),
    );
    keyActions.push(newKey);
  }
  const signOutOthers = h('button', { type: 'button', class: 'button' }, 'Sign out other sessions');
  signOutOthers.addEventListener('click', async () => {
    try {
      const { ended } = await api<{ ended: number }>('DELETE', '/console/api/account/sessions');
      toast(ended === 1 ? '1 other session ended' : `${ended} other sessions ended`);
      void loadSessions();
    } catch (error) {
      toast(describeError(error), 'error');
    }
  });

  main.replaceChildren(
    h('div', { class: 'page-head' }, h('h1', {}, 'My account')),
    h(
      'dl',
      { class: 'details' },
      h('dt', {}, 'Email'),
      h('dd', {}, me.email),
      h('dt', {}, 'Role'),
      h('dd', {}, h('span', { class: `badge role role-${me.role}` }, me.role)),
    ),
    section('Profile', profileForm()),
    section(
      'Password',
      passwordForm(() => void loadSessions()),
    ),
    section(
      'Two-factor sign-in',
      h('p', {}, 'A code from an authenticator app at every sign-in, with recovery codes for when the app is lost. '),
      h('p', {}, h('a', { href: '/console/account/two-factor', 'data-link': true }, 'Manage two-factor sign-in')),
    ),
    section('My sessions', h('div', { class: 'actions' }, signOutOthers), sessions),
    section('My API keys', h('div', { class: 'actions' }, ...keyActions), keys),
  );

  async function loadKeys(): Promise<void> {
    try {
      const page = await get<KeyPage>('/admin/v1/keys', { user_id: me.id, kind: 'user', limit: 200 });
      keys.replaceChildren(keysTable(page.data, 'My user keys', 'You hold no user keys.'));
    } catch (error) {
      keys.replaceChildren(h('p', { class: 'form-error' }, describeError(error)));
    }
  }

  async function loadSessions(): Promise<void> {
    try {
      const { data } = await get<{ data: ConsoleSessionInfo[] }>('/console/api/account/sessions');
      signOutOthers.hidden = data.every((s) => s.current);
      sessions.replaceChildren(
        sessionsTable(data, 'My console sessions', async (session) => {
          try {
            await api('DELETE', `/console/api/account/sessions?handle=${encodeURIComponent(session.handle)}`);
            if (session.current) return navigate('/console/sign-in');
            toast('Session ended');
            void loadSessions();
          } catch (error) {
            toast(describeError(error), 'error');
          }
        }),
      );
    } catch (error) {
      sessions.replaceChildren(h('p', { class: 'form-error' }, describeError(error)));
    }
  }

  void loadKeys();
  void loadSessions();
}

function section(title: string, ...children: Node[]): HTMLElement {
  const id = uid('section');
  return h('section', { class: 'card account-section', 'aria-labelledby': id }, h('h2', { id }, title), ...children);
}

function profileForm(): HTMLFormElement {
  const name = h('input', { type: 'text', maxlength: 255, value: currentUser()!.name ?? '', autocomplete: 'name' });
  const error = h('p', { class: 'form-error', role: 'alert' });
  const form = h('form', { class: 'inline-form' }, field('Name', name), h('button', { type: 'submit', class: 'button' }, 'Save name'), error);
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    error.textContent = '';
    try {
      await post('/console/api/account', { name: name.value.trim() || null });
      await loadSession();
      toast('Name saved');
    } catch (failure) {
      error.textContent = describeError(failure);
    }
  });
  return form;
}

function passwordForm(onChanged: () => void): HTMLFormElement {
  const current = h('input', { type: 'password', autocomplete: 'current-password', required: true });
  const next = h('input', { type: 'password', autocomplete: 'new-password', required: true, minlength: 12 });
  const repeat = h('input', { type: 'password', autocomplete: 'new-password', required: true });
  const error = h('p', { class: 'form-error', role: 'alert' });
  const submit = h('button', { type: 'submit', class: 'button primary' }, 'Change password');
  const form = h(
    'form',
    { novalidate: true },
    field('Current password', current),
    field('New password', next, 'At least 12 characters. Your other sessions are signed out; this one stays.'),
    field('Repeat the new password', repeat),
    submit,
    error,
  );
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    error.textContent = '';
    for (const control of [current, next, repeat]) setFieldError(control, '');
    if (next.value !== repeat.value) return setFieldError(repeat, 'The two new passwords differ');
    submit.disabled = true;
    try {
      const { other_sessions_ended } = await post<{ other_sessions_ended: number }>('/console/api/account/password', {
        current_password: current.value,
        new_password: next.value,
      });
      form.reset();
      toast(other_sessions_ended === 0 ? 'Password changed' : `Password changed; ${other_sessions_ended} other session(s) signed out`);
      onChanged();
    } catch (failure) {
      if (failure instanceof ApiError) {
        for (const detail of failure.details) {
          if (detail.field === 'current_password') setFieldError(current, `The current password ${detail.message}`);
          if (detail.field === 'new_password') setFieldError(next, `The new password ${detail.message}`);
        }
      }
      error.textContent = describeError(failure);
    } finally {
      submit.disabled = false;
    }
  });
  return form;
}
