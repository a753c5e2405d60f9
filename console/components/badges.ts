// Status and expiry badges: colour plus a word, never colour alone.
import { h } from '../dom.ts';
import { expiry } from '../format.ts';
import type { Key } from '../types.ts';

export function statusBadge(status: Key['status']): HTMLElement {
  return h('span', { class: `badge badge-${status}` }, status);
}

export function expiryBadge(expiresAt: string | null): HTMLElement {
  const { text, tone } = expiry(expiresAt);
  return h('span', { class: `expiry expiry-${tone}`, title: expiresAt ?? 'never expires' }, text);
}

export function createdByText(createdBy: Key['created_by']): string {
  if (!createdBy) return '—';
  if (typeof createdBy === 'string') return createdBy;
  return createdBy.label || createdBy.id;
}
