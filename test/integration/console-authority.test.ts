// A person signed in acts through the admin API with their role's power and no more, by the same
// rules as any caller: a viewer reads and changes nothing, a member sees and manages only their
// own user keys, a manager manages the tenant's keys but not its users, an admin everything.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { adminClient, ALL_KEYGATE_SCOPES, type AdminClient } from '../support/admin.ts';
import { signedInUser } from '../support/console.ts';
import { startKeygate, type TestKeygate } from '../support/keygate.ts';

const ids = (response: { body: { data: { client_id: string }[] } }) => response.body.data.map((k) => k.client_id);

describe('console sessions as admin API callers', () => {
  let keygate: TestKeygate;
  let tenantId: string;
  let admin: AdminClient;

  beforeAll(async () => {
    keygate = await startKeygate({ tokenStore: 'redis' });
    tenantId = await keygate.newTenant();
    admin = await adminClient(keygate, tenantId, ALL_KEYGATE_SCOPES);
  });
  afterAll(() => keygate?.close());

  it('a viewer reads keys and audit events, and every forged change (with a valid CSRF token) is refused', async () => {
    const service = await keygate.createKey(tenantId, { name: 'seen by the viewer' });
    const { user, session } = await signedInUser(keygate, tenantId, 'viewer');
    expect(ids(await session.get('/keys'))).toContain(service.key.client_id);
    expect((await session.get('/audit')).status).toBe(200);
    const forged = [
      await session.post('/keys', { name: 'forged by a viewer', scopes: ['devices:read'] }),
      await session.post('/keys', { name: 'forged by a viewer', kind: 'user', user_id: user.id, scopes: ['devices:read'] }),
      await session.post(`/keys/${service.key.client_id}/disable`),
      await session.post(`/keys/${service.key.client_id}/rotate`, { grace_seconds: 0 }),
      await session.delete(`/keys/${service.key.client_id}`),
      await session.post('/users', { email: 'made-by-viewer@example.test', role: 'admin' }),
      await session.patch(`/users/${user.id}`, { role: 'admin' }),
      await session.post('/tenants', { name: 'made by a viewer' }),
    ];
    for (const response of forged) {
      expect(response.status).toBe(403);
      expect(response.body.error.code).toBe('forbidden');
    }
    expect((await keygate.runtime.keys.find(service.key.client_id))!.status).toBe('active');
    expect((await keygate.runtime.users.findById(user.id))!.role).toBe('viewer');
  });

  it('a member sees and manages only their own user keys, and the key they make works', async () => {
    const { user, session } = await signedInUser(keygate, tenantId, 'member');
    const other = await keygate.newUser(tenantId, 'member');
    const service = await keygate.createKey(tenantId, { name: 'not the member’s' });
    const othersKey = await keygate.createKey(tenantId, { kind: 'user', userId: other.id, name: 'someone else’s' });

    const created = await session.post('/keys', { name: 'my laptop', scopes: ['devices:read'] });
    expect(created.status).toBe(201);
    expect(created.body.key).toMatchObject({ kind: 'user', user_id: user.id, created_by: user.id });
    const token = await keygate.token(created.body);
    expect(token.status).toBe(200);
    expect(token.body.scope).toBe('devices:read');

    expect(ids(await session.get('/keys'))).toEqual([created.body.key.client_id]);
    expect((await session.get(`/keys/${service.key.client_id}`)).status).toBe(404);
    expect((await session.get(`/keys/${othersKey.key.client_id}`)).status).toBe(404);
    expect((await session.post(`/keys/${othersKey.key.client_id}/disable`)).status).toBe(404);
    expect((await session.delete(`/keys/${service.key.client_id}`)).status).toBe(404);

    const forService = await session.post('/keys', { name: 'a service key', kind: 'service', scopes: ['devices:read'] });
    expect(forService.status).toBe(400);
    const forOther = await session.post('/keys', { name: 'for someone else', kind: 'user', user_id: other.id, scopes: ['devices:read'] });
    expect(forOther.status).toBe(400);
    expect(forOther.body.error.details).toContainEqual({ field: 'user_id', message: 'a user key may only create keys for its own user' });
    // A member holds no Keygate scope, so it grants none.
    const admin_ = await session.post('/keys', { name: 'sneaky', scopes: ['admin:keys:read'] });
    expect(admin_.status).toBe(400);
    expect((await session.post('/users', { email: 'made-by-member@example.test', role: 'viewer' })).status).toBe(403);

    // Its own key it rotates and disables.
    expect((await session.post(`/keys/${created.body.key.client_id}/rotate`, { grace_seconds: 0 })).status).toBe(200);
    expect((await session.post(`/keys/${created.body.key.client_id}/disable`)).status).toBe(200);
    // The audit trail it reads is its own.
    const events = (await session.get('/audit')).body.data as { actor_user_id: string | null; target_key_id: string | null }[];
    expect(events.length).toBeGreaterThan(0);
    for (const event of events) expect(event.actor_user_id === user.id || event.target_key_id === created.body.key.client_id).toBe(true);
  });

  it('a member’s own key stops when the member is disabled, and works again when enabled', async () => {
    const { user, session } = await signedInUser(keygate, tenantId, 'member');
    const created = (await session.post('/keys', { name: 'phone', scopes: ['devices:read'] })).body;
    expect((await keygate.token(created)).status).toBe(200);
    await admin.post(`/users/${user.id}/disable`);
    expect((await keygate.token(created)).status).toBe(401);
    await admin.post(`/users/${user.id}/enable`);
    expect((await keygate.token(created)).status).toBe(200);
  });

  it('demoting a manager stops the service key they made, not the user key they made for themselves', async () => {
    const { user, session } = await signedInUser(keygate, tenantId, 'manager');
    const service = (await session.post('/keys', { name: 'team job', scopes: ['devices:read'] })).body;
    const own = (await session.post('/keys', { name: 'my own', kind: 'user', user_id: user.id, scopes: ['devices:read'] })).body;
    expect((await keygate.token(service)).status).toBe(200);
    expect((await keygate.token(own)).status).toBe(200);
    expect((await admin.patch(`/users/${user.id}`, { role: 'member' })).status).toBe(200);
    expect((await keygate.token(service)).status).toBe(401);
    expect((await keygate.token(own)).status).toBe(200);
  });

  it('a manager manages the tenant’s keys but not its users; an admin manages users no stronger than itself', async () => {
    const manager = await signedInUser(keygate, tenantId, 'manager');
    const created = await manager.session.post('/keys', { name: 'team service', scopes: ['devices:read', 'admin:keys:read'] });
    expect(created.status).toBe(201);
    expect((await manager.session.post('/keys', { name: 'too strong', scopes: ['admin:users:write'] })).status).toBe(400);
    expect((await manager.session.post('/users', { email: 'by-manager@example.test', role: 'viewer' })).status).toBe(403);

    const boss = await signedInUser(keygate, tenantId, 'admin');
    const invited = await boss.session.post('/users', { email: 'by-admin@example.test', role: 'manager' });
    expect(invited.status).toBe(201);
    expect((await boss.session.post(`/keys/${created.body.key.client_id}/disable`)).status).toBe(200);
    const [event] = await keygate.runtime.audit.list({ action: 'user.create', actorUserId: boss.user.id });
    expect(event).toMatchObject({ actor_key_id: null, details: expect.objectContaining({ via: 'console' }) });
  });
});
