// An endpoint's status as a badge: colour plus words, and why it is disabled.
import { h } from '../dom.ts';
import type { Webhook } from '../types.ts';

export function webhookStatus(webhook: Webhook): HTMLElement {
  const why = webhook.status === 'disabled' && webhook.disabled_reason === 'sustained_failure' ? ' (failing)' : '';
  return h('span', { class: `badge badge-${webhook.status}`, 'data-status': webhook.status }, `${webhook.status}${why}`);
}
