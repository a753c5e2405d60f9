// Webhooks: the endpoints of the user's tenant and the tenants below it (URL, event types, status,
// last failure), and New endpoint, whose signing secret is shown once.
import { describeError, get, post } from '../api.ts';
import { showSecretDialog } from '../components/secret-dialog.ts';
import { shownOncePanel } from '../components/secret-panel.ts';
import { openEndpointDialog } from '../components/webhook-form.ts';
import { webhookStatus } from '../components/webhook-status.ts';
import { h } from '../dom.ts';
import { navigate } from '../router.ts';
import { canManageWebhooks } from '../session.ts';
import type { CreatedWebhook, Webhook } from '../types.ts';

export async function webhooksPage(main: HTMLElement): Promise<void> {
  const errorLine = h('p', { class: 'form-error', role: 'alert' });
  const list = h('div', { class: 'table-wrap' }, h('p', { class: 'muted' }, 'Loading…'));
  const actions: Node[] = [];
  if (canManageWebhooks()) {
    const add = h('button', { type: 'button', class: 'button primary' }, 'New endpoint');
    add.addEventListener('click', () => void newEndpoint().catch((error) => (errorLine.textContent = describeError(error))));
    actions.push(add);
  }
  main.replaceChildren(
    h('div', { class: 'page-head' }, h('h1', {}, 'Webhooks'), h('div', { class: 'actions' }, ...actions)),
    h('p', { class: 'muted' }, 'Endpoints receive the events of this tenant and the tenants below it, signed in the Standard Webhooks format.'),
    errorLine,
    list,
  );
  let webhooks: Webhook[];
  try {
    webhooks = (await get<{ data: Webhook[] }>('/admin/v1/webhooks')).data;
  } catch (error) {
    list.replaceChildren();
    errorLine.textContent = describeError(error);
    return;
  }
  if (webhooks.length === 0) {
    list.replaceChildren(h('p', { class: 'empty' }, 'No endpoints yet.'));
    return;
  }
  list.replaceChildren(
    h(
      'table',
      { class: 'stacked webhooks-table' },
      h('caption', { class: 'visually-hidden' }, 'Webhook endpoints'),
      h('thead', {}, h('tr', {}, ...['URL', 'Event types', 'Status', 'Last failure'].map((t) => h('th', { scope: 'col' }, t)))),
      h(
        'tbody',
        {},
        ...webhooks.map((webhook) =>
          h(
            'tr',
            { 'data-webhook-id': webhook.id },
            h(
              'td',
              { 'data-label': 'URL' },
              h('a', { href: `/console/webhooks/${encodeURIComponent(webhook.id)}`, 'data-link': true, class: 'webhook-url' }, webhook.url),
              webhook.description ? h('span', { class: 'muted block' }, webhook.description) : null,
            ),
            h('td', { 'data-label': 'Event types' }, h('span', { class: 'scope-list' }, ...webhook.event_types.map((t) => h('span', { class: 'tag' }, t)))),
            h('td', { 'data-label': 'Status' }, webhookStatus(webhook)),
            h('td', { 'data-label': 'Last failure' }, lastFailure(webhook)),
          ),
        ),
      ),
    ),
  );
}

export function lastFailure(webhook: Webhook): string {
  if (!webhook.failing_since) return '—';
  const times = webhook.consecutive_failures === 1 ? '1 failed attempt' : `${webhook.consecutive_failures} failed attempts`;
  return `${times} since ${new Date(webhook.failing_since).toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'short' })}`;
}

function newEndpoint(): Promise<void> {
  return openEndpointDialog({
    title: 'New webhook endpoint',
    confirm: 'Create endpoint',
    async submit(fields) {
      const created = await post<CreatedWebhook>('/admin/v1/webhooks', fields);
      return () => showWebhookSecret(created, 'Endpoint created', `/console/webhooks/${encodeURIComponent(created.webhook.id)}`);
    },
  });
}

/** The signing secret, once, in the shared secret dialog; then on to the endpoint's page. */
export function showWebhookSecret(created: CreatedWebhook, title: string, then: string): void {
  const panel = shownOncePanel({
    warning: 'Copy the signing secret now: you will not see it again. Your receiver verifies every request with it.',
    rows: [
      { label: 'Endpoint', name: 'url', value: created.webhook.url },
      { label: 'Signing secret', name: 'webhook_secret', value: created.secret, secret: true },
    ],
  });
  showSecretDialog(title, `Events for ${created.webhook.url} are signed with this secret.`, panel, () => navigate(then));
}
