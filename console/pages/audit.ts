// The audit log: events newest first, a page at a time; filters by actor (a user or a key),
// target key, action, outcome and time range, kept in the address so a view can be shared; an
// event's detail in a dialog; and the filtered view as a CSV or JSON Lines download. What a
// person sees is the server's decision: a member's list holds only events about them.
import { describeError, get, withQuery } from '../api.ts';
import { AUDIT_ACTIONS } from '../components/audit-actions.ts';
import { actorText, named, openAuditDetail } from '../components/audit-detail.ts';
import { renderCursorPager } from '../components/cursor-pager.ts';
import { h, setFieldError, uid } from '../dom.ts';
import { dateTime } from '../format.ts';
import { replaceQuery } from '../router.ts';
import { currentUser } from '../session.ts';
import type { AuditPage, Key, LabelledAuditEvent, User } from '../types.ts';

/** The filters the address and the admin API share, by their API names. */
const FILTERS = ['actor_user_id', 'actor_key_id', 'target_key_id', 'action', 'outcome', 'since', 'until'] as const;
const PAGE_SIZE = 50;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export function auditPage(main: HTMLElement, initialQuery: URLSearchParams): void {
  const state = new URLSearchParams();
  for (const name of FILTERS) {
    const value = initialQuery.get(name);
    if (value) state.set(name, value);
  }
  let cursors: (string | null)[] = [null];
  let request = 0;
  const emails = new Map<string, string>(); // email → user id, for typing an email as the actor
  const userEmails = new Map<string, string>(); // user id → email, to show a shared link's actor

  const actorList = h('datalist', { id: uid('actors') });
  const keyList = h('datalist', { id: uid('keys') });
  const actionList = h('datalist', { id: uid('actions') }, ...AUDIT_ACTIONS.map((action) => h('option', { value: action })));
  const actor = h('input', { type: 'text', id: uid('actor'), list: actorList.id, placeholder: 'Email, user ID or key ID', autocomplete: 'off' });
  const target = h('input', { type: 'text', id: uid('target'), list: keyList.id, placeholder: 'Key ID', autocomplete: 'off' });
  const action = h('input', { type: 'text', id: uid('action'), list: actionList.id, placeholder: 'Any action', autocomplete: 'off' });
  const outcome = h(
    'select',
    { id: uid('outcome') },
    h('option', { value: '' }, 'Any'),
    h('option', { value: 'success' }, 'Success'),
    h('option', { value: 'denied' }, 'Denied'),
  );
  const since = h('input', { type: 'datetime-local', id: uid('since') });
  const until = h('input', { type: 'datetime-local', id: uid('until') });
  const apply = h('button', { type: 'submit', class: 'button primary' }, 'Apply filters');
  const reset = h('button', { type: 'button', class: 'button' }, 'Clear');
  const field = (label: string, control: HTMLElement) =>
    h('div', { class: 'field' }, h('label', { for: control.id }, label), control, h('p', { class: 'field-error', id: `${control.id}-error` }));
  const form = h(
    'form',
    { class: 'toolbar audit-filters', role: 'search', 'aria-label': 'Filter events', novalidate: true },
    field('Actor', actor),
    field('Target key', target),
    field('Action', action),
    field('Outcome', outcome),
    field('From', since),
    field('Until', until),
    h('div', { class: 'field align-end audit-filter-actions' }, apply, reset),
    actorList,
    keyList,
    actionList,
  );
  const exportCsv = h('a', { class: 'button', download: '', 'data-export': 'csv' }, 'Export CSV');
  const exportJsonl = h('a', { class: 'button', download: '', 'data-export': 'jsonl' }, 'Export JSON Lines');
  const errorLine = h('p', { class: 'form-error', role: 'alert' });
  const summary = h('p', { class: 'muted', 'aria-live': 'polite' });
  const table = h('div', { class: 'table-wrap' }, h('p', { class: 'muted' }, 'Loading…'));
  const pager = h('div', { class: 'pager' });
  const ownOnly = currentUser()?.role === 'member';

  main.replaceChildren(
    h('div', { class: 'page-head' }, h('h1', {}, 'Audit log'), h('div', { class: 'actions' }, exportCsv, exportJsonl)),
    h(
      'p',
      { class: 'muted' },
      ownOnly
        ? 'Events about you: what you did, and what was done to your keys.'
        : 'Who did what, to which key, from where and when, in this account and the accounts below it.',
    ),
    form,
    errorLine,
    summary,
    table,
    pager,
  );

  function showFilters(): void {
    const userId = state.get('actor_user_id');
    actor.value = state.get('actor_key_id') ?? (userId ? (userEmails.get(userId) ?? userId) : '');
    target.value = state.get('target_key_id') ?? '';
    action.value = state.get('action') ?? '';
    outcome.value = state.get('outcome') ?? '';
    since.value = toLocalInput(state.get('since'));
    until.value = toLocalInput(state.get('until'));
  }

  /** The form's values as API filters, or undefined after marking what is wrong. */
  function readFilters(): URLSearchParams | undefined {
    const next = new URLSearchParams();
    let ok = true;
    for (const control of [actor, since, until]) setFieldError(control, '');
    const who = actor.value.trim();
    if (who.startsWith('kg_')) next.set('actor_key_id', who);
    else if (UUID.test(who)) next.set('actor_user_id', who.toLowerCase());
    else if (who.includes('@')) {
      const id = emails.get(who.toLowerCase());
      if (id) next.set('actor_user_id', id);
      else {
        setFieldError(actor, 'No user with this email here; enter their user ID instead');
        ok = false;
      }
    } else if (who) {
      setFieldError(actor, 'Enter an email, a user ID or a key ID (kg_…)');
      ok = false;
    }
    if (target.value.trim()) next.set('target_key_id', target.value.trim());
    if (action.value.trim()) next.set('action', action.value.trim());
    if (outcome.value) next.set('outcome', outcome.value);
    const from = fromLocalInput(since.value);
    const to = fromLocalInput(until.value);
    if (from) next.set('since', from);
    if (to) next.set('until', to);
    if (from && to && from >= to) {
      setFieldError(until, 'Until must be later than From');
      ok = false;
    }
    return ok ? next : undefined;
  }

  form.addEventListener('submit', (event) => {
    event.preventDefault();
    const next = readFilters();
    if (!next) return;
    replaceWith(next);
  });
  reset.addEventListener('click', () => {
    for (const control of [actor, target, action, since, until]) setFieldError(control, '');
    replaceWith(new URLSearchParams());
    showFilters();
  });

  function replaceWith(next: URLSearchParams): void {
    for (const name of FILTERS) state.delete(name);
    for (const [name, value] of next) state.set(name, value);
    replaceQuery(state);
    cursors = [null];
    void load();
  }

  function filterQuery(): Record<string, string> {
    return Object.fromEntries(state);
  }

  async function load(): Promise<void> {
    const mine = ++request;
    errorLine.textContent = '';
    // The download goes to the same-origin route with the session cookie; no credential is in the address.
    exportCsv.href = withQuery('/admin/v1/audit/export', { format: 'csv', ...filterQuery() });
    exportJsonl.href = withQuery('/admin/v1/audit/export', { format: 'jsonl', ...filterQuery() });
    const cursor = cursors[cursors.length - 1];
    try {
      const page = await get<AuditPage>('/admin/v1/audit', { ...filterQuery(), include: 'labels', limit: PAGE_SIZE, cursor });
      if (mine !== request) return;
      renderTable(page.data);
      renderPager(page);
    } catch (error) {
      if (mine !== request) return;
      table.replaceChildren();
      errorLine.textContent = describeError(error);
    }
  }

  function renderTable(events: LabelledAuditEvent[]): void {
    const filtered = FILTERS.some((name) => state.has(name));
    summary.textContent = `${events.length} event${events.length === 1 ? '' : 's'} on this page${filtered ? ', filtered' : ''}.`;
    if (events.length === 0) {
      table.replaceChildren(h('p', { class: 'empty' }, filtered ? 'No events match these filters.' : 'No events yet.'));
      return;
    }
    table.replaceChildren(
      h(
        'table',
        { class: 'audit audit-log' },
        h('caption', { class: 'visually-hidden' }, 'Audit events, newest first'),
        h('thead', {}, h('tr', {}, ...['When', 'Action', 'Outcome', 'Actor', 'Target', 'IP', ''].map((t) => h('th', { scope: 'col' }, t)))),
        h(
          'tbody',
          {},
          ...events.map((event) => {
            const open = h('button', { type: 'button', class: 'button small', 'aria-label': `Details of ${event.action} at ${dateTime(event.at)}` }, 'Details');
            open.addEventListener('click', () => openAuditDetail(event));
            return h(
              'tr',
              { 'data-event-id': event.id, 'data-action': event.action, 'data-outcome': event.outcome },
              h('td', { 'data-label': 'When' }, h('time', { datetime: event.at }, dateTime(event.at))),
              h('td', { 'data-label': 'Action' }, event.action),
              h(
                'td',
                { 'data-label': 'Outcome' },
                h('span', { class: `badge outcome-${event.outcome}` }, event.outcome),
                event.reason ? h('span', { class: 'muted block' }, event.reason) : null,
              ),
              h('td', { 'data-label': 'Actor' }, actorText(event)),
              h('td', { 'data-label': 'Target' }, targetText(event)),
              h('td', { 'data-label': 'IP' }, event.ip ?? ''),
              h('td', { 'data-label': 'Details', class: 'row-actions' }, open),
            );
          }),
        ),
      ),
    );
  }

  function renderPager(page: AuditPage): void {
    renderCursorPager(pager, cursors, page.next_cursor, { back: 'Newer', forward: 'Older' }, () => void load());
  }

  /** Names to pick from: the tenant's users (for those who may list them) and the keys the caller sees. */
  async function loadChoices(): Promise<void> {
    const user = currentUser();
    if (!user) return;
    const [users, keys] = await Promise.all([
      user.role === 'admin'
        ? get<{ data: User[] }>('/admin/v1/users').then(
            (r) => r.data,
            () => [] as User[],
          )
        : Promise.resolve([user as unknown as User]),
      get<{ data: Key[] }>('/admin/v1/keys', { limit: 200 }).then(
        (r) => r.data,
        () => [] as Key[],
      ),
    ]);
    for (const u of users) {
      emails.set(u.email.toLowerCase(), u.id);
      userEmails.set(u.id, u.email);
    }
    actorList.replaceChildren(
      ...users.map((u) => h('option', { value: u.email }, `user ${u.email}`)),
      ...keys.map((k) => h('option', { value: k.client_id }, `key ${k.name}`)),
    );
    keyList.replaceChildren(...keys.map((k) => h('option', { value: k.client_id }, k.name)));
    if (document.activeElement !== actor) showFilters();
  }

  showFilters();
  void loadChoices();
  void load();
}

function targetText(event: LabelledAuditEvent): string {
  if (event.target_key_id) return `key ${named(event.target_key_name, event.target_key_id)}`;
  const userId = event.details?.user_id;
  if (typeof userId === 'string') return `user ${event.target_user_email ?? userId}`;
  return '—';
}

/** An ISO time as a datetime-local value in the browser's time zone. */
function toLocalInput(iso: string | null): string {
  if (!iso) return '';
  const at = new Date(iso);
  if (Number.isNaN(at.getTime())) return '';
  const local = new Date(at.getTime() - at.getTimezoneOffset() * 60_000);
  return local.toISOString().slice(0, 16);
}

/** A datetime-local value (the browser's time zone) as an ISO time, or '' when empty or invalid. */
function fromLocalInput(value: string): string {
  if (!value) return '';
  const at = new Date(value);
  return Number.isNaN(at.getTime()) ? '' : at.toISOString();
}
