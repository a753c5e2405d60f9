// The key table's columns, and which of them the user chose to see. Only the chosen column names
// are kept in localStorage: never a key, a secret or anything from the server.
import { h } from '../dom.ts';
import { dateTime } from '../format.ts';
import type { Key } from '../types.ts';
import { createdByText, expiryBadge, statusBadge } from './badges.ts';
import { sparkline } from './sparkline.ts';

export interface Column {
  id: string;
  label: string;
  /** The `sort` value of the list API, if the column sorts. */
  sort?: string;
  cell(key: Key): Node | string;
}

export const COLUMNS: readonly Column[] = [
  {
    id: 'name',
    label: 'Name',
    sort: 'name',
    cell: (key) => h('a', { href: `/console/keys/${encodeURIComponent(key.client_id)}`, 'data-link': true }, key.name),
  },
  { id: 'client_id', label: 'Client ID', cell: (key) => h('code', {}, key.client_id) },
  {
    id: 'kind',
    label: 'Kind',
    cell: (key) =>
      key.kind === 'user' ? h('span', {}, 'User key', h('br'), h('span', { class: 'muted' }, key.user_email ?? key.user_id ?? '')) : 'Account key',
  },
  { id: 'scopes', label: 'Scopes', cell: (key) => h('span', { class: 'scope-list' }, ...key.scopes.map((s) => h('span', { class: 'tag' }, s))) },
  { id: 'networks', label: 'Networks', cell: (key) => (key.networks.length === 0 ? h('span', { class: 'muted' }, 'Any IP') : key.networks.join(', ')) },
  { id: 'status', label: 'Status', cell: (key) => statusBadge(key.status) },
  { id: 'expires', label: 'Expires', sort: 'expires_at', cell: (key) => expiryBadge(key.expires_at) },
  {
    id: 'last_used',
    label: 'Last used',
    sort: 'last_used_at',
    cell: (key) =>
      key.last_used_at
        ? h('span', {}, dateTime(key.last_used_at), h('br'), h('span', { class: 'muted' }, key.last_used_ip ?? ''))
        : h('span', { class: 'muted' }, 'never'),
  },
  { id: 'created_by', label: 'Created by', cell: (key) => createdByText(key.created_by) },
  { id: 'created', label: 'Created', sort: 'created_at', cell: (key) => dateTime(key.created_at) },
  { id: 'usage', label: 'Usage (7 days)', cell: (key) => sparkline(key.usage_7d) },
];

const STORAGE_KEY = 'keygate.console.columns';
const DEFAULT_HIDDEN = new Set(['created']);

export function chosenColumns(): Column[] {
  try {
    const saved: unknown = JSON.parse(localStorage.getItem(STORAGE_KEY) ?? 'null');
    if (Array.isArray(saved)) {
      const ids = new Set(saved.filter((id): id is string => typeof id === 'string'));
      const columns = COLUMNS.filter((c) => ids.has(c.id) || c.id === 'name');
      if (columns.length > 0) return columns;
    }
  } catch {
    // unreadable: fall back to the defaults
  }
  return COLUMNS.filter((c) => !DEFAULT_HIDDEN.has(c.id));
}

export function saveColumns(ids: string[]): void {
  localStorage.setItem(STORAGE_KEY, JSON.stringify(COLUMNS.map((c) => c.id).filter((id) => ids.includes(id))));
}
