// One webhook endpoint: its settings and Edit; disable / enable; a new signing secret (shown once); delete
// with a red confirmation naming the endpoint; its delivery log (status, latency, the receiver's
// answer, every attempt) with Redeliver on each delivery.
import { ApiError, del, describeError, get, patch, post } from '../api.ts';
import { confirmDialog } from '../components/dialog.ts';
import { openEndpointDialog } from '../components/webhook-form.ts';
import { webhookStatus } from '../components/webhook-status.ts';
import { renderNotFound } from '../components/not-found.ts';
import { h, toast } from '../dom.ts';
import { dateTime } from '../format.ts';
import { navigate } from '../router.ts';
import { canManageWebhooks } from '../session.ts';
import type { CreatedWebhook, DeliveryAttempt, Webhook, WebhookDelivery } from '../types.ts';
import { lastFailure, showWebhookSecret } from './webhooks.ts';

export async function webhookPage(main: HTMLElement, id: string): Promise<void> {
  main.replaceChildren(h('p', { class: 'muted' }, 'Loading…'));
  const path = `/admin/v1/webhooks/${encodeURIComponent(id)}`;
  let webhook: Webhook;
  try {
    webhook = (await get<{ webhook: Webhook }>(path)).webhook;
  } catch (error) {
    if (error instanceof ApiError && error.status === 404) return renderNotFound(main);
    main.replaceChildren(
      h(
        'div',
        { class: 'card' },
        h('h1', {}, 'Endpoint not available'),
        h('p', { role: 'alert' }, describeError(error)),
        h('a', { href: '/console/webhooks', 'data-link': true }, 'Back to the webhooks'),
      ),
    );
    return;
  }
  const here = `/console/webhooks/${encodeURIComponent(id)}`;
  const refresh = () => void webhookPage(main, id);
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
  const writable = canManageWebhooks();
  const button = (label: string, handler: () => void, tone = '') => {
    const b = h('button', { type: 'button', class: `button ${tone}`.trim() }, label);
    b.addEventListener('click', handler);
    return b;
  };

  const actions: Node[] = [];
  if (writable) {
    actions.push(
      button(
        'Edit',
        () =>
          void openEndpointDialog({
            title: 'Edit endpoint',
            confirm: 'Save',
            initial: webhook,
            async submit(fields) {
              await patch(path, fields);
              toast('Endpoint saved');
              return refresh;
            },
          }).catch((error) => (errorLine.textContent = describeError(error))),
      ),
      webhook.status === 'disabled'
        ? button('Enable', () => void run(() => post(`${path}/enable`), 'Endpoint enabled: waiting deliveries are sent'))
        : button('Disable', () => void run(() => post(`${path}/disable`), 'Endpoint disabled: deliveries wait')),
      button('New signing secret', async () => {
        const yes = await confirmDialog({
          title: 'Replace the signing secret?',
          message: 'The current secret stops signing at once: update your receiver with the new one right away.',
          confirm: 'Replace the secret',
        });
        if (!yes) return;
        try {
          showWebhookSecret(await post<CreatedWebhook>(`${path}/rotate-secret`), 'New signing secret', here);
        } catch (error) {
          errorLine.textContent = describeError(error);
        }
      }),
      button(
        'Delete',
        async () => {
          const yes = await confirmDialog({
            title: 'Delete this endpoint?',
            danger: true,
            message: [
              h('p', {}, 'Delete the endpoint ', h('strong', {}, webhook.url), ' and its delivery log? It receives no more events. This cannot be undone.'),
            ],
            confirm: 'Delete endpoint',
          });
          if (!yes) return;
          try {
            await del(path);
            toast(`Deleted ${webhook.url}`);
            navigate('/console/webhooks');
          } catch (error) {
            errorLine.textContent = describeError(error);
          }
        },
        'danger',
      ),
    );
  }

  const row = (label: string, value: Node | string) => [h('dt', {}, label), h('dd', {}, value)];
  const deliveries = h('div', { class: 'table-wrap' }, h('p', { class: 'muted' }, 'Loading…'));
  const reloadLog = button('Refresh', () => void loadDeliveries(), 'small');
  main.replaceChildren(
    h('p', {}, h('a', { href: '/console/webhooks', 'data-link': true }, '← Webhooks')),
    h('div', { class: 'page-head' }, h('h1', { class: 'webhook-title' }, webhook.url), h('div', { class: 'actions' }, ...actions)),
    errorLine,
    h(
      'dl',
      { class: 'details' },
      ...row('Status', webhookStatus(webhook)),
      ...row('Description', webhook.description ?? '—'),
      ...row('Event types', h('span', { class: 'scope-list' }, ...webhook.event_types.map((t) => h('span', { class: 'tag' }, t)))),
      ...row('Last failure', lastFailure(webhook)),
      ...row('Created', dateTime(webhook.created_at)),
      ...row('Endpoint ID', h('code', {}, webhook.id)),
    ),
    h(
      'section',
      { 'aria-labelledby': 'deliveries-title' },
      h('div', { class: 'section-head' }, h('h2', { id: 'deliveries-title' }, 'Deliveries'), reloadLog),
      deliveries,
    ),
  );

  async function loadDeliveries(): Promise<void> {
    let log: WebhookDelivery[];
    try {
      log = (await get<{ data: WebhookDelivery[] }>(`${path}/deliveries`, { limit: 50 })).data;
    } catch (error) {
      deliveries.replaceChildren(h('p', { role: 'alert', class: 'form-error' }, describeError(error)));
      return;
    }
    if (log.length === 0) {
      deliveries.replaceChildren(h('p', { class: 'empty' }, 'Nothing delivered yet.'));
      return;
    }
    deliveries.replaceChildren(
      h(
        'table',
        { class: 'stacked deliveries-table' },
        h('caption', { class: 'visually-hidden' }, 'Deliveries, newest first'),
        h('thead', {}, h('tr', {}, ...['Event', 'Status', 'Latency', 'Response', 'Attempts', ''].map((t) => h('th', { scope: 'col' }, t)))),
        h('tbody', {}, ...log.map((delivery) => deliveryRow(delivery))),
      ),
    );
  }

  function deliveryRow(delivery: WebhookDelivery): HTMLTableRowElement {
    const last: DeliveryAttempt | undefined = delivery.attempt_log.at(-1);
    const cells: Node[] = [
      h(
        'td',
        { 'data-label': 'Event' },
        h('span', { class: 'tag' }, delivery.type),
        h('span', { class: 'muted block' }, dateTime(delivery.created_at)),
        h('code', { class: 'event-id', title: 'webhook-id' }, delivery.event_id),
      ),
      h(
        'td',
        { 'data-label': 'Status' },
        h('span', { class: `badge delivery-${delivery.status}`, 'data-status': delivery.status }, delivery.status),
        last ? h('span', { class: 'muted block' }, last.status_code === null ? 'no answer' : `HTTP ${last.status_code}`) : null,
      ),
      h('td', { 'data-label': 'Latency' }, last ? `${last.latency_ms} ms` : '—'),
      h('td', { 'data-label': 'Response' }, last ? h('code', { class: 'excerpt' }, last.error ?? last.response_excerpt ?? '(empty)') : '—'),
      h('td', { 'data-label': 'Attempts' }, attemptsCell(delivery)),
    ];
    const rowActions = h('td', { class: 'row-actions' });
    if (writable) {
      const again = button(
        'Redeliver',
        async () => {
          again.disabled = true;
          try {
            await post(`${path}/deliveries/${encodeURIComponent(delivery.id)}/redeliver`);
            toast(`Queued ${delivery.type} again`);
            await loadDeliveries();
          } catch (error) {
            again.disabled = false;
            errorLine.textContent = describeError(error);
          }
        },
        'small',
      );
      again.setAttribute('aria-label', `Redeliver ${delivery.type} of ${dateTime(delivery.created_at)}`);
      rowActions.appendChild(again);
    }
    return h('tr', { 'data-delivery-id': delivery.id, 'data-event-id': delivery.event_id }, ...cells, rowActions);
  }

  await loadDeliveries();
}

/** The count, and every attempt behind a disclosure: when, the answer, how long it took. */
function attemptsCell(delivery: WebhookDelivery): Node {
  if (delivery.attempt_log.length === 0) return document.createTextNode(String(delivery.attempts));
  return h(
    'details',
    {},
    h('summary', {}, String(delivery.attempts)),
    h(
      'ol',
      { class: 'attempts' },
      ...delivery.attempt_log.map((attempt) =>
        h(
          'li',
          {},
          `${dateTime(attempt.at)}: ${attempt.status_code === null ? 'no answer' : `HTTP ${attempt.status_code}`}, ${attempt.latency_ms} ms`,
          attempt.error ? ` (${attempt.error})` : '',
        ),
      ),
    ),
  );
}
