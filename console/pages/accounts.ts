// Child accounts: the accounts below the one the session works in, with their status, how many
// keys and users each holds, and their key policy; New account, Edit policy, Disable / Enable
// (saying what stops), and Switch to. Every rule is the admin API's: a child's policy may only be
// stricter than its parent's, and the server's field errors land on the fields.
import { ApiError, describeError, get, patch, post } from '../api.ts';
import { statusBadge } from '../components/badges.ts';
import { confirmDialog, openDialog } from '../components/dialog.ts';
import { field, h, setFieldError, toast } from '../dom.ts';
import { navigate } from '../router.ts';
import { canManageAccounts, canSwitchAccounts, currentAccount, switchAccount } from '../session.ts';
import type { ChildAccount } from '../types.ts';

const SEPARATOR = ' › ';

interface PolicyFields {
  max_key_lifetime_days: number | null;
  allow_never_expiring_keys: boolean;
}

export function policyText(account: PolicyFields): string {
  const lifetime = account.max_key_lifetime_days === null ? 'Keys: no lifetime cap' : `Keys: at most ${account.max_key_lifetime_days} days`;
  return `${lifetime}; ${account.allow_never_expiring_keys ? 'never-expiring allowed' : 'must expire'}`;
}

export async function accountsPage(main: HTMLElement): Promise<void> {
  const active = currentAccount();
  const errorLine = h('p', { class: 'form-error', role: 'alert' });
  const list = h('div', { class: 'table-wrap' }, h('p', { class: 'muted' }, 'Loading…'));
  const actions: Node[] = [];
  const refresh = () => void accountsPage(main);
  let tenants: ChildAccount[] = [];
  if (canManageAccounts()) {
    const add = h('button', { type: 'button', class: 'button primary' }, 'New account');
    add.addEventListener('click', () =>
      newAccountDialog(
        tenants.find((t) => t.id === active?.id),
        refresh,
      ),
    );
    actions.push(add);
  }
  main.replaceChildren(
    h('div', { class: 'page-head' }, h('h1', {}, 'Accounts'), h('div', { class: 'actions' }, ...actions)),
    h(
      'p',
      { class: 'muted' },
      `The accounts below ${active?.name ?? 'this account'}. Each has its own keys and users; its key policy may only be stricter than its parent's.`,
    ),
    errorLine,
    list,
  );
  try {
    tenants = (await get<{ data: ChildAccount[] }>('/admin/v1/tenants')).data;
  } catch (error) {
    list.replaceChildren();
    errorLine.textContent = describeError(error);
    return;
  }
  const here = active?.id ?? tenants.find((t) => !tenants.some((p) => p.id === t.parent_id))?.id;
  const byId = new Map(tenants.map((t) => [t.id, t]));
  const pathOf = (t: ChildAccount): ChildAccount[] => {
    const parent = t.id === here || t.parent_id === null ? undefined : byId.get(t.parent_id);
    return parent && parent.id !== here ? [...pathOf(parent), t] : [t];
  };
  const below = (id: string): ChildAccount[] => tenants.filter((t) => t.parent_id === id).flatMap((t) => [t, ...below(t.id)]);
  const children = tenants
    .filter((t) => t.id !== here)
    .map((t) => ({
      account: t,
      label: pathOf(t)
        .map((step) => step.name)
        .join(SEPARATOR),
    }))
    .sort((a, b) => a.label.localeCompare(b.label));
  if (children.length === 0) {
    list.replaceChildren(h('p', { class: 'empty' }, 'No child accounts yet.'));
    return;
  }

  const row = ({ account, label }: { account: ChildAccount; label: string }) => {
    const buttons: Node[] = [];
    const button = (text: string, handler: () => void, tone = '') => {
      const b = h('button', { type: 'button', class: `button small ${tone}`.trim(), 'aria-label': `${text}: ${label}` }, text);
      b.addEventListener('click', handler);
      buttons.push(b);
    };
    if (canSwitchAccounts() && account.status === 'active') {
      button('Switch to', async () => {
        try {
          await switchAccount(account.id);
          toast(`Working in ${account.name}`);
          navigate('/console/');
        } catch (error) {
          errorLine.textContent = describeError(error);
        }
      });
    }
    if (canManageAccounts()) {
      button('Edit policy', () => policyDialog(account, account.parent_id ? byId.get(account.parent_id) : undefined, refresh));
      if (account.status === 'active') button('Disable', () => void disable(account, below(account.id), refresh, errorLine), 'danger');
      else button('Enable', () => void enable(account, refresh, errorLine));
    }
    return h(
      'tr',
      { 'data-account-id': account.id },
      h('th', { scope: 'row', 'data-label': 'Account' }, label),
      h('td', { 'data-label': 'Status' }, statusBadge(account.status)),
      h('td', { 'data-label': 'Keys' }, String(account.key_count)),
      h('td', { 'data-label': 'Users' }, String(account.user_count)),
      h('td', { 'data-label': 'Key policy' }, policyText(account)),
      h('td', { 'data-label': 'Actions' }, h('div', { class: 'row-actions' }, ...buttons)),
    );
  };
  list.replaceChildren(
    h(
      'table',
      { class: 'stacked accounts-table' },
      h('caption', { class: 'visually-hidden' }, 'Child accounts'),
      h('thead', {}, h('tr', {}, ...['Account', 'Status', 'Keys', 'Users', 'Key policy', 'Actions'].map((t) => h('th', { scope: 'col' }, t)))),
      h('tbody', {}, ...children.map(row)),
    ),
  );
}

/** The policy inputs, filled from `initial`; blank days = no cap of its own. */
function policyInputs(initial: PolicyFields | undefined) {
  const days = h('input', {
    type: 'number',
    name: 'max_key_lifetime_days',
    min: 1,
    max: 36500,
    step: 1,
    inputmode: 'numeric',
    value: initial?.max_key_lifetime_days ?? '',
  });
  const never = h('input', { type: 'checkbox', name: 'allow_never_expiring_keys' });
  never.checked = initial?.allow_never_expiring_keys ?? true;
  const fields = [
    field('Maximum key lifetime (days)', days, 'Leave empty for no cap beyond the parent’s.'),
    h('div', { class: 'field' }, h('label', { class: 'checkbox' }, never, 'Keys may never expire'), h('p', { class: 'field-error', id: 'never-error' })),
  ];
  const read = (): PolicyFields | undefined => {
    const text = days.value.trim();
    const value = text === '' ? null : Number(text);
    const ok = value === null || (Number.isInteger(value) && value >= 1 && value <= 36500);
    setFieldError(days, ok ? '' : 'Enter whole days from 1 to 36500, or leave it empty');
    if (!ok) {
      days.focus();
      return undefined;
    }
    return { max_key_lifetime_days: value, allow_never_expiring_keys: never.checked };
  };
  const showErrors = (error: ApiError) => {
    for (const detail of error.details) {
      if (detail.field === 'max_key_lifetime_days') setFieldError(days, detail.message);
      if (detail.field === 'allow_never_expiring_keys') document.getElementById('never-error')!.textContent = detail.message;
    }
  };
  return { fields, read, showErrors };
}

function parentHint(parent: ChildAccount | undefined): Node | null {
  return parent ? h('p', { class: 'notice' }, `${parent.name} allows: ${policyText(parent)}. A child may only be stricter.`) : null;
}

function formDialog(options: { title: string; confirm: string; body: Node[]; submit: () => Promise<boolean> }): void {
  const error = h('p', { class: 'form-error', role: 'alert' });
  const save = h('button', { type: 'submit', class: 'button primary', form: 'account-form' }, options.confirm);
  const cancel = h('button', { type: 'button', class: 'button' }, 'Cancel');
  const form = h('form', { id: 'account-form', novalidate: true }, ...options.body);
  const dialog = openDialog({ title: options.title, body: [form, error], actions: [cancel, save] });
  cancel.addEventListener('click', () => dialog.close());
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    error.textContent = '';
    save.disabled = true;
    try {
      if (await options.submit()) dialog.close();
    } catch (failure) {
      error.textContent = describeError(failure);
    } finally {
      save.disabled = false;
    }
  });
}

function newAccountDialog(parent: ChildAccount | undefined, refresh: () => void): void {
  const name = h('input', { type: 'text', name: 'name', required: true, autocomplete: 'off', maxlength: 255 });
  const policy = policyInputs(parent && { max_key_lifetime_days: parent.max_key_lifetime_days, allow_never_expiring_keys: parent.allow_never_expiring_keys });
  formDialog({
    title: 'New account',
    confirm: 'Create account',
    body: [field('Name', name), parentHint(parent), ...policy.fields].filter((n): n is HTMLElement => n !== null),
    async submit() {
      setFieldError(name, name.value.trim() ? '' : 'Enter a name');
      if (!name.value.trim()) {
        name.focus();
        return false;
      }
      const fields = policy.read();
      if (!fields) return false;
      try {
        const created = await post<{ tenant: ChildAccount }>('/admin/v1/tenants', { name: name.value.trim(), ...fields });
        toast(`Account ${created.tenant.name} created`);
        refresh();
        return true;
      } catch (error) {
        if (error instanceof ApiError) {
          policy.showErrors(error);
          for (const detail of error.details) if (detail.field === 'name') setFieldError(name, detail.message);
        }
        throw error;
      }
    },
  });
}

function policyDialog(account: ChildAccount, parent: ChildAccount | undefined, refresh: () => void): void {
  const policy = policyInputs(account);
  formDialog({
    title: `Key policy of ${account.name}`,
    confirm: 'Save policy',
    body: [parentHint(parent), ...policy.fields].filter((n): n is HTMLElement => n !== null),
    async submit() {
      const fields = policy.read();
      if (!fields) return false;
      try {
        await patch(`/admin/v1/tenants/${encodeURIComponent(account.id)}`, fields);
        toast(`Key policy of ${account.name} saved`);
        refresh();
        return true;
      } catch (error) {
        if (error instanceof ApiError) policy.showErrors(error);
        throw error;
      }
    },
  });
}

const plural = (n: number, one: string, many: string) => `${n} ${n === 1 ? one : many}`;

async function disable(account: ChildAccount, below: ChildAccount[], refresh: () => void, errorLine: HTMLElement): Promise<void> {
  const all = [account, ...below];
  const keys = all.reduce((n, t) => n + t.key_count, 0);
  const users = all.reduce((n, t) => n + t.user_count, 0);
  const where = below.length > 0 ? `${account.name} and the ${plural(below.length, 'account', 'accounts')} below it` : account.name;
  const ok = await confirmDialog({
    title: `Disable ${account.name}?`,
    danger: true,
    confirm: 'Disable account',
    message: [
      h('p', {}, `This stops ${where} at once:`),
      h(
        'ul',
        {},
        h('li', {}, `${plural(keys, 'key', 'keys')} get no new tokens, and every live token of them stops working now.`),
        h('li', {}, `${plural(users, 'user', 'users')} can no longer sign in, and their open sessions end.`),
        h('li', {}, 'Nobody can switch into it until it is enabled again.'),
      ),
      h('p', {}, 'Nothing is deleted. Enabling it later lets the keys get new tokens; the tokens dropped now stay dropped.'),
    ],
  });
  if (!ok) return;
  try {
    await post(`/admin/v1/tenants/${encodeURIComponent(account.id)}/disable`);
    toast(`${account.name} disabled`);
    refresh();
  } catch (error) {
    errorLine.textContent = describeError(error);
  }
}

async function enable(account: ChildAccount, refresh: () => void, errorLine: HTMLElement): Promise<void> {
  const ok = await confirmDialog({
    title: `Enable ${account.name}?`,
    confirm: 'Enable account',
    message: `Its keys can get tokens again and its users can sign in again.`,
  });
  if (!ok) return;
  try {
    await post(`/admin/v1/tenants/${encodeURIComponent(account.id)}/enable`);
    toast(`${account.name} enabled`);
    refresh();
  } catch (error) {
    errorLine.textContent = describeError(error);
  }
}
