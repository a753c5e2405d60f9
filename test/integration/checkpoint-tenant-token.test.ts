// POST /api/v1/tenant/token over plain HTTP: a parent account's admin key makes an account key in a
// child account, and that key gets tokens with the scopes its role maps to. The attacks: a sibling,
// the child itself, a grandchild and an unrelated tenant asking for the child (404 as for an
// unknown id), a key without the admin scope, a user key, no token, a forged one, a bad body,
// an expiration beyond the child's policy, and a role granting more than the caller holds.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { adminClient, ALL_KEYGATE_SCOPES, errorBody, type AdminClient } from '../support/admin.ts';
import { basicAuth } from '../support/http.ts';
import { startKeygate, type TestKeygate } from '../support/keygate.ts';
import { waitFor } from '../support/processes.ts';

const PATH = '/api/v1/tenant/token';
const inDays = (days: number) => new Date(Date.now() + days * 86_400_000).toISOString().slice(0, 10);

describe('POST /api/v1/tenant/token', () => {
  let keygate: TestKeygate;
  let root: string;
  let child: string;
  let sibling: string;
  let grandchild: string;
  let parent: AdminClient;
  const logLines: string[] = [];

  const ask = (token: string | undefined, json: unknown) =>
    keygate.send({ method: 'POST', path: PATH, headers: token === undefined ? {} : { authorization: `Bearer ${token}` }, json });
  const body = (extra: Record<string, unknown> = {}) => ({
    description: 'edge automation',
    expiration: inDays(30),
    role: 'read-only',
    childTenantId: child,
    ...extra,
  });

  beforeAll(async () => {
    keygate = await startKeygate({ tokenStore: 'redis', logDestination: { write: (line: string) => void logLines.push(line) } });
    root = await keygate.newTenant();
    parent = await adminClient(keygate, root, ALL_KEYGATE_SCOPES);
    child = (await parent.post('/tenants', { name: 'child', max_key_lifetime_days: 60, allow_never_expiring_keys: false })).body.tenant.id;
    sibling = (await parent.post('/tenants', { name: 'sibling' })).body.tenant.id;
    grandchild = (await (await adminClient(keygate, child, ALL_KEYGATE_SCOPES)).post('/tenants', { name: 'grandchild' })).body.tenant.id;
  });
  afterAll(() => keygate?.close());

  it('creates an account key in the child; the key gets a token with the mapped scopes, and the secret is in the answer only', async () => {
    const response = await ask(parent.token, body({ appId: 'harmony-endpoint', role: 'Read-Write', expiration: `${inDays(20)}T12:30:00Z` }));
    expect(response.status).toBe(200);
    expect(response.headers['cache-control']).toBe('no-store');
    const { clientId, accessKey } = response.body;
    expect(Object.keys(response.body).sort()).toEqual(['accessKey', 'clientId']);
    const key = await keygate.runtime.keys.find(clientId);
    expect(key).toMatchObject({ tenant_id: child, kind: 'service', name: 'edge automation', created_by_key_id: parent.key.key.client_id });
    expect(key!.expires_at!.toISOString()).toBe(`${inDays(20)}T12:30:00.000Z`);

    // read-write is the manager role: every Keygate scope but managing users and tenants.
    const token = await keygate.send({
      path: '/oauth/token',
      headers: { authorization: basicAuth(clientId, accessKey) },
      form: { grant_type: 'client_credentials' },
    });
    expect(token.status).toBe(200);
    expect(token.body.scope.split(' ').sort()).toEqual(['admin:audit:read', 'admin:keys:read', 'admin:keys:write', 'token:introspect']);
    // The vendor's own exchange works with the pair as returned.
    expect((await keygate.send({ path: '/auth/external', json: { clientId, accessKey } })).status).toBe(200);

    const [record] = (await keygate.runtime.audit.list({ targetKeyId: clientId })).filter((e) => e.action === 'key.create');
    expect(record).toMatchObject({ tenant_id: child, actor_key_id: parent.key.key.client_id, details: { via: 'checkpoint-compat' } });
    expect(JSON.stringify(record)).not.toContain(accessKey);
    // The request line is written once the answer is sent: wait for it, then look for the secret.
    await waitFor(async () => logLines.some((line) => line.includes('"msg":"request"') && line.includes(PATH)), 5_000, 'the request line');
    expect(logLines.join('')).not.toContain(accessKey);
    expect(logLines.join('')).not.toContain(parent.token);
  });

  it('maps read-only to the viewer role, admin to the admin role, and roles[] to their union', async () => {
    const readOnly = await ask(parent.token, body({ role: 'read-only' }));
    const token = await keygate.send({
      path: '/oauth/token',
      headers: { authorization: basicAuth(readOnly.body.clientId, readOnly.body.accessKey) },
      form: { grant_type: 'client_credentials' },
    });
    expect(token.body.scope.split(' ').sort()).toEqual(['admin:audit:read', 'admin:keys:read']);
    const both = await ask(parent.token, body({ role: undefined, roles: ['read-only', 'admin'] }));
    expect(both.status).toBe(200);
    expect((await keygate.runtime.keys.find(both.body.clientId))!.scopes.sort()).toEqual([...ALL_KEYGATE_SCOPES].sort());
  });

  it('answers 404 alike for an unknown child and for a child the caller is not above: itself, a sibling, its parent, an unrelated tenant', async () => {
    const unknown = await ask(parent.token, body({ childTenantId: '00000000-0000-4000-8000-000000000000' }));
    expect(unknown.status).toBe(404);
    expect(unknown.body).toEqual(errorBody(unknown, 'not_found', 'no such child tenant'));
    expect((await ask(parent.token, body({ childTenantId: 'not-a-tenant' }))).status).toBe(404);
    expect((await ask(parent.token, body({ childTenantId: root }))).status).toBe(404);

    const siblingAdmin = await adminClient(keygate, sibling, ALL_KEYGATE_SCOPES);
    const childAdmin = await adminClient(keygate, child, ALL_KEYGATE_SCOPES);
    const grandchildAdmin = await adminClient(keygate, grandchild, ALL_KEYGATE_SCOPES);
    const unrelated = await adminClient(keygate, await keygate.newTenant(), ALL_KEYGATE_SCOPES);
    for (const [caller, target] of [
      [siblingAdmin, child],
      [childAdmin, root],
      [grandchildAdmin, child],
      [unrelated, child],
      [childAdmin, sibling],
    ] as const) {
      const response = await ask(caller.token, body({ childTenantId: target }));
      expect(response.status).toBe(404);
      expect(response.body.error).toMatchObject({ code: 'not_found', message: 'no such child tenant' });
    }
    // Through its own parent the grandchild is reachable.
    expect((await ask(childAdmin.token, body({ childTenantId: grandchild }))).status).toBe(200);
    expect((await ask(parent.token, body({ childTenantId: grandchild }))).status).toBe(200);
  });

  it('refuses a bad body with 400 naming each field', async () => {
    const cases: [unknown, string][] = [
      [{ ...body(), description: undefined }, 'description'],
      [{ ...body(), childTenantId: undefined }, 'childTenantId'],
      [body({ expiration: 'next tuesday' }), 'expiration'],
      [body({ expiration: '2027-02-30' }), 'expiration'],
      [body({ expiration: '2020-01-01' }), 'expiration'],
      [body({ expiration: inDays(90) }), 'expiration'],
      [body({ role: 'superuser' }), 'role'],
      [body({ role: undefined, roles: ['read-only', 'owner'] }), 'roles'],
      [body({ role: undefined }), 'role'],
      [body({ role: 'owner', roles: ['read-only'] }), 'role'],
      [body({ tenant: 'x' }), 'tenant'],
    ];
    for (const [json, field] of cases) {
      const response = await ask(parent.token, json);
      expect(response.status, JSON.stringify(json)).toBe(400);
      expect(response.body.error.code).toBe('validation_failed');
      expect(response.body.error.details.map((d: { field: string }) => d.field)).toContain(field);
    }
    const notJson = await keygate.send({
      method: 'POST',
      path: PATH,
      headers: { authorization: `Bearer ${parent.token}`, 'content-type': 'application/json' },
      raw: '{',
    });
    expect(notJson.status).toBe(400);
    for (const raw of ['[]', '"text"', 'null']) {
      const odd = await keygate.send({
        method: 'POST',
        path: PATH,
        headers: { authorization: `Bearer ${parent.token}`, 'content-type': 'application/json' },
        raw,
      });
      expect(odd.status, raw).toBe(400);
    }
    const huge = await ask(parent.token, body({ description: 'x'.repeat(2_000_000) }));
    expect(huge.status).toBe(413);
  });

  it('a key may not grant more than it holds: a parent key without token:introspect cannot hand out read-write', async () => {
    const narrow = await adminClient(keygate, root, ['admin:keys:read', 'admin:keys:write', 'admin:audit:read']);
    const response = await ask(narrow.token, body({ role: 'read-write' }));
    expect(response.status).toBe(400);
    expect(response.body.error.details[0].field).toBe('role');
  });

  it('no token is 401 with a bearer challenge; a forged token too; a key without admin:keys:write is 403', async () => {
    const none = await ask(undefined, body());
    expect(none.status).toBe(401);
    expect(none.headers['www-authenticate']).toBe('Bearer realm="keygate"');
    const forged = await ask('Zm9yZ2VkLXRva2VuLXRoYXQtbm9ib2R5LWlzc3VlZA', body());
    expect(forged.status).toBe(401);
    expect(forged.headers['www-authenticate']).toContain('error="invalid_token"');

    const reader = await adminClient(keygate, root, ['admin:keys:read']);
    const refused = await ask(reader.token, body());
    expect(refused.status).toBe(403);
    expect(refused.headers['www-authenticate']).toContain('insufficient_scope');

    const user = await keygate.newUser(root, 'admin');
    const userKey = await keygate.createKey(root, { kind: 'user', userId: user.id, scopes: ['admin:keys:write'] });
    const userToken = (await keygate.token(userKey)).body.access_token;
    expect((await ask(userToken, body())).status).toBe(403);
  });
});
