// "New account key" / "New user key": the form in a dialog; on success the same dialog's place is
// taken by the shown-once secret dialog.
import { ApiError, describeError, get, post } from '../api.ts';
import { h } from '../dom.ts';
import { activeTenantId, currentUser } from '../session.ts';
import type { CreatedKey, ScopeResource, Tenant, User } from '../types.ts';
import { openDialog } from './dialog.ts';
import { keyForm } from './key-form.ts';
import { showCreatedKey } from './secret-dialog.ts';

export interface FormContext {
  catalogue: ScopeResource[];
  users: Pick<User, 'id' | 'email'>[];
  tenant: Tenant | null;
}

/** What the key form offers this user: the catalogue, whom a user key may be for, the tenant's expiry policy. */
export async function loadFormContext(): Promise<FormContext> {
  const me = currentUser()!;
  const isAdmin = me.role === 'admin';
  const [catalogue, users, tenant] = await Promise.all([
    get<{ data: ScopeResource[] }>('/admin/v1/scopes').then(
      (r) => r.data,
      () => [],
    ),
    isAdmin
      ? get<{ data: User[] }>('/admin/v1/users', { tenant_id: activeTenantId() }).then(
          (r) => r.data.filter((u) => u.status === 'active'),
          () => [me],
        )
      : Promise.resolve([me]),
    isAdmin
      ? get<{ tenant: Tenant }>(`/admin/v1/tenants/${activeTenantId()}`).then(
          (r) => r.tenant,
          () => null,
        )
      : Promise.resolve(null),
  ]);
  return { catalogue, users, tenant };
}

/** `onlyMe`: a user key for the signed-in person only (My account). */
export async function openNewKeyDialog(kind: 'service' | 'user', onCreated: () => void, options: { onlyMe?: boolean } = {}): Promise<void> {
  const loaded = await loadFormContext();
  const context = options.onlyMe ? { ...loaded, users: [currentUser()!] } : loaded;
  const form = keyForm({ mode: 'create', kind, ...context, allowTypedScopes: currentUser()?.role === 'admin' });
  const error = h('p', { class: 'form-error', role: 'alert' });
  const submit = h('button', { type: 'submit', class: 'button primary', form: form.element.id }, 'Create key');
  const cancel = h('button', { type: 'button', class: 'button' }, 'Cancel');
  const dialog = openDialog({
    title: kind === 'user' ? 'New user key' : 'New account key',
    wide: true,
    body: [form.element, error],
    actions: [cancel, submit],
  });
  cancel.addEventListener('click', () => dialog.close());
  form.element.addEventListener('submit', async (event) => {
    event.preventDefault();
    error.textContent = '';
    const body = form.read();
    if (!body) return;
    submit.disabled = true;
    try {
      const created = await post<CreatedKey>('/admin/v1/keys', body);
      dialog.close();
      showCreatedKey(created, 'Key created', onCreated);
    } catch (failure) {
      if (failure instanceof ApiError) form.showErrors(failure.details);
      error.textContent = describeError(failure);
    } finally {
      submit.disabled = false;
    }
  });
}
