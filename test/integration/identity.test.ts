// Issue #4's seed workflows, end to end over HTTP: tenants with children, users with roles, user
// keys that follow their user's role, and keys that stop when their creator loses the right.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CreatedKey } from '../../src/keys/types.ts';
import { adminClient, ALL_KEYGATE_SCOPES, clientFor, errorBody, type AdminClient } from '../support/admin.ts';
import { deniedEvents, startKeygate, type TestKeygate } from '../support/keygate.ts';

describe('identity model', () => {
  let keygate: TestKeygate;
  let tenantId: string;
  let admin: AdminClient;
  let introspector: CreatedKey;

  beforeAll(async () => {
    keygate = await startKeygate({ tokenStore: 'redis' });
    tenantId = await keygate.newTenant();
    admin = await adminClient(keygate, tenantId, ALL_KEYGATE_SCOPES);
    introspector = await keygate.createKey(tenantId, { scopes: ['token:introspect'] });
  });
  afterAll(() => keygate?.close());

  const introspect = async (token: string) => (await keygate.introspect(introspector, token)).body;
  const newUser = async (role: string) =>
    (await admin.post('/users', { email: `${role}-${Math.random().toString(36).slice(2)}@example.test`, role })).body.user;
  const userKey = async (userId: string, scopes: string[]): Promise<CreatedKey> =>
    (await admin.post('/keys', { name: 'personal', kind: 'user', user_id: userId, scopes })).body;
  /** Acting as a user through their user key's token. */
  const actAs = async (key: CreatedKey) => clientFor(keygate, key, (await keygate.token(key)).body.access_token);

  it('parent-account flow: a parent admin creates a child tenant and a key there; its token is scoped to the child', async () => {
    const child = await admin.post('/tenants', { name: 'customer a' });
    expect(child.status).toBe(201);
    expect(child.body.tenant).toEqual({
      id: expect.any(String),
      name: 'customer a',
      parent_id: tenantId,
      status: 'active',
      allow_never_expiring_keys: true,
      max_key_lifetime_days: null,
      expiry_reminder_days: null,
      require_two_factor: false,
      created_at: expect.any(String),
      updated_at: expect.any(String),
    });
    const childId = child.body.tenant.id;
    const key = (await admin.post('/keys', { name: 'customer a sensors', scopes: ['devices:read'], tenant_id: childId })).body;
    expect(key.key.tenant_id).toBe(childId);
    const token = await keygate.token(key);
    expect(token.status).toBe(200);
    expect(await introspect(token.body.access_token)).toMatchObject({ active: true, tenant_id: childId, scope: 'devices:read' });
    const childIntrospector = await keygate.createKey(childId, { scopes: ['token:introspect'] });
    expect((await keygate.introspect(childIntrospector, token.body.access_token)).body.tenant_id).toBe(childId);
    expect((await admin.get(`/tenants`)).body.data.map((t: { id: string }) => t.id)).toEqual([tenantId, childId]);
  });

  it('a viewer’s user key asking for a write scope gets invalid_scope; without a scope it gets only reads', async () => {
    const viewer = await newUser('viewer');
    const key = await userKey(viewer.id, ['devices:read', 'devices:write']);
    const write = await keygate.token(key, { scope: 'devices:write' });
    expect(write.status).toBe(400);
    expect(write.body).toEqual({ error: 'invalid_scope', error_description: 'requested scope is not granted to this key', scope: 'devices:write' });
    const [event] = await deniedEvents(keygate, key.key.client_id);
    expect(event).toMatchObject({ reason: 'scope_not_granted', actor_user_id: viewer.id, actor_key_id: key.key.client_id });
    const all = await keygate.token(key);
    expect(all.body.scope).toBe('devices:read');
    expect(await introspect(all.body.access_token)).toMatchObject({ active: true, sub: viewer.id, key_kind: 'user', scope: 'devices:read' });
  });

  it('a role upgrade applies to the next token at once', async () => {
    const user = await newUser('viewer');
    const key = await userKey(user.id, ['devices:read', 'devices:write']);
    expect((await keygate.token(key)).body.scope).toBe('devices:read');
    const upgraded = await admin.patch(`/users/${user.id}`, { role: 'member' });
    expect(upgraded.body.user.role).toBe('member');
    expect((await keygate.token(key)).body.scope).toBe('devices:read devices:write');
    const [event] = (await keygate.runtime.audit.list({ action: 'user.update' })).filter((e) => e.details.user_id === user.id);
    expect(event).toMatchObject({ actor_key_id: admin.key.key.client_id, details: { role_from: 'viewer', role_to: 'member' } });
  });

  it('a user demoted from admin: the keys they created fail with owner_not_authorized and their tokens go inactive', async () => {
    const boss = await newUser('admin');
    const bossKey = await userKey(boss.id, ['admin:keys:write', 'devices:read']);
    const asBoss = await actAs(bossKey);
    const created = await asBoss.post('/keys', { name: 'made by boss', scopes: ['devices:read'] });
    expect(created.status).toBe(201);
    expect(created.body.key).toMatchObject({ kind: 'user', user_id: boss.id, created_by: boss.id });
    const token = (await keygate.token(created.body)).body.access_token;
    expect((await introspect(token)).active).toBe(true);

    await admin.patch(`/users/${boss.id}`, { role: 'member' });
    const refused = await keygate.token(created.body);
    expect(refused.status).toBe(401);
    expect(refused.body).toEqual({ error: 'invalid_client', error_description: 'client authentication failed' });
    expect((await deniedEvents(keygate, created.body.key.client_id))[0]).toMatchObject({ reason: 'owner_not_authorized' });
    expect(await introspect(token)).toEqual({ active: false });
    // The key an admin made for them still works, with a member's scopes (no key management).
    expect((await keygate.token(bossKey)).body.scope).toBe('devices:read');
  });

  it('a user key never manages other keys, users or tenants', async () => {
    const manager = await newUser('admin');
    const key = await userKey(manager.id, ['admin:keys:write', 'admin:keys:read', 'devices:read']);
    const asUser = await actAs(key);
    const forbidden = await asUser.post('/users', { email: 'x@example.test', role: 'viewer' });
    expect(forbidden.body).toEqual(errorBody(forbidden, 'forbidden', "this token lacks the 'admin:users:write' scope"));
    expect((await asUser.post('/tenants', { name: 'nope' })).status).toBe(403);
    const other = await newUser('member');
    const forOther = await asUser.post('/keys', { name: 'x', scopes: ['devices:read'], kind: 'user', user_id: other.id });
    expect(forOther.body).toEqual(
      errorBody(forOther, 'validation_failed', 'request body is invalid', [
        { field: 'user_id', message: 'a user key may only create keys for its own user' },
        { field: 'user_id', message: "a key that acts for a person is made only by that person or by a caller holding 'admin:users:write'" },
      ]),
    );
    const service = await asUser.post('/keys', { name: 'x', scopes: ['devices:read'], kind: 'service' });
    expect(service.status).toBe(400);
    expect((await asUser.get(`/keys/${admin.key.key.client_id}`)).status).toBe(404);
    expect((await asUser.get('/keys')).body.data.every((k: { user_id: string }) => k.user_id === manager.id)).toBe(true);
    const escalate = await admin.post('/keys', { name: 'x', kind: 'user', user_id: manager.id, scopes: ['admin:users:write'] });
    expect(escalate.body.error.details).toEqual([{ field: 'scopes', message: "'admin:users:write' can never be held by a user key" }]);
  });

  it('refuses the 21st key of a user through the API with a clear error', async () => {
    const user = await newUser('member');
    for (let i = 0; i < 20; i++) expect((await admin.post('/keys', { name: `k${i}`, kind: 'user', user_id: user.id, scopes: ['a:read'] })).status).toBe(201);
    const extra = await admin.post('/keys', { name: 'k21', kind: 'user', user_id: user.id, scopes: ['a:read'] });
    expect(extra.body).toEqual(
      errorBody(extra, 'limit_reached', 'a person may hold at most 20 user keys: delete one to make room', [
        { field: 'user_id', message: 'already holds 20 user keys' },
      ]),
    );
  });

  it('disabling a user stops their user keys (user_disabled); deleting them removes the keys and their tokens', async () => {
    const user = await newUser('member');
    const key = await userKey(user.id, ['a:read']);
    const token = (await keygate.token(key)).body.access_token;
    await admin.post(`/users/${user.id}/disable`);
    expect(await introspect(token)).toEqual({ active: false });
    expect((await keygate.token(key)).status).toBe(401);
    expect((await deniedEvents(keygate, key.key.client_id))[0]).toMatchObject({ reason: 'user_disabled' });
    await admin.post(`/users/${user.id}/enable`);
    const fresh = (await keygate.token(key)).body.access_token;
    expect((await admin.delete(`/users/${user.id}`)).status).toBe(204);
    expect(await introspect(fresh)).toEqual({ active: false });
    expect((await admin.get(`/keys/${key.key.client_id}`)).status).toBe(404);
  });

  it('disabling a tenant makes every token of its keys inactive at once, and they stay dead after enable', async () => {
    const child = (await admin.post('/tenants', { name: 'to disable' })).body.tenant.id;
    const key = (await admin.post('/keys', { name: 'k', scopes: ['a:read'], tenant_id: child })).body;
    const token = (await keygate.token(key)).body.access_token;
    const started = Date.now();
    const disabled = await admin.post(`/tenants/${child}/disable`);
    expect(disabled.body.tenant.status).toBe('disabled');
    expect(await introspect(token)).toEqual({ active: false });
    expect(Date.now() - started).toBeLessThan(1000);
    expect((await keygate.token(key)).status).toBe(401);
    expect((await deniedEvents(keygate, key.key.client_id))[0]).toMatchObject({ reason: 'tenant_disabled' });
    await admin.post(`/tenants/${child}/enable`);
    expect(await introspect(token)).toEqual({ active: false });
    expect((await keygate.token(key)).status).toBe(200);
    const self = await admin.post(`/tenants/${tenantId}/disable`);
    expect(self.body).toEqual(errorBody(self, 'conflict', 'a tenant cannot disable or enable itself; its parent can'));
  });

  it('validates users: email, role, duplicates', async () => {
    const bad = await admin.post('/users', { email: 'not-an-email', role: 'boss' });
    expect(bad.body.error.details).toEqual([
      { field: 'email', message: 'Invalid email address' },
      { field: 'role', message: 'Invalid option: expected one of "admin"|"manager"|"member"|"viewer"' },
    ]);
    await admin.post('/users', { email: 'twice@example.test', role: 'viewer' });
    const twice = await admin.post('/users', { email: 'twice@example.test', role: 'viewer' });
    expect(twice.body).toEqual(errorBody(twice, 'conflict', 'a user with this email already exists in the tenant'));
  });
});

describe('tenant isolation', () => {
  let keygate: TestKeygate;
  let home: string;
  let owner: AdminClient;
  let stranger: AdminClient;
  let parent: AdminClient;
  let key: CreatedKey;
  let userId: string;

  beforeAll(async () => {
    keygate = await startKeygate({ tokenStore: 'redis' });
    const parentTenant = await keygate.newTenant();
    parent = await adminClient(keygate, parentTenant, ALL_KEYGATE_SCOPES);
    home = (await parent.post('/tenants', { name: 'home' })).body.tenant.id;
    owner = await adminClient(keygate, home, ALL_KEYGATE_SCOPES);
    stranger = await adminClient(keygate, await keygate.newTenant());
    key = (await owner.post('/keys', { name: 'home key', scopes: ['a:read'] })).body;
    userId = (await owner.post('/users', { email: 'resident@example.test', role: 'member' })).body.user.id;
  });
  afterAll(() => keygate?.close());

  const endpoints = () =>
    [
      ['GET', `/keys/${key.key.client_id}`, undefined],
      ['PATCH', `/keys/${key.key.client_id}`, { name: 'stolen' }],
      ['POST', `/keys/${key.key.client_id}/rotate`, { grace_seconds: 0 }],
      ['POST', `/keys/${key.key.client_id}/disable`, {}],
      ['POST', `/keys/${key.key.client_id}/enable`, {}],
      ['POST', `/keys/${key.key.client_id}/revoke-tokens`, {}],
      ['DELETE', `/keys/${key.key.client_id}`, undefined],
      ['GET', `/users/${userId}`, undefined],
      ['PATCH', `/users/${userId}`, { role: 'admin' }],
      ['POST', `/users/${userId}/disable`, {}],
      ['POST', `/users/${userId}/enable`, {}],
      ['DELETE', `/users/${userId}`, undefined],
      ['GET', `/tenants/${home}`, undefined],
      ['PATCH', `/tenants/${home}`, { name: 'stolen' }],
      ['POST', `/tenants/${home}/disable`, {}],
      ['POST', `/tenants/${home}/enable`, {}],
    ] as const;

  const call = (client: AdminClient, method: string, path: string, body: unknown) =>
    method === 'GET' ? client.get(path) : method === 'DELETE' ? client.delete(path) : method === 'PATCH' ? client.patch(path, body) : client.post(path, body);

  it('every admin endpoint answers 404 to another tenant’s admin and changes nothing', async () => {
    const token = (await keygate.token(key)).body.access_token;
    for (const [method, path, body] of endpoints()) {
      const response = await call(stranger, method, path, body);
      expect({ method, path, status: response.status, code: response.body?.error?.code }).toEqual({ method, path, status: 404, code: 'not_found' });
    }
    expect((await owner.get(`/keys/${key.key.client_id}`)).body.key).toMatchObject({ name: 'home key', status: 'active' });
    expect((await owner.get(`/users/${userId}`)).body.user).toMatchObject({ role: 'member', status: 'active' });
    expect((await parent.get(`/tenants/${home}`)).body.tenant).toMatchObject({ name: 'home', status: 'active' });
    expect((await keygate.introspect(await keygate.createKey(home, { scopes: ['token:introspect'] }), token)).body.active).toBe(true);
    expect((await stranger.get('/keys')).body.data.map((k: { client_id: string }) => k.client_id)).not.toContain(key.key.client_id);
    expect((await stranger.get('/users')).body.data.map((u: { id: string }) => u.id)).not.toContain(userId);
    expect((await stranger.get(`/audit?key_id=${key.key.client_id}`)).body.data).toEqual([]);
  });

  it('the same endpoints work for the parent on its child', async () => {
    for (const [method, path, body] of endpoints()) {
      const response = await call(parent, method, path, body);
      expect({ method, path, ok: response.status < 300 }).toEqual({ method, path, ok: true });
    }
  });
});
