// The API-keys page: counters that filter in one click, search, filters, server-side sorting and
// paging, a column chooser, and the New account key / New user key dialogs. The filters live in
// the address, so a reload or a shared link shows the same list.
import { describeError, get } from '../api.ts';
import { COLUMNS, chosenColumns, saveColumns } from '../components/columns.ts';
import { renderCursorPager } from '../components/cursor-pager.ts';
import { openDialog } from '../components/dialog.ts';
import { openNewKeyDialog } from '../components/new-key-dialog.ts';
import { h, uid } from '../dom.ts';
import { replaceQuery } from '../router.ts';
import { activeTenantId, canManageTenantKeys, canWrite, currentUser } from '../session.ts';
import type { KeyPage, User } from '../types.ts';

const FILTERS = ['q', 'status', 'kind', 'user_id', 'sort', 'expiring_within'] as const;
const PAGE_SIZE = 25;

export function keysPage(main: HTMLElement, initialQuery: URLSearchParams): void {
  const state = new URLSearchParams();
  for (const name of FILTERS) {
    const value = initialQuery.get(name);
    if (value) state.set(name, value);
  }
  let cursors: (string | null)[] = [null]; // cursor of each page seen so far; last = current page
  let request = 0;

  const search = h('input', { type: 'search', id: uid('search'), placeholder: 'Name or client ID', value: state.get('q') ?? '' });
  const status = h(
    'select',
    { id: uid('status') },
    h('option', { value: '' }, 'Any'),
    h('option', { value: 'active' }, 'Active'),
    h('option', { value: 'disabled' }, 'Disabled'),
    h('option', { value: 'expired' }, 'Expired'),
  );
  status.value = state.get('status') ?? '';
  const kind = h(
    'select',
    { id: uid('kind') },
    h('option', { value: '' }, 'Any'),
    h('option', { value: 'service' }, 'Account keys'),
    h('option', { value: 'user' }, 'User keys'),
  );
  kind.value = state.get('kind') ?? '';
  // Only admins may list users; everyone else sees at most their own keys anyway.
  const user = h('select', { id: uid('user') }, h('option', { value: '' }, 'Anyone'));
  const userField = h('div', { class: 'field' }, h('label', { for: user.id }, 'User'), user);
  userField.hidden = currentUser()?.role !== 'admin';
  if (!userField.hidden) {
    void get<{ data: User[] }>('/admin/v1/users', { tenant_id: activeTenantId() }).then(
      ({ data }) => {
        user.append(...data.map((u) => h('option', { value: u.id }, u.email)));
        user.value = state.get('user_id') ?? '';
      },
      () => (userField.hidden = true),
    );
  }
  const counters = h('div', { class: 'counters', role: 'group', 'aria-label': 'Key counters' });
  const table = h('div', { class: 'table-wrap' });
  const pager = h('div', { class: 'pager' });
  const summary = h('p', { class: 'muted', 'aria-live': 'polite' });

  const toolbarActions: Node[] = [];
  if (canManageTenantKeys()) {
    const newAccount = h('button', { type: 'button', class: 'button primary' }, 'New account key');
    newAccount.addEventListener('click', () => void openNewKeyDialog('service', () => reload()).catch(showError));
    toolbarActions.push(newAccount);
  }
  if (canWrite()) {
    const newUser = h('button', { type: 'button', class: 'button' }, 'New user key');
    newUser.addEventListener('click', () => void openNewKeyDialog('user', () => reload()).catch(showError));
    toolbarActions.push(newUser);
  }
  const columnsButton = h('button', { type: 'button', class: 'button' }, 'Columns');
  columnsButton.addEventListener('click', () => chooseColumns(() => void load()));

  const setFilter = (name: string, value: string) => {
    if (value) state.set(name, value);
    else state.delete(name);
    replaceQuery(state);
    reload();
  };
  let searchTimer: ReturnType<typeof setTimeout> | undefined;
  search.addEventListener('input', () => {
    clearTimeout(searchTimer);
    searchTimer = setTimeout(() => setFilter('q', search.value.trim()), 250);
  });
  status.addEventListener('change', () => {
    state.delete('expiring_within');
    setFilter('status', status.value);
  });
  kind.addEventListener('change', () => setFilter('kind', kind.value));
  user.addEventListener('change', () => setFilter('user_id', user.value));

  const errorLine = h('p', { class: 'form-error', role: 'alert' });
  function showError(error: unknown) {
    errorLine.textContent = describeError(error);
  }

  main.replaceChildren(
    h('div', { class: 'page-head' }, h('h1', {}, 'API keys'), h('div', { class: 'actions' }, ...toolbarActions)),
    counters,
    h(
      'div',
      { class: 'toolbar', role: 'search' },
      h('div', { class: 'field' }, h('label', { for: search.id }, 'Search'), search),
      h('div', { class: 'field' }, h('label', { for: status.id }, 'Status'), status),
      h('div', { class: 'field' }, h('label', { for: kind.id }, 'Kind'), kind),
      userField,
      h('div', { class: 'field align-end' }, columnsButton),
    ),
    errorLine,
    summary,
    table,
    pager,
  );

  function reload() {
    cursors = [null];
    void load();
  }

  async function load(): Promise<void> {
    const mine = ++request;
    errorLine.textContent = '';
    const query: Record<string, string | number> = { limit: PAGE_SIZE };
    for (const [name, value] of state) query[name] = value;
    const cursor = cursors[cursors.length - 1];
    if (cursor) query.cursor = cursor;
    try {
      const page = await get<KeyPage>('/admin/v1/keys', query);
      if (mine !== request) return; // a newer request is on its way
      renderCounters(page);
      renderTable(page);
      renderPager(page);
    } catch (error) {
      if (mine === request) showError(error);
    }
  }

  function renderCounters(page: KeyPage) {
    const counter = (label: string, count: number, tone: string, active: boolean, apply: () => void) => {
      const button = h(
        'button',
        { type: 'button', class: `counter counter-${tone}`, 'aria-pressed': String(active) },
        h('span', { class: 'counter-n' }, String(count)),
        ` ${label}`,
      );
      button.addEventListener('click', apply);
      return button;
    };
    const expiringActive = state.get('expiring_within') === '30d';
    counters.replaceChildren(
      counter('expired', page.counts.expired, 'red', state.get('status') === 'expired', () => {
        state.delete('expiring_within');
        status.value = state.get('status') === 'expired' ? '' : 'expired';
        setFilter('status', status.value);
      }),
      counter('expiring within 30 days', page.counts.expiring_30d, 'yellow', expiringActive, () => {
        state.delete('status');
        status.value = '';
        setFilter('expiring_within', expiringActive ? '' : '30d');
      }),
      counter('disabled', page.counts.disabled, 'grey', state.get('status') === 'disabled', () => {
        state.delete('expiring_within');
        status.value = state.get('status') === 'disabled' ? '' : 'disabled';
        setFilter('status', status.value);
      }),
    );
  }

  function renderTable(page: KeyPage) {
    const columns = chosenColumns();
    const sort = state.get('sort') ?? '-created_at';
    const header = columns.map((column) => {
      if (!column.sort) return h('th', { scope: 'col' }, column.label);
      const direction = sort === column.sort ? 'ascending' : sort === `-${column.sort}` ? 'descending' : null;
      const button = h(
        'button',
        { type: 'button', class: 'sort' },
        column.label,
        h('span', { 'aria-hidden': 'true' }, direction === 'ascending' ? ' ▲' : direction === 'descending' ? ' ▼' : ''),
      );
      button.addEventListener('click', () => setFilter('sort', direction === 'ascending' ? `-${column.sort}` : column.sort!));
      return h('th', { scope: 'col', 'aria-sort': direction ?? 'none' }, button);
    });
    summary.textContent = `${page.data.length} key${page.data.length === 1 ? '' : 's'} on this page, ${page.counts.total} in all.`;
    if (page.data.length === 0) {
      table.replaceChildren(h('p', { class: 'empty' }, 'No keys match.'));
      return;
    }
    table.replaceChildren(
      h(
        'table',
        { class: 'keys' },
        h('caption', { class: 'visually-hidden' }, 'API keys'),
        h('thead', {}, h('tr', {}, ...header)),
        h(
          'tbody',
          {},
          ...page.data.map((key) =>
            h('tr', { 'data-client-id': key.client_id }, ...columns.map((column) => h('td', { 'data-label': column.label }, column.cell(key)))),
          ),
        ),
      ),
    );
  }

  function renderPager(page: KeyPage) {
    renderCursorPager(pager, cursors, page.next_cursor, { back: 'Previous page', forward: 'Next page' }, () => void load());
  }

  void load();
}

function chooseColumns(onChange: () => void): void {
  const chosen = new Set(chosenColumns().map((c) => c.id));
  const boxes = COLUMNS.map((column) => {
    const box = h('input', { type: 'checkbox', id: uid('col'), value: column.id, checked: chosen.has(column.id), disabled: column.id === 'name' });
    return h('label', { class: 'checkbox', for: box.id }, box, ` ${column.label}`);
  });
  const done = h('button', { type: 'button', class: 'button primary' }, 'Done');
  const dialog = openDialog({
    title: 'Columns',
    body: [h('fieldset', { class: 'column-choice' }, h('legend', {}, 'Show these columns'), ...boxes)],
    actions: [done],
  });
  done.addEventListener('click', () => {
    saveColumns(
      boxes
        .map((label) => label.querySelector('input')!)
        .filter((box) => box.checked)
        .map((box) => box.value),
    );
    dialog.close();
    onChange();
  });
}
