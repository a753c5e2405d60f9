// The fields of a key, for "New account key", "New user key" and "Edit": name, description, user,
// scopes, expiry, networks, token lifetime. `read()` checks what can be checked here and returns the
// request body, or null with the errors shown next to their fields.
import { field, h, setFieldError, uid } from '../dom.ts';
import { daysFromNow } from '../format.ts';
import type { Key, ScopeResource, Tenant, User } from '../types.ts';
import { networksInput } from './networks-input.ts';
import { scopesInput } from './scopes-input.ts';

export interface KeyFormOptions {
  mode: 'create' | 'edit';
  kind: 'service' | 'user';
  key?: Key;
  catalogue: ScopeResource[];
  /** Users the caller may pick for a user key; one entry (the caller) when they may only pick themselves. */
  users: Pick<User, 'id' | 'email'>[];
  /** null when the caller cannot read the tenant's policy: "never" is then not offered. */
  tenant: Tenant | null;
  allowTypedScopes: boolean;
}

export interface KeyForm {
  element: HTMLFormElement;
  read(): Record<string, unknown> | null;
  /** Shows the server's field errors next to the fields they name. */
  showErrors(details: { field: string; message: string }[]): void;
}

const PRESETS = [30, 90, 180, 365];

export function keyForm(options: KeyFormOptions): KeyForm {
  const key = options.key;
  const name = h('input', { type: 'text', name: 'name', required: true, maxlength: 255, autocomplete: 'off', value: key?.name ?? '' });
  const description = h('textarea', { name: 'description', maxlength: 1024, rows: 2 });
  description.value = key?.description ?? '';

  const user = h('select', { name: 'user_id' });
  for (const candidate of options.users) user.append(h('option', { value: candidate.id }, candidate.email));

  const scopes = scopesInput(options.catalogue, key?.scopes ?? [], options.allowTypedScopes);

  const neverAllowed = options.tenant?.allow_never_expiring_keys === true && options.tenant.max_key_lifetime_days === null;
  const expiry = h('select', { name: 'expiry' });
  if (options.mode === 'edit')
    expiry.append(h('option', { value: 'keep' }, key?.expires_at ? `Keep (${new Date(key.expires_at).toLocaleDateString()})` : 'Keep (never)'));
  for (const days of PRESETS) expiry.append(h('option', { value: String(days) }, `${days} days${days === 90 ? ' (recommended)' : ''}`));
  expiry.append(h('option', { value: 'date' }, 'On a date…'));
  if (neverAllowed) expiry.append(h('option', { value: 'never' }, 'Never'));
  expiry.value = options.mode === 'edit' ? 'keep' : '90';
  const expiryDate = h('input', { type: 'date', name: 'expiry_date', min: new Date(Date.now() + 86_400_000).toISOString().slice(0, 10) });
  const dateField = field('Expiry date', expiryDate);
  const neverWarning = h(
    'p',
    { class: 'warning', role: 'note' },
    'A key that never expires stays valid until someone disables or deletes it. Prefer an expiry and rotate.',
  );
  const syncExpiry = () => {
    dateField.hidden = expiry.value !== 'date';
    neverWarning.hidden = expiry.value !== 'never';
  };
  expiry.addEventListener('change', syncExpiry);
  syncExpiry();

  const networks = networksInput(key?.networks ?? []);
  const ttl = h('input', { type: 'number', name: 'token_ttl_seconds', min: 60, max: 86400, step: 1, value: key?.token_ttl_seconds ?? '' });

  const element = h(
    'form',
    { class: 'key-form', novalidate: true, id: uid('key-form') },
    field('Name', name, '1–255 characters.'),
    field('Description', description),
    options.kind === 'user' && options.mode === 'create' ? field('User', user) : null,
    scopes.element,
    field('Expires', expiry),
    dateField,
    neverWarning,
    networks.element,
    field('Token lifetime (seconds)', ttl, 'How long each access token lives: 60–86400. Empty = the server default.'),
  );

  const read = (): Record<string, unknown> | null => {
    let ok = true;
    const fail = (control: HTMLElement, message: string) => {
      setFieldError(control, message);
      if (message && ok) control.focus();
      if (message) ok = false;
    };
    const trimmed = name.value.trim();
    fail(name, trimmed.length === 0 ? 'Enter a name' : name.value.length > 255 ? 'At most 255 characters' : '');
    const chosenScopes = scopes.values();
    const body: Record<string, unknown> = { name: name.value };
    if (description.value || key?.description) body.description = description.value || null;
    if (options.mode === 'create' && chosenScopes.length === 0) {
      const firstScope = scopes.element.querySelector<HTMLElement>('select, input');
      if (firstScope) fail(firstScope, 'Choose at least one scope');
      else ok = false;
    }
    if (chosenScopes.length > 0) body.scopes = chosenScopes;
    if (expiry.value === 'date') {
      fail(expiryDate, expiryDate.value ? '' : 'Choose a date');
      if (expiryDate.value) body.expires_at = new Date(`${expiryDate.value}T23:59:59`).toISOString();
    } else if (expiry.value === 'never') body.expires_at = null;
    else if (expiry.value !== 'keep') body.expires_at = daysFromNow(Number(expiry.value));
    const pendingInput = networks.element.querySelector('input')!;
    fail(pendingInput, networks.pending() ? 'Press Add (or Enter) to add this network, or clear it' : '');
    if (options.mode === 'edit' || networks.values().length > 0) body.networks = networks.values();
    if (ttl.value) {
      const seconds = Number(ttl.value);
      fail(ttl, Number.isInteger(seconds) && seconds >= 60 && seconds <= 86400 ? '' : 'Between 60 and 86400 seconds');
      body.token_ttl_seconds = seconds;
    }
    if (options.kind === 'user' && options.mode === 'create') {
      body.kind = 'user';
      body.user_id = user.value;
    }
    return ok ? body : null;
  };

  const controls: Record<string, HTMLElement> = {
    name,
    description,
    user_id: user,
    expires_at: expiry,
    token_ttl_seconds: ttl,
    networks: networks.element.querySelector('input')!,
  };
  return {
    element,
    read,
    showErrors(details) {
      for (const detail of details) {
        const control = controls[detail.field.split('.')[0]!] ?? controls[detail.field.split('[')[0]!];
        if (control) setFieldError(control, detail.message);
      }
    },
  };
}
