// The dialogs that change a person: invite (create + a set-up link shown once), a new set-up
// link, change role, disable, enable and delete. Before a change, each dialog asks the server what
// it would do to keys (GET /admin/v1/users/{id}/impact) and says so; the server decides.
import { ApiError, del, describeError, get, patch, post } from '../api.ts';
import { field, h, setFieldError, uid } from '../dom.ts';
import { activeTenantId } from '../session.ts';
import type { ListedUser, Role, SetupLink, UserImpact } from '../types.ts';
import { confirmDialog, openDialog } from './dialog.ts';
import { keyNameList } from './people-tables.ts';
import { showSecretDialog } from './secret-dialog.ts';
import { shownOncePanel } from './secret-panel.ts';

export const ROLE_CHOICES: { role: Role; label: string }[] = [
  { role: 'admin', label: 'Admin: everything, people and accounts included' },
  { role: 'manager', label: 'Manager: every key, no people or accounts' },
  { role: 'member', label: 'Member: their own user keys' },
  { role: 'viewer', label: 'Viewer: reads only' },
];

const userPath = (user: Pick<ListedUser, 'id'>) => `/admin/v1/users/${encodeURIComponent(user.id)}`;

function roleSelect(selected: Role): HTMLSelectElement {
  const select = h('select', { id: uid('role'), name: 'role' }, ...ROLE_CHOICES.map((c) => h('option', { value: c.role }, c.label)));
  select.value = selected;
  return select;
}

/** The set-up link, once, behind the shared shown-once panel (copy button, masked until shown). */
export function showSetupLink(user: Pick<ListedUser, 'email'>, link: SetupLink, onDone: () => void): void {
  const panel = shownOncePanel({
    warning: 'Copy the set-up link now and send it to the person: it is shown once, works once, and for 24 hours.',
    rows: [
      { label: 'Email', name: 'email', value: user.email },
      { label: 'Set-up link', name: 'setup_link', value: link.url, secret: true },
    ],
  });
  showSecretDialog('Set-up link', `${user.email} opens this link to choose a password.`, panel, onDone);
}

export function openInviteDialog(onDone: () => void): void {
  const email = h('input', { type: 'email', required: true, autocomplete: 'off', maxlength: 320 });
  const name = h('input', { type: 'text', maxlength: 255, autocomplete: 'off' });
  const role = roleSelect('member');
  const error = h('p', { class: 'form-error', role: 'alert' });
  const form = h('form', { id: uid('invite'), novalidate: true }, field('Email', email), field('Name (optional)', name), field('Role', role));
  const submit = h('button', { type: 'submit', class: 'button primary', form: form.id }, 'Invite');
  const cancel = h('button', { type: 'button', class: 'button' }, 'Cancel');
  const dialog = openDialog({ title: 'Invite a user', body: [form, error], actions: [cancel, submit] });
  cancel.addEventListener('click', () => dialog.close());
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    error.textContent = '';
    setFieldError(email, '');
    submit.disabled = true;
    try {
      const created = await post<{ user: ListedUser }>('/admin/v1/users', {
        email: email.value.trim(),
        role: role.value,
        tenant_id: activeTenantId(),
        ...(name.value.trim() ? { name: name.value.trim() } : {}),
      });
      const { setup_link } = await post<{ setup_link: SetupLink }>(`${userPath(created.user)}/setup-link`);
      dialog.close();
      showSetupLink(created.user, setup_link, onDone);
    } catch (failure) {
      if (failure instanceof ApiError && failure.details.some((d) => d.field === 'email')) setFieldError(email, 'Enter a valid email address');
      error.textContent = describeError(failure);
    } finally {
      submit.disabled = false;
    }
  });
}

export async function newSetupLink(user: ListedUser, onDone: () => void): Promise<void> {
  const yes = await confirmDialog({
    title: 'New set-up link?',
    message: `A new link lets whoever holds it choose ${user.email}'s password; any earlier link stops working.`,
    confirm: 'Create link',
  });
  if (!yes) return;
  const { setup_link } = await post<{ setup_link: SetupLink }>(`${userPath(user)}/setup-link`);
  showSetupLink(user, setup_link, onDone);
}

const impactOf = (user: ListedUser, role?: Role) => get<{ impact: UserImpact }>(`${userPath(user)}/impact`, { role }).then((r) => r.impact);

/** Lines saying what a change does to keys: a heading and the keys, or that none are touched. */
function keyLines(title: string, keys: UserImpact['user_keys']): Node[] {
  return keys.length === 0 ? [] : [h('p', {}, title), keyNameList(keys)];
}

export function openRoleDialog(user: ListedUser, onDone: () => void): void {
  const role = roleSelect(user.role);
  const effect = h('div', { class: 'impact', 'aria-live': 'polite' });
  const error = h('p', { class: 'form-error', role: 'alert' });
  const form = h('form', { id: uid('role-form') }, field('New role', role), effect);
  const submit = h('button', { type: 'submit', class: 'button primary', form: form.id }, 'Change role');
  const cancel = h('button', { type: 'button', class: 'button' }, 'Cancel');
  const dialog = openDialog({ title: `Change the role of ${user.email}`, body: [form, error], actions: [cancel, submit] });
  cancel.addEventListener('click', () => dialog.close());
  let asked = 0;
  const explain = async () => {
    const chosen = role.value as Role;
    submit.disabled = chosen === user.role;
    if (chosen === user.role) {
      effect.replaceChildren(h('p', { class: 'muted' }, `${user.email} is a ${user.role} already.`));
      return;
    }
    const mine = ++asked;
    effect.replaceChildren(h('p', { class: 'muted' }, 'Checking what this changes…'));
    try {
      const change = (await impactOf(user, chosen)).role_change!;
      if (mine !== asked) return;
      const lines = [
        ...change.narrowed_keys.flatMap((key) => [
          h('p', {}, h('strong', {}, key.name), ' (their user key) loses ', h('code', {}, key.scopes_lost.join(' ')), ' at its next token.'),
        ]),
        ...keyLines('These keys they created stop working, because a ' + chosen + ' may not create keys:', change.stopped_keys),
      ];
      effect.replaceChildren(
        ...(lines.length > 0 ? lines : [h('p', {}, 'None of their keys loses anything: their user keys are bounded by the role at every token.')]),
      );
    } catch (failure) {
      if (mine === asked) effect.replaceChildren(h('p', { class: 'form-error' }, describeError(failure)));
    }
  };
  role.addEventListener('change', () => void explain());
  void explain();
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    error.textContent = '';
    submit.disabled = true;
    try {
      await patch(userPath(user), { role: role.value });
      dialog.close();
      onDone();
    } catch (failure) {
      error.textContent = describeError(failure);
      submit.disabled = false;
    }
  });
}

export async function confirmStatusChange(user: ListedUser, onDone: () => void): Promise<void> {
  const disabling = user.status === 'active';
  const impact = disabling ? await impactOf(user) : undefined;
  const message: Node[] = disabling
    ? [
        h('p', {}, `${user.email} can no longer sign in, and their console sessions end now.`),
        ...(impact!.disable.stopped_keys.length > 0
          ? keyLines('These keys stop working until the user is enabled again (their live tokens end now):', impact!.disable.stopped_keys)
          : [h('p', {}, 'No keys depend on them.')]),
      ]
    : [h('p', {}, `${user.email} may sign in again, and their keys work again (tokens ended before do not come back).`)];
  const yes = await confirmDialog({
    title: disabling ? `Disable ${user.email}?` : `Enable ${user.email}?`,
    message,
    confirm: disabling ? 'Disable user' : 'Enable user',
    danger: disabling,
  });
  if (!yes) return;
  await post(`${userPath(user)}/${disabling ? 'disable' : 'enable'}`);
  onDone();
}

export async function confirmDelete(user: ListedUser, onDone: () => void): Promise<void> {
  const { delete: impact } = await impactOf(user);
  const yes = await confirmDialog({
    title: `Delete ${user.email}?`,
    danger: true,
    message: [
      h('p', {}, `${user.email} is deleted for good, with their console sessions. This cannot be undone.`),
      ...(impact.deleted_keys.length > 0 ? keyLines('These user keys are deleted with them:', impact.deleted_keys) : [h('p', {}, 'They hold no user keys.')]),
      ...keyLines('These keys they created stop working:', impact.stopped_keys),
    ],
    confirm: 'Delete user',
  });
  if (!yes) return;
  await del(userPath(user));
  onDone();
}
