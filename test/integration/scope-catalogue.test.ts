// The scope catalogue over real HTTP and Postgres: set from above and inherited below, enforced on
// every new scope (creation, a change that adds one, user keys) and never on scopes a key already
// holds; what a child tenant's admin tries against it, and the refusal.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ALL_KEYGATE_SCOPES, adminClient, errorBody, type AdminClient } from '../support/admin.ts';
import { startKeygate, type TestKeygate } from '../support/keygate.ts';
import type { HttpResponse } from '../support/http.ts';

const offCatalogue = (response: HttpResponse, ...scopes: string[]) => {
  expect(response.status).toBe(400);
  expect(response.body).toEqual(
    errorBody(
      response,
      'validation_failed',
      'request body is invalid',
      scopes.map((scope) => ({ field: 'scopes', message: `'${scope}' is not in the tenant's scope catalogue` })),
    ),
  );
};

describe('the scope catalogue', () => {
  let keygate: TestKeygate;
  let rootId: string;
  let childId: string;
  let root: AdminClient;
  let child: AdminClient;
  let legacy: Awaited<ReturnType<TestKeygate['createKey']>>;

  beforeAll(async () => {
    keygate = await startKeygate({ tokenStore: 'memory' });
    rootId = await keygate.newTenant();
    childId = (await keygate.runtime.tenants.insert({ name: 'child', parentId: rootId })).id;
    root = await adminClient(keygate, rootId);
    child = await adminClient(keygate, childId, ALL_KEYGATE_SCOPES);
    // Made while no catalogue exists: free-form scopes.
    legacy = await keygate.createKey(childId, { name: 'legacy', scopes: ['legacy:run', 'devices:read'] });
  });
  afterAll(() => keygate?.close());

  it('without a catalogue anywhere up the path, scopes are free-form', async () => {
    expect((await child.post('/keys', { name: 'free', scopes: ['anything:goes'] })).status).toBe(201);
    expect((await child.get('/scopes')).body).toEqual({ data: [] });
  });

  it('a root tenant’s admin defines a resource; it is audited', async () => {
    const put = await root.put('/scopes/devices', { description: 'Sensors in the field', actions: ['read', 'write'] });
    expect(put.status).toBe(200);
    expect(put.body).toEqual({
      resource: { resource: 'devices', description: 'Sensors in the field', actions: ['read', 'write'], tenant_id: rootId, inherited: false },
    });
    const audit = await root.get('/audit?action=scope.put');
    expect(audit.body.data[0]).toMatchObject({
      action: 'scope.put',
      outcome: 'success',
      tenant_id: rootId,
      actor_key_id: root.key.key.client_id,
      details: { resource: 'devices', actions: ['read', 'write'], created: true, via: 'admin-api' },
    });
  });

  it('a child tenant inherits it', async () => {
    expect((await child.get('/scopes')).body.data).toEqual([
      { resource: 'devices', description: 'Sensors in the field', actions: ['read', 'write'], tenant_id: rootId, inherited: true },
    ]);
  });

  it('attack: a child tenant’s admin key creates a key with an off-catalogue scope, and is refused; catalogue and Keygate scopes pass', async () => {
    offCatalogue(await child.post('/keys', { name: 'sneaky', scopes: ['billing:read', 'devices:read'] }), 'billing:read');
    offCatalogue(await child.post('/keys', { name: 'sneaky', scopes: ['devices:delete'] }), 'devices:delete');
    offCatalogue(await child.post('/keys', { name: 'sneaky', scopes: ['devices'] }), 'devices');
    const fine = await child.post('/keys', { name: 'fine', scopes: ['devices:read', 'devices:write', 'admin:keys:read'] });
    expect(fine.status).toBe(201);
  });

  it('binds the operator’s CLI too (one rule in the key service); token:introspect is always allowed', async () => {
    await expect(keygate.createKey(childId, { scopes: ['billing:read'] })).rejects.toThrow('request body is invalid');
    expect((await keygate.createKey(childId, { scopes: ['token:introspect', 'devices:read'] })).key.scopes).toEqual(['token:introspect', 'devices:read']);
  });

  it('attack: a change that adds an off-catalogue scope is refused and changes nothing', async () => {
    const key = (await child.post('/keys', { name: 'to widen', scopes: ['devices:read'] })).body;
    offCatalogue(await child.patch(`/keys/${key.key.client_id}`, { scopes: ['devices:read', 'billing:write'] }), 'billing:write');
    expect((await child.get(`/keys/${key.key.client_id}`)).body.key.scopes).toEqual(['devices:read']);
  });

  it('attack: a user key with an off-catalogue scope is refused', async () => {
    const user = await keygate.newUser(childId, 'member');
    offCatalogue(await child.post('/keys', { name: 'user', kind: 'user', user_id: user.id, scopes: ['billing:read'] }), 'billing:read');
    expect((await child.post('/keys', { name: 'user', kind: 'user', user_id: user.id, scopes: ['devices:read'] })).status).toBe(201);
  });

  it('existing keys keep working: tokens for scopes they already hold, and changes that keep them', async () => {
    const token = await keygate.token(legacy, { scope: 'legacy:run' });
    expect(token.status).toBe(200);
    expect(token.body.scope).toBe('legacy:run');
    const renamed = await child.patch(`/keys/${legacy.key.client_id}`, { name: 'legacy renamed', scopes: ['legacy:run', 'devices:read', 'devices:write'] });
    expect(renamed.status).toBe(200);
    expect(renamed.body.key.scopes).toEqual(['legacy:run', 'devices:read', 'devices:write']);
  });

  it('attack: a child tenant cannot edit its own catalogue nor its parent’s', async () => {
    const own = await child.put('/scopes/billing', { actions: ['read'] });
    expect(own.status).toBe(403);
    expect(own.body).toEqual(errorBody(own, 'forbidden', "a tenant's scope catalogue is set by its parent"));
    expect((await child.delete('/scopes/devices')).status).toBe(403);
    for (const response of [
      await child.put(`/scopes/devices?tenant_id=${rootId}`, { actions: ['read', 'write', 'delete'] }),
      await child.put(`/scopes/billing?tenant_id=${rootId}`, { actions: ['read'] }),
      await child.delete(`/scopes/devices?tenant_id=${rootId}`),
      await child.get(`/scopes?tenant_id=${rootId}`),
    ]) {
      expect(response.status).toBe(404);
      expect(response.body).toEqual(errorBody(response, 'not_found', 'no such tenant'));
    }
    expect((await root.get('/scopes')).body.data).toEqual([
      { resource: 'devices', description: 'Sensors in the field', actions: ['read', 'write'], tenant_id: rootId, inherited: false },
    ]);
  });

  it('the parent sets a child’s own resources; they bind the child only, and cannot redefine the parent’s', async () => {
    const put = await root.put(`/scopes/billing?tenant_id=${childId}`, { actions: ['read'] });
    expect(put.status).toBe(200);
    expect((await child.get('/scopes')).body.data.map((r: { resource: string; inherited: boolean }) => [r.resource, r.inherited])).toEqual([
      ['billing', false],
      ['devices', true],
    ]);
    expect((await child.post('/keys', { name: 'billing', scopes: ['billing:read'] })).status).toBe(201);
    offCatalogue(await root.post('/keys', { name: 'billing at the root', scopes: ['billing:read'] }), 'billing:read');
    const again = await root.put(`/scopes/devices?tenant_id=${childId}`, { actions: ['read'] });
    expect(again.status).toBe(409);
  });

  it('writing needs admin:tenants:write; reading needs admin:keys:read', async () => {
    const manager = await adminClient(keygate, rootId, ['admin:keys:read', 'admin:keys:write']);
    const put = await manager.put('/scopes/printers', { actions: ['read'] });
    expect(put.status).toBe(403);
    expect(put.body).toEqual(errorBody(put, 'forbidden', "this token lacks the 'admin:tenants:write' scope"));
    expect((await manager.get('/scopes')).status).toBe(200);
    const outsider = await adminClient(keygate, rootId, ['admin:audit:read']);
    expect((await outsider.get('/scopes')).status).toBe(403);
  });

  it.each([
    ['/scopes/admin', { actions: ['read'] }, 'resource'],
    ['/scopes/token', { actions: ['read'] }, 'resource'],
    ['/scopes/Devices', { actions: ['read'] }, 'resource'],
    ['/scopes/a:b', { actions: ['read'] }, 'resource'],
    ['/scopes/printers', { actions: [] }, 'actions'],
    ['/scopes/printers', { actions: ['read', 'read'] }, 'actions'],
    ['/scopes/printers', { actions: ['Read'] }, 'actions[0]'],
    ['/scopes/printers', { actions: ['read'], extra: 1 }, 'extra'],
    ['/scopes/printers', { actions: ['read'], description: 'x'.repeat(1025) }, 'description'],
  ])('refuses PUT %s %j with a field error on %s, and stores nothing', async (path, body, field) => {
    const response = await root.put(path, body);
    expect(response.status).toBe(400);
    expect(response.body.error.details.map((d: { field: string }) => d.field)).toContain(field);
    expect((await root.get('/scopes')).body.data.map((r: { resource: string }) => r.resource)).toEqual(['devices']);
  });

  it('replacing a resource changes its actions; removing it frees the tenant again, audited', async () => {
    expect((await root.put('/scopes/devices', { actions: ['read'] })).body.resource.actions).toEqual(['read']);
    offCatalogue(await root.post('/keys', { name: 'w', scopes: ['devices:write'] }), 'devices:write');
    const removed = await root.delete('/scopes/devices');
    expect(removed.status).toBe(204);
    expect((await root.delete('/scopes/devices')).status).toBe(404);
    expect((await root.post('/keys', { name: 'w', scopes: ['devices:write'] })).status).toBe(201);
    // The child still has its own catalogue (billing), so it stays bound.
    offCatalogue(await child.post('/keys', { name: 'd', scopes: ['devices:write'] }), 'devices:write');
    const audit = await root.get('/audit?action=scope.delete');
    expect(audit.body.data[0]).toMatchObject({ action: 'scope.delete', tenant_id: rootId, details: { resource: 'devices', actions: ['read'] } });
  });
});
