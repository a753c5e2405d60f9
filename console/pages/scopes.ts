// The scope catalogue: the resources keys may be given (own and inherited from tenants above), and
// for those allowed to, add / edit / delete a resource of the user's own tenant.
import { ApiError, del, describeError, get, put } from '../api.ts';
import { confirmDialog, openDialog } from '../components/dialog.ts';
import { field, h, setFieldError } from '../dom.ts';
import { currentUser } from '../session.ts';
import type { ScopeResource } from '../types.ts';

const RESOURCE_PATTERN = /^[a-z][a-z0-9_.-]{0,63}$/;
const ACTION_PATTERN = /^[a-z][a-z0-9_-]{0,31}$/;

export async function scopesPage(main: HTMLElement): Promise<void> {
  const errorLine = h('p', { class: 'form-error', role: 'alert' });
  const list = h('div', { class: 'table-wrap' }, h('p', { class: 'muted' }, 'Loading…'));
  const actions: Node[] = [];
  // Writing the catalogue takes the tenant-policy right: admins (the server decides).
  const mayEdit = currentUser()?.role === 'admin';
  const reload = () => void scopesPage(main);
  if (mayEdit) {
    const add = h('button', { type: 'button', class: 'button primary' }, 'Add resource');
    add.addEventListener('click', () => editResource(null, reload));
    actions.push(add);
  }
  main.replaceChildren(
    h('div', { class: 'page-head' }, h('h1', {}, 'Scope catalogue'), h('div', { class: 'actions' }, ...actions)),
    h(
      'p',
      { class: 'muted' },
      'Resources and their actions. Once a tenant has a catalogue, new key scopes come from it (plus admin:* and token:introspect). Child tenants inherit it.',
    ),
    errorLine,
    list,
  );
  let resources: ScopeResource[];
  try {
    resources = (await get<{ data: ScopeResource[] }>('/admin/v1/scopes')).data;
  } catch (error) {
    list.replaceChildren();
    errorLine.textContent = describeError(error);
    return;
  }
  if (resources.length === 0) {
    list.replaceChildren(h('p', { class: 'empty' }, 'No resources yet: keys may hold any scope.'));
    return;
  }
  list.replaceChildren(
    h(
      'table',
      { class: 'scopes-table' },
      h('caption', { class: 'visually-hidden' }, 'Scope catalogue'),
      h('thead', {}, h('tr', {}, ...['Resource', 'Description', 'Actions', 'Source', ''].map((t) => h('th', { scope: 'col' }, t)))),
      h(
        'tbody',
        {},
        ...resources.map((resource) => {
          const buttons: Node[] = [];
          if (mayEdit && !resource.inherited) {
            const edit = h('button', { type: 'button', class: 'button small', 'aria-label': `Edit ${resource.resource}` }, 'Edit');
            edit.addEventListener('click', () => editResource(resource, reload));
            const remove = h('button', { type: 'button', class: 'button small danger', 'aria-label': `Delete ${resource.resource}` }, 'Delete');
            remove.addEventListener('click', async () => {
              const yes = await confirmDialog({
                title: `Delete "${resource.resource}"?`,
                danger: true,
                message: `New keys can no longer be given ${resource.resource} scopes. Existing keys keep theirs.`,
                confirm: `Delete ${resource.resource}`,
              });
              if (!yes) return;
              try {
                await del(`/admin/v1/scopes/${encodeURIComponent(resource.resource)}`);
                reload();
              } catch (error) {
                errorLine.textContent = describeError(error);
              }
            });
            buttons.push(edit, remove);
          }
          return h(
            'tr',
            { 'data-resource': resource.resource },
            h('td', { 'data-label': 'Resource' }, h('code', {}, resource.resource)),
            h('td', { 'data-label': 'Description' }, resource.description ?? ''),
            h('td', { 'data-label': 'Actions' }, h('span', { class: 'scope-list' }, ...resource.actions.map((a) => h('span', { class: 'tag' }, a)))),
            h('td', { 'data-label': 'Source' }, resource.inherited ? 'inherited' : 'this tenant'),
            h('td', { class: 'row-actions' }, ...buttons),
          );
        }),
      ),
    ),
  );
}

function editResource(resource: ScopeResource | null, done: () => void): void {
  const name = h('input', {
    type: 'text',
    name: 'resource',
    required: true,
    autocomplete: 'off',
    value: resource?.resource ?? '',
    readonly: resource !== null,
    placeholder: 'devices',
  });
  const description = h('input', { type: 'text', name: 'description', autocomplete: 'off', value: resource?.description ?? '' });
  const actions = h('input', { type: 'text', name: 'actions', autocomplete: 'off', value: (resource?.actions ?? ['read', 'write']).join(' ') });
  const error = h('p', { class: 'form-error', role: 'alert' });
  const save = h('button', { type: 'submit', class: 'button primary', form: 'resource-form' }, 'Save');
  const cancel = h('button', { type: 'button', class: 'button' }, 'Cancel');
  const form = h(
    'form',
    { id: 'resource-form', novalidate: true },
    field('Resource', name, 'A lower-case letter first, then letters, digits, dot, dash or underscore: devices, reports.'),
    field('Description', description),
    field('Actions (space-separated)', actions, 'Usually read and write.'),
  );
  const dialog = openDialog({ title: resource ? `Edit "${resource.resource}"` : 'Add resource', body: [form, error], actions: [cancel, save] });
  cancel.addEventListener('click', () => dialog.close());
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    const list = [...new Set(actions.value.split(/[\s,]+/).filter(Boolean))];
    setFieldError(name, RESOURCE_PATTERN.test(name.value) ? '' : 'A lower-case letter first, then letters, digits, dot, dash or underscore');
    setFieldError(actions, list.length > 0 && list.every((a) => ACTION_PATTERN.test(a)) ? '' : 'List at least one action, e.g. read write');
    if (!RESOURCE_PATTERN.test(name.value) || list.length === 0 || !list.every((a) => ACTION_PATTERN.test(a))) return;
    try {
      await put(`/admin/v1/scopes/${encodeURIComponent(name.value)}`, { description: description.value, actions: list });
      dialog.close();
      done();
    } catch (failure) {
      error.textContent = failure instanceof ApiError ? describeError(failure) : String(failure);
    }
  });
}
