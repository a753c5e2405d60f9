// One key: every field; edit; Refresh key (rotate) with a grace; disable / enable; revoke live
// tokens; delete with a red confirmation naming the key; its audit trail; its usage chart.
import { ApiError, del, describeError, get, patch, post } from '../api.ts';
import { createdByText, expiryBadge, statusBadge } from '../components/badges.ts';
import { confirmDialog, openDialog, type OpenDialog } from '../components/dialog.ts';
import { keyForm } from '../components/key-form.ts';
import { loadFormContext } from '../components/new-key-dialog.ts';
import { secretCloseGuard } from '../components/secret-dialog.ts';
import { secretPanel, type SecretPanel } from '../components/secret-panel.ts';
import { usageChart } from '../components/usage-chart.ts';
import { renderNotFound } from '../components/not-found.ts';
import { field, h, toast } from '../dom.ts';
import { dateTime, duration } from '../format.ts';
import { navigate } from '../router.ts';
import { canWrite, currentUser } from '../session.ts';
import type { AuditEvent, CreatedKey, Key, Usage } from '../types.ts';

const GRACES: { seconds: number; label: string }[] = [
  { seconds: 0, label: 'None: the old secret stops now' },
  { seconds: 3600, label: '1 hour' },
  { seconds: 86_400, label: '24 hours' },
  { seconds: 604_800, label: '7 days' },
];

export async function keyPage(main: HTMLElement, clientId: string): Promise<void> {
  main.replaceChildren(h('p', { class: 'muted' }, 'Loading…'));
  let key: Key;
  try {
    key = (await get<{ key: Key }>(`/admin/v1/keys/${encodeURIComponent(clientId)}`)).key;
  } catch (error) {
    if (error instanceof ApiError && error.status === 404) return renderNotFound(main);
    main.replaceChildren(
      h(
        'div',
        { class: 'card' },
        h('h1', {}, 'Key not available'),
        h('p', { role: 'alert' }, describeError(error)),
        h('a', { href: '/console/', 'data-link': true }, 'Back to the API keys'),
      ),
    );
    return;
  }
  const path = `/admin/v1/keys/${encodeURIComponent(clientId)}`;
  const refresh = () => void keyPage(main, clientId);
  const errorLine = h('p', { class: 'form-error', role: 'alert' });
  const run = async (action: () => Promise<unknown>, done: string) => {
    errorLine.textContent = '';
    try {
      await action();
      toast(done);
      refresh();
    } catch (error) {
      errorLine.textContent = describeError(error);
    }
  };

  const actions: Node[] = [];
  if (canWrite()) {
    const button = (label: string, handler: () => void, tone = '') => {
      const b = h('button', { type: 'button', class: `button ${tone}`.trim() }, label);
      b.addEventListener('click', handler);
      return b;
    };
    actions.push(
      button('Edit', () => void editKey(key, path, refresh).catch((e) => (errorLine.textContent = describeError(e)))),
      button('Refresh key', () => rotateKey(key, path, refresh)),
      key.status === 'disabled'
        ? button('Enable', () => void run(() => post(`${path}/enable`), 'Key enabled'))
        : button('Disable', () => void run(() => post(`${path}/disable`), 'Key disabled')),
      button('Revoke live tokens', async () => {
        const yes = await confirmDialog({
          title: 'Revoke live tokens?',
          message: `Every token issued to "${key.name}" stops working now. The key itself keeps working.`,
          confirm: 'Revoke tokens',
        });
        if (yes) await run(() => post(`${path}/revoke-tokens`), 'Live tokens revoked');
      }),
      button(
        'Delete',
        async () => {
          const yes = await confirmDialog({
            title: `Delete "${key.name}"?`,
            danger: true,
            message: [
              h(
                'p',
                {},
                'Delete the key ',
                h('strong', {}, key.name),
                ' (',
                h('code', {}, key.client_id),
                ')? Its tokens stop at once. This cannot be undone.',
              ),
            ],
            confirm: `Delete ${key.name}`,
          });
          if (!yes) return;
          try {
            await del(path);
            toast(`Deleted ${key.name}`);
            navigate('/console/');
          } catch (error) {
            errorLine.textContent = describeError(error);
          }
        },
        'danger',
      ),
    );
  }

  const row = (label: string, value: Node | string) => [h('dt', {}, label), h('dd', {}, value)];
  const details = h(
    'dl',
    { class: 'details' },
    ...row('Client ID', h('code', {}, key.client_id)),
    ...row('Status', statusBadge(key.status)),
    ...row('Kind', key.kind === 'user' ? `User key (${key.user_email ?? key.user_id ?? ''})` : 'Account key'),
    ...row('Description', key.description ?? '—'),
    ...row('Scopes', h('span', { class: 'scope-list' }, ...key.scopes.map((s) => h('span', { class: 'tag' }, s)))),
    ...row('Networks', key.networks.length ? key.networks.join(', ') : 'Any IP'),
    ...row('Expires', h('span', {}, key.expires_at ? `${dateTime(key.expires_at)} ` : '', expiryBadge(key.expires_at))),
    ...row('Token lifetime', duration(key.token_ttl_seconds)),
    ...row('Rate limit', key.rate_limit_per_minute === null ? 'none' : `${key.rate_limit_per_minute} tokens per minute`),
    ...row('Last used', key.last_used_at ? `${dateTime(key.last_used_at)} from ${key.last_used_ip ?? 'unknown IP'}` : 'never'),
    ...row('Created by', createdByText(key.created_by)),
    ...row('Created', dateTime(key.created_at)),
    ...row('Updated', dateTime(key.updated_at)),
  );

  const usageBox = h('div', { class: 'usage-box' });
  const windows = h('div', { class: 'segmented', role: 'group', 'aria-label': 'Usage window' });
  const showUsage = async (window: '24h' | '7d' | '30d') => {
    windows.replaceChildren(
      ...(['24h', '7d', '30d'] as const).map((w) => {
        const b = h('button', { type: 'button', class: 'button small', 'aria-pressed': String(w === window) }, w);
        b.addEventListener('click', () => void showUsage(w));
        return b;
      }),
    );
    try {
      usageBox.replaceChildren(usageChart(await get<Usage>(`${path}/usage`, { window })));
    } catch (error) {
      usageBox.replaceChildren(h('p', { class: 'muted' }, `Usage is not available: ${describeError(error)}`));
    }
  };

  const audit = h('div', { class: 'table-wrap' }, h('p', { class: 'muted' }, 'Loading…'));
  main.replaceChildren(
    h('p', {}, h('a', { href: '/console/', 'data-link': true }, '← API keys')),
    h('div', { class: 'page-head' }, h('h1', {}, key.name), h('div', { class: 'actions' }, ...actions)),
    errorLine,
    h('section', { class: 'card' }, h('h2', {}, 'Details'), details),
    h('section', { class: 'card' }, h('div', { class: 'section-head' }, h('h2', {}, 'Usage'), windows), usageBox),
    h('section', { class: 'card' }, h('h2', {}, 'Audit trail'), audit),
  );
  void showUsage('7d');
  try {
    const events = (await get<{ data: AuditEvent[] }>('/admin/v1/audit', { target_key_id: key.client_id, limit: 50 })).data;
    audit.replaceChildren(
      events.length === 0
        ? h('p', { class: 'muted' }, 'No events.')
        : h(
            'table',
            { class: 'audit' },
            h('caption', { class: 'visually-hidden' }, 'Audit trail'),
            h('thead', {}, h('tr', {}, ...['When', 'Action', 'Outcome', 'By', 'IP'].map((t) => h('th', { scope: 'col' }, t)))),
            h(
              'tbody',
              {},
              ...events.map((e) =>
                h(
                  'tr',
                  {},
                  h('td', { 'data-label': 'When' }, dateTime(e.at)),
                  h('td', { 'data-label': 'Action' }, e.action),
                  h('td', { 'data-label': 'Outcome' }, e.outcome + (e.reason ? ` (${e.reason})` : '')),
                  h(
                    'td',
                    { 'data-label': 'By' },
                    e.actor_user_id ? `user ${e.actor_user_id === currentUser()?.id ? '(you)' : e.actor_user_id}` : (e.actor_key_id ?? 'system'),
                  ),
                  h('td', { 'data-label': 'IP' }, e.ip ?? ''),
                ),
              ),
            ),
          ),
    );
  } catch (error) {
    audit.replaceChildren(h('p', { class: 'muted' }, `The audit trail is not available: ${describeError(error)}`));
  }
}

async function editKey(key: Key, path: string, done: () => void): Promise<void> {
  const context = await loadFormContext();
  const form = keyForm({ mode: 'edit', kind: key.kind, key, ...context, allowTypedScopes: true });
  const error = h('p', { class: 'form-error', role: 'alert' });
  const save = h('button', { type: 'submit', class: 'button primary', form: form.element.id }, 'Save');
  const cancel = h('button', { type: 'button', class: 'button' }, 'Cancel');
  const dialog = openDialog({ title: `Edit "${key.name}"`, wide: true, body: [form.element, error], actions: [cancel, save] });
  cancel.addEventListener('click', () => dialog.close());
  form.element.addEventListener('submit', async (event) => {
    event.preventDefault();
    const body = form.read();
    if (!body) return;
    try {
      await patch(path, body);
      dialog.close();
      toast('Key saved');
      done();
    } catch (failure) {
      if (failure instanceof ApiError) form.showErrors(failure.details);
      error.textContent = describeError(failure);
    }
  });
}

/** Refresh key: choose a grace, rotate, and show the new secret once in the same dialog. */
function rotateKey(key: Key, path: string, done: () => void): void {
  let panel: SecretPanel | null = null;
  let dialog: OpenDialog | null = null;
  const grace = h('select', { name: 'grace_seconds' }, ...GRACES.map((g) => h('option', { value: String(g.seconds) }, g.label)));
  grace.value = '3600';
  const error = h('p', { class: 'form-error', role: 'alert' });
  const rotate = h('button', { type: 'button', class: 'button primary' }, 'Refresh key');
  const cancel = h('button', { type: 'button', class: 'button' }, 'Cancel');
  const body = h(
    'div',
    { class: 'rotate-body' },
    h('p', {}, `A new secret is issued for "${key.name}" and works at once. During the grace period the old secret keeps working too.`),
    field('Grace period for the old secret', grace),
    error,
  );
  const actionsBox = h('div', { class: 'inline' }, cancel, rotate);
  dialog = openDialog({
    title: `Refresh key "${key.name}"`,
    wide: true,
    body: [body],
    actions: [actionsBox],
    beforeClose: secretCloseGuard(
      () => panel,
      () => dialog?.close(),
    ),
    onClose: () => {
      const rotated = panel !== null;
      panel?.dispose();
      panel = null;
      dialog = null;
      if (rotated) done();
    },
  });
  cancel.addEventListener('click', () => dialog?.close());
  rotate.addEventListener('click', async () => {
    error.textContent = '';
    rotate.disabled = true;
    try {
      const created = await post<CreatedKey>(`${path}/rotate`, { grace_seconds: Number(grace.value) });
      panel = secretPanel(created);
      const accept = h('button', { type: 'button', class: 'button primary' }, 'Accept and close');
      accept.addEventListener('click', () => {
        if (
          secretCloseGuard(
            () => panel,
            () => dialog?.close(),
          )()
        )
          dialog?.close();
      });
      const previous = created.previous_secret_expires_at
        ? `The old secret works until ${dateTime(created.previous_secret_expires_at)}.`
        : 'The old secret has stopped working.';
      body.replaceChildren(h('p', {}, previous), ...panel.nodes);
      actionsBox.replaceChildren(accept);
    } catch (failure) {
      error.textContent = describeError(failure);
      rotate.disabled = false;
    }
  });
}
