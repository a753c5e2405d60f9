// Tables the people pages share: a person's user keys, and their console sessions with a button
// to end each (the handle names the session; it is no credential).
import { h } from '../dom.ts';
import { dateTime } from '../format.ts';
import type { ConsoleSessionInfo, Key, KeyName } from '../types.ts';
import { expiryBadge, statusBadge } from './badges.ts';

const headRow = (...titles: string[]) => h('thead', {}, h('tr', {}, ...titles.map((t) => h('th', { scope: 'col' }, t))));

export function keysTable(keys: Key[], caption: string, empty: string): HTMLElement {
  if (keys.length === 0) return h('p', { class: 'empty' }, empty);
  return h(
    'div',
    { class: 'table-wrap' },
    h(
      'table',
      { class: 'stacked' },
      h('caption', { class: 'visually-hidden' }, caption),
      headRow('Name', 'Status', 'Scopes', 'Expires'),
      h(
        'tbody',
        {},
        ...keys.map((key) =>
          h(
            'tr',
            { 'data-client-id': key.client_id },
            h('td', { 'data-label': 'Name' }, h('a', { href: `/console/keys/${encodeURIComponent(key.client_id)}`, 'data-link': true }, key.name)),
            h('td', { 'data-label': 'Status' }, statusBadge(key.status)),
            h('td', { 'data-label': 'Scopes' }, h('span', { class: 'scope-list' }, ...key.scopes.map((s) => h('span', { class: 'tag' }, s)))),
            h('td', { 'data-label': 'Expires' }, expiryBadge(key.expires_at)),
          ),
        ),
      ),
    ),
  );
}

export function sessionsTable(sessions: ConsoleSessionInfo[], caption: string, onEnd: ((session: ConsoleSessionInfo) => void) | null): HTMLElement {
  if (sessions.length === 0) return h('p', { class: 'empty' }, 'No live sessions.');
  return h(
    'div',
    { class: 'table-wrap' },
    h(
      'table',
      { class: 'stacked sessions-table' },
      h('caption', { class: 'visually-hidden' }, caption),
      headRow('Browser', 'IP address', 'Signed in', 'Last seen', 'Action'),
      h(
        'tbody',
        {},
        ...sessions.map((session) => {
          const end = onEnd ? h('button', { type: 'button', class: 'button small' }, session.current ? 'Sign out here' : 'End session') : null;
          end?.addEventListener('click', () => onEnd!(session));
          return h(
            'tr',
            { 'data-session': session.current ? 'current' : 'other' },
            h(
              'td',
              { 'data-label': 'Browser' },
              session.user_agent ?? 'Unknown',
              session.current ? h('span', { class: 'badge badge-active current-session' }, 'this session') : null,
            ),
            h('td', { 'data-label': 'IP address' }, session.ip ?? '—'),
            h('td', { 'data-label': 'Signed in' }, dateTime(session.created_at)),
            h('td', { 'data-label': 'Last seen' }, dateTime(session.last_seen_at)),
            h('td', { 'data-label': 'Action' }, end ?? '—'),
          );
        }),
      ),
    ),
  );
}

/** A list of keys by name and client ID, for a dialog that says what a change does to them. */
export function keyNameList(keys: KeyName[]): HTMLElement {
  return h('ul', { class: 'key-names' }, ...keys.map((key) => h('li', {}, h('strong', {}, key.name), ' ', h('code', {}, key.client_id))));
}
