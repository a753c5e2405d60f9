// GET /admin/v1/keys as a console uses it, over real HTTP and Postgres: every sort pages through
// ties and missing values without losing or repeating a key, search by name or client id,
// filters, counts, the fields shown beside each key, and what a caller may never see through them.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateClientId } from '../../src/crypto/credentials.ts';
import { KEY_SORTS } from '../../src/keys/schemas.ts';
import { ALL_KEYGATE_SCOPES, adminClient, clientFor, errorBody, type AdminClient } from '../support/admin.ts';
import { startKeygate, type TestKeygate } from '../support/keygate.ts';

type Listed = {
  client_id: string;
  name: string;
  kind: string;
  status: string;
  created_at: string;
  expires_at: string | null;
  last_used_at: string | null;
  last_used_ip: string | null;
  created_by: { kind: string; id: string; label: string | null } | null;
  user_email: string | null;
  usage_7d: number[] | null;
};

const DAY = 86_400_000;

describe('admin API: the key list', () => {
  let keygate: TestKeygate;
  let tenantId: string;
  let admin: AdminClient;
  const ids: string[] = [];

  /** Sets columns no API writes directly (creation and last-use times), as test data. */
  async function setTimes(clientId: string, times: { created_at?: Date; expires_at?: Date | null; last_used_at?: Date | null }) {
    const { last_used_at, ...keyTimes } = times;
    await keygate.runtime.db.updateTable('api_keys').set(keyTimes).where('client_id', '=', clientId).execute();
    if (last_used_at !== undefined) await keygate.runtime.db.updateTable('api_key_last_use').set({ last_used_at }).where('client_id', '=', clientId).execute();
    keygate.afterDirectWrite();
  }

  beforeAll(async () => {
    keygate = await startKeygate({ tokenStore: 'redis' });
    tenantId = await keygate.newTenant();
    admin = await adminClient(keygate, tenantId, [...ALL_KEYGATE_SCOPES]);
    ids.push(admin.key.key.client_id);
    // Ties on every sort value, keys without an expiry or a last use, names differing only in case.
    const base = Date.now() - 10 * DAY;
    const ahead = Date.now();
    const plan: { name: string; created: number; expires: number | null; used: number | null }[] = [
      { name: 'delta', created: 0, expires: 40, used: null },
      { name: 'Alpha', created: 1, expires: null, used: 2 },
      { name: 'alpha', created: 1, expires: 40, used: 2 },
      { name: 'charlie', created: 1, expires: null, used: null },
      { name: 'bravo', created: 2, expires: 20, used: 5 },
      { name: 'bravo', created: 3, expires: 20, used: null },
      { name: 'echo', created: 3, expires: 60, used: 1 },
    ];
    for (const entry of plan) {
      const created = await admin.post('/keys', { name: entry.name, scopes: ['devices:read'], expires_at: null });
      expect(created.status).toBe(201);
      const id = created.body.key.client_id as string;
      ids.push(id);
      await setTimes(id, {
        created_at: new Date(base + entry.created * DAY),
        expires_at: entry.expires === null ? null : new Date(ahead + entry.expires * DAY),
        last_used_at: entry.used === null ? null : new Date(base + entry.used * DAY),
      });
    }
    // The admin key's own token use is written now, not by a periodic flush in the middle of paging.
    await keygate.runtime.usage.flush();
  });
  afterAll(() => keygate?.close());

  async function everyPage(client: AdminClient, query: string, limit: number): Promise<Listed[]> {
    const seen: Listed[] = [];
    let cursor: string | null = null;
    for (let page = 0; page < 50; page++) {
      const response = await client.get(`/keys?${query}&limit=${limit}${cursor ? `&cursor=${cursor}` : ''}`);
      expect(response.status).toBe(200);
      seen.push(...response.body.data);
      cursor = response.body.next_cursor;
      if (!cursor) return seen;
    }
    throw new Error('the list never ended');
  }

  const sortValue = (key: Listed, field: string): string | number | null => {
    if (field === 'name') return key.name.toLowerCase();
    const value = key[field as 'created_at' | 'expires_at' | 'last_used_at'];
    return value === null ? null : Date.parse(value);
  };

  describe.each(KEY_SORTS)('sort=%s', (sort) => {
    const field = sort.replace(/^-/, '');
    const descending = sort.startsWith('-');

    it('pages of 1, 2 and 3 give the same order as one page, each key once', async () => {
      const whole = await everyPage(admin, `sort=${sort}`, 200);
      expect(whole.map((k) => k.client_id).sort()).toEqual([...ids].sort());
      for (const limit of [1, 2, 3]) {
        expect((await everyPage(admin, `sort=${sort}`, limit)).map((k) => k.client_id)).toEqual(whole.map((k) => k.client_id));
      }
    });

    it('orders by the value, keys without one last, ties broken the same way every time', async () => {
      const whole = await everyPage(admin, `sort=${sort}`, 200);
      const values = whole.map((key) => sortValue(key, field));
      const firstNull = values.indexOf(null);
      if (firstNull >= 0) expect(values.slice(firstNull).every((v) => v === null)).toBe(true);
      const present = values.filter((v) => v !== null) as (string | number)[];
      const expected = [...present].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
      expect(present).toEqual(descending ? expected.reverse() : expected);
      // Ties exist in this data for every sort; whichever way the tie goes, paging agreed above.
      expect(new Set(present).size).toBeLessThan(present.length);
    });
  });

  it('refuses a cursor made for another sort, and an unknown sort', async () => {
    const page = await admin.get('/keys?sort=name&limit=1');
    const crossed = await admin.get(`/keys?sort=expires_at&cursor=${page.body.next_cursor}`);
    expect(crossed.body).toEqual(
      errorBody(crossed, 'validation_failed', 'query is invalid', [{ field: 'cursor', message: 'not a cursor this server issued' }]),
    );
    expect((await admin.get('/keys?sort=secret_hash')).status).toBe(400);
  });

  it('refuses a forged time cursor that Postgres could not read, with 400 not 500', async () => {
    for (const value of ['2026-02-31T00:00:00.000000Z', "x' or 1=1 --", '2026-13-01T00:00:00.000000Z']) {
      const forged = Buffer.from(JSON.stringify(['expires_at', value, generateClientId()])).toString('base64url');
      expect((await admin.get(`/keys?sort=expires_at&cursor=${forged}`)).status).toBe(400);
    }
    const name = Buffer.from(JSON.stringify(['name', "o'brien\\%", generateClientId()])).toString('base64url');
    expect((await admin.get(`/keys?sort=name&cursor=${name}`)).status).toBe(200);
  });

  describe('search', () => {
    it('matches a name substring in any case', async () => {
      const found = (await admin.get('/keys?q=LPH')).body.data as Listed[];
      expect(found.map((k) => k.name).sort()).toEqual(['Alpha', 'alpha']);
    });

    it('matches a client id prefix, and treats % and _ literally', async () => {
      const target = ids[3]!;
      const found = (await admin.get(`/keys?q=${target.slice(0, 12)}`)).body.data as Listed[];
      expect(found.map((k) => k.client_id)).toEqual([target]);
      expect((await admin.get(`/keys?q=${encodeURIComponent('%')}`)).body.data).toEqual([]);
      expect((await admin.get('/keys?q=_')).body.data).toEqual([]);
      // A client id matches only from its start.
      expect((await admin.get(`/keys?q=${target.slice(3, 15)}`)).body.data).toEqual([]);
    });

    it('combines with a sort and pages', async () => {
      const found = await everyPage(admin, 'q=A&sort=-name', 1);
      expect(found.map((k) => k.name.toLowerCase())).toEqual(['delta', 'charlie', 'bravo', 'bravo', 'alpha', 'alpha', 'admin automation']);
    });
  });

  describe('filters and counts', () => {
    let other: string;
    let user: { id: string; email: string };
    beforeAll(async () => {
      other = await keygate.newTenant();
      const filterAdmin = await adminClient(keygate, other, [...ALL_KEYGATE_SCOPES]);
      user = await keygate.newUser(other, 'admin');
      await filterAdmin.post('/keys', { name: 'user key', kind: 'user', user_id: user.id, scopes: ['devices:read'] });
      const soon = (await filterAdmin.post('/keys', { name: 'soon', scopes: ['devices:read'], expires_at: new Date(Date.now() + 3 * DAY).toISOString() })).body;
      const gone = (await filterAdmin.post('/keys', { name: 'gone', scopes: ['devices:read'] })).body;
      await setTimes(gone.key.client_id, { expires_at: new Date(Date.now() - DAY) });
      const off = (await filterAdmin.post('/keys', { name: 'off', scopes: ['devices:read'] })).body;
      expect((await filterAdmin.post(`/keys/${off.key.client_id}/disable`)).status).toBe(200);
      expect(soon.key.status).toBe('active');
      (globalThis as { filterAdmin?: AdminClient }).filterAdmin = filterAdmin;
    });
    const lister = () => (globalThis as { filterAdmin?: AdminClient }).filterAdmin!;

    it.each([
      ['status=expired', ['gone']],
      ['expired=true', ['gone']],
      ['status=disabled', ['off']],
      ['kind=user', ['user key']],
      ['expiring_within=7d', ['soon']],
      ['expired=false&kind=service&sort=name', ['admin automation', 'off', 'soon']],
    ])('%s', async (query, names) => {
      const found = (await lister().get(`/keys?${query}`)).body.data as Listed[];
      expect(found.map((k) => k.name).sort()).toEqual([...names].sort());
    });

    it('filters by user and shows the user key with its user’s email', async () => {
      const found = (await lister().get(`/keys?user_id=${user.id}`)).body.data as Listed[];
      expect(found).toHaveLength(1);
      expect(found[0]).toMatchObject({ kind: 'user', user_email: user.email });
    });

    it('counts expired, expiring within 30 days and disabled keys, whatever the other filters', async () => {
      const expected = { total: 5, active: 3, disabled: 1, expired: 1, expiring_30d: 1 };
      expect((await lister().get('/keys')).body.counts).toEqual(expected);
      expect((await lister().get('/keys?q=zzz&kind=user')).body.counts).toEqual(expected);
    });
  });

  describe('fields beside each key', () => {
    it('names the creator (a key by its name), the last use with its address, 7 days of issuance', async () => {
      const made = (await admin.post('/keys', { name: 'observed', scopes: ['devices:read'] })).body;
      ids.push(made.key.client_id);
      expect((await keygate.token(made, { from: '127.0.0.9' })).status).toBe(200);
      expect((await keygate.token(made, { from: '127.0.0.9' })).status).toBe(200);
      await keygate.runtime.usage.flush();
      await keygate.runtime.activity.flush();
      const found = (await admin.get(`/keys?q=${made.key.client_id}`)).body.data as Listed[];
      expect(found).toHaveLength(1);
      expect(found[0]).toMatchObject({
        created_by: { kind: 'key', id: admin.key.key.client_id, label: 'admin automation' },
        user_email: null,
        last_used_ip: '127.0.0.9',
        usage_7d: [0, 0, 0, 0, 0, 0, 2],
      });
      expect(found[0]!.last_used_at).toEqual(expect.any(String));
    });

    it('names a person who created a key by email, and null for the operator', async () => {
      const user = await keygate.newUser(tenantId, 'admin');
      const own = (await admin.post('/keys', { name: 'person', kind: 'user', user_id: user.id, scopes: ['admin:keys:write'] })).body;
      ids.push(own.key.client_id);
      const token = (await keygate.token(own)).body.access_token as string;
      const made = (await clientFor(keygate, own, token).post('/keys', { name: 'made by a person', kind: 'user', scopes: ['devices:read'] })).body;
      ids.push(made.key.client_id);
      const byPerson = (await admin.get(`/keys?q=${made.key.client_id}`)).body.data[0] as Listed;
      expect(byPerson.created_by).toEqual({ kind: 'user', id: user.id, label: user.email });
      const operator = await keygate.createKey(tenantId, { name: 'by the operator' });
      ids.push(operator.key.client_id);
      expect(((await admin.get(`/keys?q=${operator.key.client_id}`)).body.data[0] as Listed).created_by).toBeNull();
    });
  });

  describe('visibility', () => {
    it('another tenant finds nothing of this one by name, client id or counts', async () => {
      const stranger = await adminClient(keygate, await keygate.newTenant(), ['admin:keys:read']);
      for (const q of ['alpha', ids[1]!, ids[1]!.slice(0, 10)]) {
        expect((await stranger.get(`/keys?q=${q}`)).body.data).toEqual([]);
      }
      expect((await stranger.get('/keys')).body.counts).toMatchObject({ total: 1, expired: 0, expiring_30d: 0, disabled: 0 });
      expect((await stranger.get(`/keys?tenant_id=${tenantId}`)).body.data).toEqual([]);
    });

    it('a user key sees only its own user’s keys, in search and in counts', async () => {
      const tenant = await keygate.newTenant();
      const owner = await adminClient(keygate, tenant, [...ALL_KEYGATE_SCOPES]);
      const me = await keygate.newUser(tenant, 'admin');
      const colleague = await keygate.newUser(tenant, 'admin');
      const mine = (await owner.post('/keys', { name: 'shared-name mine', kind: 'user', user_id: me.id, scopes: ['admin:keys:read'] })).body;
      const theirs = (await owner.post('/keys', { name: 'shared-name theirs', kind: 'user', user_id: colleague.id, scopes: ['devices:read'] })).body;
      const disabled = (await owner.post('/keys', { name: 'shared-name off', scopes: ['devices:read'] })).body;
      await owner.post(`/keys/${disabled.key.client_id}/disable`);
      const asMe = clientFor(keygate, mine, (await keygate.token(mine)).body.access_token);
      const found = (await asMe.get('/keys?q=shared-name')).body;
      expect(found.data.map((k: Listed) => k.client_id)).toEqual([mine.key.client_id]);
      expect(found.counts).toEqual({ total: 1, active: 1, disabled: 0, expired: 0, expiring_30d: 0 });
      expect((await asMe.get(`/keys?q=${theirs.key.client_id}`)).body.data).toEqual([]);
      expect((await asMe.get(`/keys?user_id=${colleague.id}`)).body.data).toEqual([]);
    });

    it('a parent tenant finds its child tenant’s keys', async () => {
      const child = await keygate.runtime.tenants.insert({ name: 'child', parentId: tenantId });
      const key = await keygate.createKey(child.id, { name: 'in the child' });
      expect((await admin.get(`/keys?q=${key.key.client_id}`)).body.data).toHaveLength(1);
      await keygate.runtime.db.deleteFrom('api_keys').where('client_id', '=', key.key.client_id).execute();
    });
  });
});
