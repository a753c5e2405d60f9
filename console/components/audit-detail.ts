// One audit event in a dialog: when, what, who (the user's email, the key's name and id), which
// key or user it concerned, from which address and request, and what changed, field by field.
import { openDialog } from './dialog.ts';
import { h } from '../dom.ts';
import { dateTime } from '../format.ts';
import type { LabelledAuditEvent } from '../types.ts';

interface FieldChange {
  from: unknown;
  to: unknown;
}

const show = (value: unknown): string => (value === null || value === undefined ? '—' : typeof value === 'string' ? value : JSON.stringify(value));

/** "alice@example.com (9f1c…)" or the bare id when the name is not the caller's to see. */
export function named(label: string | null | undefined, id: string | null): string {
  if (id === null) return '—';
  return label ? `${label} (${id})` : id;
}

export function actorText(event: LabelledAuditEvent): string {
  const parts: string[] = [];
  if (event.actor_user_id) parts.push(event.actor_user_email ?? event.actor_user_id);
  if (event.actor_key_id) parts.push(`key ${event.actor_key_name ?? event.actor_key_id}`);
  return parts.length > 0 ? parts.join(' with ') : 'Keygate';
}

export function openAuditDetail(event: LabelledAuditEvent): void {
  const { via, changes, ...rest } = (event.details ?? {}) as { via?: unknown; changes?: Record<string, FieldChange> } & Record<string, unknown>;
  const changeRows = Object.entries(changes ?? {});
  const row = (label: string, value: Node | string, name: string) => [h('dt', {}, label), h('dd', { 'data-detail': name }, value)];
  const keyLink = (id: string, label: string) => h('a', { href: `/console/keys/${encodeURIComponent(id)}`, 'data-link': true }, label);
  openDialog({
    title: `Event ${event.action}`,
    wide: true,
    body: [
      h(
        'dl',
        { class: 'details' },
        row('When', `${dateTime(event.at)} (${event.at})`, 'at'),
        row('Outcome', event.outcome + (event.reason ? ` (${event.reason})` : ''), 'outcome'),
        row('User', named(event.actor_user_email, event.actor_user_id), 'actor_user'),
        row('Acting key', named(event.actor_key_name, event.actor_key_id), 'actor_key'),
        row('Through', show(via), 'via'),
        row('Key', event.target_key_id ? keyLink(event.target_key_id, named(event.target_key_name, event.target_key_id)) : '—', 'target_key'),
        ...(typeof rest.user_id === 'string' ? row('About user', named(event.target_user_email, rest.user_id), 'target_user') : []),
        row('IP address', event.ip ?? '—', 'ip'),
        row('Request ID', event.request_id ? h('code', {}, event.request_id) : '—', 'request_id'),
        row('Event ID', event.id, 'id'),
      ),
      h('h3', {}, 'What changed'),
      changeRows.length === 0
        ? h('p', { class: 'muted', 'data-detail': 'no-changes' }, 'No field values were recorded for this event.')
        : h(
            'table',
            { class: 'audit-changes' },
            h('caption', { class: 'visually-hidden' }, 'Changed fields'),
            h('thead', {}, h('tr', {}, ...['Field', 'Before', 'After'].map((t) => h('th', { scope: 'col' }, t)))),
            h(
              'tbody',
              {},
              ...changeRows.map(([field, change]) =>
                h('tr', { 'data-field-change': field }, h('th', { scope: 'row' }, field), h('td', {}, show(change.from)), h('td', {}, show(change.to))),
              ),
            ),
          ),
      Object.keys(rest).length === 0
        ? h('span', { hidden: true })
        : h(
            'div',
            {},
            h('h3', {}, 'Recorded details'),
            h('dl', { class: 'details' }, ...Object.entries(rest).flatMap(([name, value]) => row(name, show(value), `extra-${name}`))),
          ),
    ],
  });
}
