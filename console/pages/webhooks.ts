// Webhooks: the endpoints of the user's tenant and the tenants below it (URL, event types, status,
// last failure), and New endpoint, whose signing secret is shown once.
import { ApiError, describeError, get, post } from '../api.ts';
import { openDialog } from '../components/dialog.ts';
import { eventTypesInput, loadEventTypes } from '../components/event-types.ts';
import { showSecretDialog } from '../components/secret-dialog.ts';
import { shownOncePanel } from '../components/secret-panel.ts';
import { webhookStatus } from '../components/webhook-status.ts';
import { field, h, setFieldError } from '../dom.ts';
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

async function newEndpoint(): Promise<void> {
  const types = await loadEventTypes();
  const url = h('input', {
    type: 'url',
    name: 'url',
    required: true,
    autocomplete: 'off',
    placeholder: 'https://example.com/keygate-events',
    inputmode: 'url',
  });
  const description = h('input', { type: 'text', name: 'description', autocomplete: 'off' });
  const events = eventTypesInput(types, ['key.expiring', 'key.expired']);
  const error = h('p', { class: 'form-error', role: 'alert' });
  const save = h('button', { type: 'submit', class: 'button primary', form: 'webhook-form' }, 'Create endpoint');
  const cancel = h('button', { type: 'button', class: 'button' }, 'Cancel');
  const form = h(
    'form',
    { id: 'webhook-form', novalidate: true },
    field('Endpoint URL', url, 'HTTPS, reachable from Keygate. Redirects are not followed.'),
    field('Description', description),
    events.element,
  );
  const dialog = openDialog({ title: 'New webhook endpoint', wide: true, body: [form, error], actions: [cancel, save] });
  cancel.addEventListener('click', () => dialog.close());
  const eventsError = events.element.querySelector<HTMLElement>('[data-error-for="event_types"]')!;
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    error.textContent = '';
    const chosen = events.chosen();
    const urlOk = /^https?:\/\/\S+$/i.test(url.value.trim());
    setFieldError(url, urlOk ? '' : 'Enter the full URL, starting with https://');
    eventsError.textContent = chosen.length > 0 ? '' : 'Choose at least one event type';
    if (!urlOk) return url.focus();
    if (chosen.length === 0) return events.first?.focus();
    save.disabled = true;
    try {
      const created = await post<CreatedWebhook>('/admin/v1/webhooks', {
        url: url.value.trim(),
        description: description.value.trim() || null,
        event_types: chosen,
      });
      dialog.close();
      showWebhookSecret(created, 'Endpoint created', `/console/webhooks/${encodeURIComponent(created.webhook.id)}`);
    } catch (failure) {
      save.disabled = false;
      if (failure instanceof ApiError) {
        for (const detail of failure.details) if (detail.field === 'url') setFieldError(url, detail.message);
        error.textContent = describeError(failure);
      } else error.textContent = String(failure);
    }
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
