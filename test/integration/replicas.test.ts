// Two replicas over one Postgres and one Redis, each with its own key cache: a change made through
// replica A (or by an operator's SQL) reaches replica B within 1 second, however warm
// B's cache is. B's cache is warmed before every change so the test cannot pass by missing it.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CreatedKey } from '../../src/keys/types.ts';
import { adminClient, ALL_KEYGATE_SCOPES, type AdminClient } from '../support/admin.ts';
import type { HttpResponse } from '../support/http.ts';
import { startKeygate, type TestKeygate } from '../support/keygate.ts';

/** Polls `probe` until `done` holds; returns how long it took, failing after 1 s. */
async function within1s(probe: () => Promise<HttpResponse>, done: (r: HttpResponse) => boolean): Promise<number> {
  const started = Date.now();
  for (;;) {
    const response = await probe();
    if (done(response)) return Date.now() - started;
    if (Date.now() - started > 1000) throw new Error(`not within 1 s: last answer ${response.status} ${response.text}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe('replicas: changes reach every replica within 1 second', () => {
  let a: TestKeygate;
  let b: TestKeygate;
  let tenantId: string;
  let adminOnA: AdminClient;
  let introspectorKey: CreatedKey;

  beforeAll(async () => {
    a = await startKeygate({ tokenStore: 'redis' });
    b = await startKeygate({ tokenStore: 'redis' });
    tenantId = await a.newTenant();
    adminOnA = await adminClient(a, tenantId, ALL_KEYGATE_SCOPES);
    introspectorKey = await a.createKey(tenantId, { scopes: ['token:introspect'] });
  });
  afterAll(async () => {
    await a?.close();
    await b?.close();
  });

  /** A key with a live token, both known to B's warm cache. */
  async function warmOnB(input: Record<string, unknown> = {}) {
    const key: CreatedKey = (await adminOnA.post('/keys', { name: 'replicated', scopes: ['devices:read', 'devices:write'], ...input })).body;
    const token = (await b.token(key)).body.access_token as string;
    expect((await b.introspect(introspectorKey, token)).body.active).toBe(true);
    expect((await b.token(key)).status).toBe(200);
    return { key, token };
  }

  const hits = async (keygate: TestKeygate) => {
    const metric = (await keygate.runtime.metrics.registry.getSingleMetric('keygate_key_cache_lookups_total')!.get()).values;
    return metric.find((v) => v.labels.result === 'hit')?.value ?? 0;
  };

  it('B really serves keys from its cache (no database read per request)', async () => {
    const { key } = await warmOnB();
    const before = await hits(b);
    for (let i = 0; i < 5; i++) expect((await b.token(key)).status).toBe(200);
    expect((await hits(b)) - before).toBeGreaterThanOrEqual(5);
  });

  it('a key disabled through A is refused by B, and its tokens are inactive there', async () => {
    const { key, token } = await warmOnB();
    await adminOnA.post(`/keys/${key.key.client_id}/disable`);
    await within1s(
      () => b.token(key),
      (r) => r.status === 401,
    );
    expect((await b.introspect(introspectorKey, token)).body).toEqual({ active: false });
  });

  it('a key deleted through A is refused by B', async () => {
    const { key } = await warmOnB();
    await adminOnA.delete(`/keys/${key.key.client_id}`);
    await within1s(
      () => b.token(key),
      (r) => r.status === 401,
    );
  });

  it('narrowing scopes through A narrows what B issues', async () => {
    const { key } = await warmOnB();
    await adminOnA.patch(`/keys/${key.key.client_id}`, { scopes: ['devices:read'] });
    await within1s(
      () => b.token(key, { scope: 'devices:write' }),
      (r) => r.status === 400,
    );
    expect((await b.token(key)).body.scope).toBe('devices:read');
  });

  it('narrowing networks through A is enforced by B', async () => {
    const { key } = await warmOnB();
    await adminOnA.patch(`/keys/${key.key.client_id}`, { networks: ['10.0.0.0/8'] });
    await within1s(
      () => b.token(key),
      (r) => r.status === 401,
    );
  });

  it('rotation through A: B accepts the new secret at once and refuses the old one after grace', async () => {
    const { key, token } = await warmOnB();
    const rotated = (await adminOnA.post(`/keys/${key.key.client_id}/rotate`, { grace_seconds: 1 })).body;
    const fresh = { ...key, client_secret: rotated.client_secret };
    await within1s(
      () => b.token(fresh),
      (r) => r.status === 200,
    );
    await new Promise((r) => setTimeout(r, 1100));
    expect((await b.token(key)).status).toBe(401);
    expect((await b.introspect(introspectorKey, token)).body).toEqual({ active: false });
  });

  it('demoting a key’s creator through A stops the key on B', async () => {
    const user = (await adminOnA.post('/users', { email: 'creator-replica@example.test', role: 'admin' })).body.user;
    const userKey: CreatedKey = (await adminOnA.post('/keys', { name: 'u', kind: 'user', user_id: user.id, scopes: ['admin:keys:write'] })).body;
    const asUser = (await a.token(userKey)).body.access_token;
    const made: CreatedKey = (
      await a.send({ path: '/admin/v1/keys', headers: { authorization: `Bearer ${asUser}` }, json: { name: 'made', scopes: ['devices:read'] } })
    ).body;
    expect((await b.token(made)).status).toBe(200);
    await adminOnA.patch(`/users/${user.id}`, { role: 'viewer' });
    await within1s(
      () => b.token(made),
      (r) => r.status === 401,
    );
  });

  it('disabling a tenant through A stops its keys on B', async () => {
    const child = (await adminOnA.post('/tenants', { name: 'replicated child' })).body.tenant.id;
    const { key, token } = await warmOnB({ tenant_id: child });
    await adminOnA.post(`/tenants/${child}/disable`);
    await within1s(
      () => b.token(key),
      (r) => r.status === 401,
    );
    expect((await b.introspect(introspectorKey, token)).body).toEqual({ active: false });
  });

  it('an operator’s direct SQL change reaches B too (database change notifications)', async () => {
    const { key } = await warmOnB();
    await a.runtime.db.updateTable('api_keys').set({ status: 'disabled' }).where('client_id', '=', key.key.client_id).execute();
    const took = await within1s(
      () => b.token(key),
      (r) => r.status === 401,
    );
    expect(took).toBeLessThan(1000);
  });

  it('keys B has not seen yet, asked for in the same turn (a restarted fleet), are read in one query, not one per key', async () => {
    const fresh: CreatedKey[] = [];
    for (let i = 0; i < 30; i++) fresh.push((await adminOnA.post('/keys', { name: `burst ${i}`, scopes: ['devices:read'] })).body);
    const deleted = fresh.pop()!;
    await adminOnA.delete(`/keys/${deleted.key.client_id}`);
    const queries = async () => {
      const metric = (await b.runtime.metrics.registry.getSingleMetric('keygate_store_duration_seconds')!.get()).values;
      return (
        metric.find((v) => (v as { metricName?: string }).metricName === 'keygate_store_duration_seconds_count' && v.labels.operation === 'find_keys')?.value
        ?? 0
      );
    };
    const before = await queries();
    const found = await Promise.all([...fresh, deleted].map((key) => b.runtime.findKey(key.key.client_id)));
    expect(found.map((snapshot) => snapshot?.clientId)).toEqual([...fresh.map((key) => key.key.client_id), undefined]);
    expect((await queries()) - before).toBe(1);
    // And what was read serves requests: B issues for these keys and refuses the deleted one.
    expect((await b.token(fresh[0]!)).status).toBe(200);
    expect((await b.token(deleted)).status).toBe(401);
  });
});
