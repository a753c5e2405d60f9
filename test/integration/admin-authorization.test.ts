// Admin authorization, written as the attacks: the request a weaker principal sends to take over,
// stop or out-see a stronger one, and the refusal. Every rule holds for whole subtrees and whole
// creator chains, and a token made inactive stays dead.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CreatedKey } from '../../src/keys/types.ts';
import { adminClient, ALL_ADMIN_SCOPES, ALL_KEYGATE_SCOPES, clientFor, errorBody, type AdminClient } from '../support/admin.ts';
import { basicAuth, type HttpResponse } from '../support/http.ts';
import { startKeygate, type TestKeygate } from '../support/keygate.ts';

describe('admin authorization', () => {
  let keygate: TestKeygate;
  let tenantId: string;
  let introspector: CreatedKey;

  beforeAll(async () => {
    keygate = await startKeygate({ tokenStore: 'redis' });
    tenantId = await keygate.newTenant();
    introspector = await keygate.createKey(tenantId, { scopes: ['token:introspect'] });
  });
  afterAll(() => keygate?.close());

  const tokenOf = async (key: CreatedKey, scope?: string) => {
    const response = await keygate.token(key, { scope });
    expect(response.status).toBe(200);
    return response.body.access_token as string;
  };
  const isActive = async (token: string) => (await keygate.introspect(introspector, token)).body.active as boolean;
  const forbidden = (response: HttpResponse, message: string) => {
    expect(response.status).toBe(403);
    expect(response.body).toEqual(errorBody(response, 'forbidden', message));
  };
  const invalid = (response: HttpResponse, details: { field: string; message: string }[]) => {
    expect(response.status).toBe(400);
    expect(response.body).toEqual(errorBody(response, 'validation_failed', 'request body is invalid', details));
  };
  /** An admin client acting through a key that `creator` made over the API (so its creator is that key). */
  const madeBy = async (creator: AdminClient, scopes: string[], extra: Record<string, unknown> = {}) => {
    const created = await creator.post('/keys', { name: 'made', scopes, ...extra });
    expect(created.status).toBe(201);
    return clientFor(keygate, created.body, await tokenOf(created.body));
  };

  describe('no key manages a stronger key', () => {
    let strong: CreatedKey;
    let strongToken: string;
    let weak: AdminClient;

    beforeAll(async () => {
      strong = await keygate.createKey(tenantId, { name: 'bootstrap-like', scopes: ALL_KEYGATE_SCOPES });
      strongToken = await tokenOf(strong);
      weak = await adminClient(keygate, tenantId, ['admin:keys:write']);
    });

    // admin:keys:write implies admin:keys:read, as it does for the routes.
    const lacks = 'the key holds scopes this caller lacks: admin:users:write admin:tenants:write admin:audit:read token:introspect';

    it.each([
      ['rotate', 'POST', 'rotate', { grace_seconds: 0 }],
      ['PATCH', 'PATCH', '', { name: 'mine now' }],
      ['disable', 'POST', 'disable', undefined],
      ['enable', 'POST', 'enable', undefined],
      ['revoke-tokens', 'POST', 'revoke-tokens', undefined],
      ['delete', 'DELETE', '', undefined],
    ] as const)('a key with only admin:keys:write cannot %s a key holding every Keygate scope: 403', async (_label, method, action, body) => {
      const path = `/keys/${strong.key.client_id}${action ? `/${action}` : ''}`;
      const response = method === 'PATCH' ? await weak.patch(path, body) : method === 'DELETE' ? await weak.delete(path) : await weak.post(path, body);
      forbidden(response, lacks);
    });

    it('leaves the stronger key untouched by those attempts: same secret, same name, its token still active', async () => {
      expect((await keygate.token(strong)).status).toBe(200);
      expect((await weak.get(`/keys/${strong.key.client_id}`)).body.key).toMatchObject({ name: 'bootstrap-like', status: 'active' });
      expect(await isActive(strongToken)).toBe(true);
    });

    it('a token narrowed to fewer scopes cannot rotate its own key into the key’s full power', async () => {
      const self = await keygate.createKey(tenantId, { scopes: ['admin:keys:write', 'admin:users:write'] });
      const narrow = clientFor(keygate, self, await tokenOf(self, 'admin:keys:write'));
      forbidden(await narrow.post(`/keys/${self.key.client_id}/rotate`, { grace_seconds: 0 }), 'the key holds scopes this caller lacks: admin:users:write');
    });

    it('a key can rotate itself when its token carries all the key holds', async () => {
      const self = await adminClient(keygate, tenantId, ['admin:keys:write']);
      expect((await self.post(`/keys/${self.key.key.client_id}/rotate`, { grace_seconds: 60 })).status).toBe(200);
    });

    it('a PATCH cannot lift a key above the caller: adding a Keygate scope the caller lacks is refused', async () => {
      const target = await keygate.createKey(tenantId, { scopes: ['devices:read'] });
      invalid(await weak.patch(`/keys/${target.key.client_id}`, { scopes: ['devices:read', 'admin:tenants:write'] }), [
        { field: 'scopes', message: "'admin:tenants:write' can only be granted by a caller that holds it" },
      ]);
    });

    it('a key cannot manage the key that created it, even with the same scopes', async () => {
      const parent = await adminClient(keygate, tenantId, ['admin:keys:write']);
      const child = await madeBy(parent, ['admin:keys:write']);
      const grandchild = await madeBy(child, ['admin:keys:write']);
      for (const ancestor of [parent, child]) {
        forbidden(await grandchild.post(`/keys/${ancestor.key.key.client_id}/rotate`, { grace_seconds: 0 }), 'a key cannot manage a key that created it');
        forbidden(await grandchild.post(`/keys/${ancestor.key.key.client_id}/disable`), 'a key cannot manage a key that created it');
      }
      expect((await parent.post(`/keys/${grandchild.key.key.client_id}/disable`)).status).toBe(200);
    });

    describe('networks are rights too', () => {
      let fenced: AdminClient;

      beforeAll(async () => {
        const key = await keygate.createKey(tenantId, { scopes: ['admin:keys:write'], networks: ['127.0.0.0/8'] });
        fenced = clientFor(keygate, key, await tokenOf(key));
      });

      it('a caller bound to a network cannot take over a key usable from anywhere', async () => {
        const open = await keygate.createKey(tenantId, { scopes: ['devices:read'] });
        forbidden(await fenced.post(`/keys/${open.key.client_id}/rotate`, { grace_seconds: 0 }), "the key is usable from networks outside this caller's own");
      });

      it('nor create one, nor widen one: networks must lie within its own', async () => {
        const within = await keygate.createKey(tenantId, { scopes: ['devices:read'], networks: ['127.0.0.5'] });
        const message = "must lie within the caller's own networks (127.0.0.0/8)";
        invalid(await fenced.post('/keys', { name: 'open', scopes: ['devices:read'] }), [{ field: 'networks', message }]);
        invalid(await fenced.post('/keys', { name: 'wider', scopes: ['devices:read'], networks: ['10.0.0.0/8'] }), [{ field: 'networks', message }]);
        invalid(await fenced.patch(`/keys/${within.key.client_id}`, { networks: [] }), [{ field: 'networks', message }]);
        expect((await fenced.post('/keys', { name: 'inside', scopes: ['devices:read'], networks: ['127.0.0.0/24'] })).status).toBe(201);
        expect((await fenced.post(`/keys/${within.key.client_id}/rotate`, { grace_seconds: 0 })).status).toBe(200);
      });
    });
  });

  describe('no caller manages a stronger user', () => {
    it('a key without token:introspect cannot create, promote, disable or delete an admin user', async () => {
      const strong = await adminClient(keygate, tenantId, ALL_KEYGATE_SCOPES);
      const weak = await adminClient(keygate, tenantId, ALL_ADMIN_SCOPES);
      const message = "the 'admin' role holds scopes this caller lacks: token:introspect";
      forbidden(await weak.post('/users', { email: 'escalate@example.test', role: 'admin' }), message);
      const admin = (await strong.post('/users', { email: 'real-admin@example.test', role: 'admin' })).body.user;
      const viewer = (await weak.post('/users', { email: 'viewer@example.test', role: 'viewer' })).body.user;
      forbidden(await weak.patch(`/users/${viewer.id}`, { role: 'admin' }), message);
      forbidden(await weak.patch(`/users/${admin.id}`, { role: 'viewer' }), message);
      forbidden(await weak.post(`/users/${admin.id}/disable`), message);
      forbidden(await weak.delete(`/users/${admin.id}`), message);
      expect((await strong.get(`/users/${admin.id}`)).body.user).toMatchObject({ role: 'admin', status: 'active' });
    });

    it('a key that may not manage a person can neither make a key that acts as them nor take one over', async () => {
      const strong = await adminClient(keygate, tenantId, ALL_KEYGATE_SCOPES);
      const keysOnly = await adminClient(keygate, tenantId, ['admin:keys:read', 'admin:keys:write', 'token:introspect']);
      const weak = await adminClient(keygate, tenantId, ALL_ADMIN_SCOPES);
      const boss = await keygate.newUser(tenantId, 'admin');
      // Attack: mint a key that acts as the admin, so its changes are audited as the admin's.
      invalid(await keysOnly.post('/keys', { name: 'as the boss', kind: 'user', user_id: boss.id, scopes: ['devices:read'] }), [
        { field: 'user_id', message: "a key that acts for a person is made only by that person or by a caller holding 'admin:users:write'" },
      ]);
      invalid(await weak.post('/keys', { name: 'as the boss', kind: 'user', user_id: boss.id, scopes: ['devices:read'] }), [
        { field: 'user_id', message: "the 'admin' role holds scopes this caller lacks: token:introspect" },
      ]);
      // Attack: rotate the admin's own key to learn its new secret.
      const bossKey = await strong.post('/keys', { name: 'the boss’s laptop', kind: 'user', user_id: boss.id, scopes: ['devices:read'] });
      expect(bossKey.status).toBe(201);
      forbidden(
        await keysOnly.post(`/keys/${bossKey.body.key.client_id}/rotate`, { grace_seconds: 0 }),
        "a key that acts for a person is made only by that person or by a caller holding 'admin:users:write'",
      );
      expect((await keygate.token(bossKey.body)).status, 'the boss’s secret still works').toBe(200);
      // Whoever may manage the person may also make and rotate their keys.
      expect((await strong.post(`/keys/${bossKey.body.key.client_id}/rotate`, { grace_seconds: 0 })).status).toBe(200);
    });
  });

  describe('a tenant tree is one subtree at every depth', () => {
    let root: AdminClient;
    let c1: string;
    let g1: string;
    let g2: string;

    beforeAll(async () => {
      const rootTenant = await keygate.newTenant();
      root = await adminClient(keygate, rootTenant, ALL_KEYGATE_SCOPES);
      c1 = (await root.post('/tenants', { name: 'C1' })).body.tenant.id;
      const c1Admin = await adminClient(keygate, c1, ALL_KEYGATE_SCOPES);
      g1 = (await c1Admin.post('/tenants', { name: 'G1' })).body.tenant.id;
      const g1Admin = await adminClient(keygate, g1, ALL_KEYGATE_SCOPES);
      g2 = (await g1Admin.post('/tenants', { name: 'G2' })).body.tenant.id;
    });

    it('the root sees and manages tenants and keys at every depth below it', async () => {
      expect((await root.get(`/tenants/${g2}`)).body.tenant).toMatchObject({ id: g2, name: 'G2', parent_id: g1 });
      const key = await root.post('/keys', { name: 'deep', scopes: ['devices:read'], tenant_id: g2 });
      expect(key.status).toBe(201);
      expect((await root.post(`/keys/${key.body.key.client_id}/disable`)).status).toBe(200);
    });

    it('disabling the middle tenant stops the grandchildren’s keys, their tokens and their admin keys', async () => {
      const g2Key = await keygate.createKey(g2);
      const g2Token = await tokenOf(g2Key);
      const g2Admin = await adminClient(keygate, g2, ['admin:keys:write']);
      const rootIntrospector = await keygate.createKey(root.key.key.tenant_id, { scopes: ['token:introspect'] });
      expect((await keygate.introspect(rootIntrospector, g2Token)).body.active).toBe(true);

      expect((await root.post(`/tenants/${c1}/disable`)).status).toBe(200);
      expect((await keygate.token(g2Key)).status).toBe(401);
      expect((await keygate.introspect(rootIntrospector, g2Token)).body).toEqual({ active: false });
      expect((await g2Admin.post('/keys', { name: 'still here?', scopes: ['devices:read'] })).status).toBe(401);

      expect((await root.post(`/tenants/${c1}/enable`)).status).toBe(200);
      expect((await keygate.token(g2Key)).status).toBe(200);
      // A token made inactive stays dead.
      expect((await keygate.introspect(rootIntrospector, g2Token)).body).toEqual({ active: false });
    });

    it('a tenant cannot disable itself, and its child cannot disable its parent', async () => {
      const g1Admin = await adminClient(keygate, g1, ALL_KEYGATE_SCOPES);
      expect((await g1Admin.post(`/tenants/${g1}/disable`)).status).toBe(409);
      expect((await g1Admin.post(`/tenants/${c1}/disable`)).status).toBe(404);
    });

    it('refuses a tenant deeper than eight levels', async () => {
      let deepest = root;
      for (let level = 2; level <= 8; level++) {
        const child = (await deepest.post('/tenants', { name: `level ${level}` })).body.tenant.id;
        deepest = await adminClient(keygate, child, ALL_KEYGATE_SCOPES);
      }
      const refused = await deepest.post('/tenants', { name: 'level 9' });
      expect(refused.status).toBe(409);
      expect(refused.body).toEqual(errorBody(refused, 'conflict', 'tenants nest at most 8 deep; this tenant cannot have children'));
    });
  });

  describe('tenant key policy binds the subtree; a child may only be stricter', () => {
    let parent: AdminClient;
    let child: string;
    let childAdmin: AdminClient;

    beforeAll(async () => {
      parent = await adminClient(keygate, await keygate.newTenant(), ALL_KEYGATE_SCOPES);
      child = (await parent.post('/tenants', { name: 'strict child', allow_never_expiring_keys: false, max_key_lifetime_days: 30 })).body.tenant.id;
      childAdmin = await adminClient(keygate, child, ALL_KEYGATE_SCOPES);
    });

    it('the child’s own admin cannot loosen its policy', async () => {
      forbidden(
        await childAdmin.patch(`/tenants/${child}`, { allow_never_expiring_keys: true, max_key_lifetime_days: null }),
        "a tenant's key policy is set by its parent",
      );
      const never = await childAdmin.post('/keys', { name: 'forever', scopes: ['devices:read'], expires_at: null });
      invalid(never, [{ field: 'expires_at', message: 'this tenant does not allow keys that never expire' }]);
    });

    it('the child may rename itself', async () => {
      expect((await childAdmin.patch(`/tenants/${child}`, { name: 'renamed child' })).body.tenant).toMatchObject({
        name: 'renamed child',
        max_key_lifetime_days: 30,
      });
    });

    it('a grandchild cannot be created or set looser than the child, by anyone', async () => {
      invalid(await childAdmin.post('/tenants', { name: 'loose', allow_never_expiring_keys: true, max_key_lifetime_days: 365 }), [
        { field: 'allow_never_expiring_keys', message: 'a parent tenant forbids keys that never expire' },
        { field: 'max_key_lifetime_days', message: 'a parent tenant caps key lifetime at 30 days' },
      ]);
      const grandchild = (await childAdmin.post('/tenants', { name: 'inherits' })).body.tenant;
      expect(grandchild).toMatchObject({ allow_never_expiring_keys: false, max_key_lifetime_days: 30 });
      invalid(await parent.patch(`/tenants/${grandchild.id}`, { max_key_lifetime_days: 90 }), [
        { field: 'max_key_lifetime_days', message: 'a parent tenant caps key lifetime at 30 days' },
      ]);
    });

    it('a parent tightening later binds keys created below it at once', async () => {
      const loose = (await parent.post('/tenants', { name: 'loose child' })).body.tenant.id;
      const grandchild = (await (await adminClient(keygate, loose, ALL_KEYGATE_SCOPES)).post('/tenants', { name: 'g' })).body.tenant.id;
      expect((await parent.patch(`/tenants/${loose}`, { max_key_lifetime_days: 7 })).status).toBe(200);
      const tooLong = new Date(Date.now() + 30 * 86_400_000).toISOString();
      invalid(await parent.post('/keys', { name: 'k', scopes: ['devices:read'], tenant_id: grandchild, expires_at: tooLong }), [
        { field: 'expires_at', message: 'must be within 7 days' },
      ]);
    });
  });

  describe('a user key reaches only its own user', () => {
    let admin: AdminClient;
    let alice: AdminClient;
    let bobKey: CreatedKey;
    let tenantIntrospector: CreatedKey;

    beforeAll(async () => {
      const tenant = await keygate.newTenant();
      admin = await adminClient(keygate, tenant, ALL_KEYGATE_SCOPES);
      const manager = (await admin.post('/users', { email: 'alice@example.test', role: 'manager' })).body.user;
      const other = (await admin.post('/users', { email: 'bob@example.test', role: 'manager' })).body.user;
      const aliceKey = (
        await admin.post('/keys', { name: 'alice', kind: 'user', user_id: manager.id, scopes: ['admin:keys:write', 'admin:audit:read', 'token:introspect'] })
      ).body;
      bobKey = (await admin.post('/keys', { name: 'bob', kind: 'user', user_id: other.id, scopes: ['devices:read'] })).body;
      alice = clientFor(keygate, aliceKey, await tokenOf(aliceKey));
      tenantIntrospector = await keygate.createKey(tenant, { scopes: ['token:introspect'] });
    });

    it('reads only audit events that concern her user', async () => {
      const events = (await alice.get('/audit?limit=200')).body.data as { actor_user_id: string | null; target_key_id: string | null }[];
      expect(events.length).toBeGreaterThan(0);
      expect(events.filter((e) => e.target_key_id === bobKey.key.client_id)).toEqual([]);
      expect(events.every((e) => e.actor_user_id === alice.key.key.user_id || e.target_key_id === alice.key.key.client_id)).toBe(true);
    });

    it('counts only her own keys', async () => {
      expect((await alice.get('/keys')).body.counts).toEqual({ total: 1, active: 1, disabled: 0, expired: 0, expiring_30d: 0 });
    });

    it('cannot introspect or revoke another user’s token', async () => {
      const bobToken = await tokenOf(bobKey);
      const auth = { authorization: basicAuth(alice.key.key.client_id, alice.key.client_secret) };
      expect((await keygate.send({ path: '/oauth/introspect', headers: auth, form: { token: bobToken } })).body).toEqual({ active: false });
      expect((await keygate.send({ path: '/oauth/revoke', headers: auth, form: { token: bobToken } })).status).toBe(200);
      expect((await keygate.introspect(tenantIntrospector, bobToken)).body.active).toBe(true);
      const own = await tokenOf(alice.key);
      expect((await keygate.send({ path: '/oauth/introspect', headers: auth, form: { token: own } })).body).toMatchObject({ active: true });
    });
  });

  describe('the owner rule follows the whole creator chain, and dead tokens stay dead', () => {
    it('bootstrap → K1 → K2 → K3: when K1 loses the right to create keys, K3 stops too', async () => {
      const bootstrap = await adminClient(keygate, tenantId, ALL_KEYGATE_SCOPES);
      const k1 = await madeBy(bootstrap, ['admin:keys:write']);
      const k2 = await madeBy(k1, ['admin:keys:write']);
      const k3 = (await k2.post('/keys', { name: 'K3', scopes: ['devices:read'] })).body as CreatedKey;
      const k3Token = await tokenOf(k3);

      expect((await bootstrap.patch(`/keys/${k1.key.key.client_id}`, { scopes: ['devices:read'] })).status).toBe(200);
      const refused = await keygate.token(k3);
      expect(refused.status).toBe(401);
      expect(await isActive(k3Token)).toBe(false);
      const [denial] = (await keygate.runtime.audit.list({ targetKeyId: k3.key.client_id })).filter((e) => e.outcome === 'denied');
      expect(denial).toMatchObject({ action: 'token.issue', reason: 'owner_not_authorized' });

      expect((await bootstrap.patch(`/keys/${k1.key.key.client_id}`, { scopes: ['admin:keys:write'] })).status).toBe(200);
      expect((await keygate.token(k3)).status).toBe(200);
      expect(await isActive(k3Token)).toBe(false);
    });

    it('a disabled then re-enabled user’s key tokens stay dead', async () => {
      const admin = await adminClient(keygate, tenantId, ALL_KEYGATE_SCOPES);
      const user = (await admin.post('/users', { email: 'toggled@example.test', role: 'member' })).body.user;
      const key = (await admin.post('/keys', { name: 'u', kind: 'user', user_id: user.id, scopes: ['devices:read'] })).body;
      const token = await tokenOf(key);
      await admin.post(`/users/${user.id}/disable`);
      await admin.post(`/users/${user.id}/enable`);
      expect(await isActive(token)).toBe(false);
      expect(await isActive(await tokenOf(key))).toBe(true);
    });

    it('a demoted then promoted creator’s keys’ tokens stay dead; so do a demoted user’s narrowed tokens', async () => {
      const admin = await adminClient(keygate, tenantId, ALL_KEYGATE_SCOPES);
      const user = (await admin.post('/users', { email: 'promoted@example.test', role: 'manager' })).body.user;
      const own = (await admin.post('/keys', { name: 'own', kind: 'user', user_id: user.id, scopes: ['admin:keys:write', 'devices:read'] })).body;
      const asUser = clientFor(keygate, own, await tokenOf(own));
      const made = (await asUser.post('/keys', { name: 'made by a person', kind: 'user', scopes: ['devices:read'] })).body;
      const madeToken = await tokenOf(made);
      const ownToken = await tokenOf(own);

      await admin.patch(`/users/${user.id}`, { role: 'member' });
      await admin.patch(`/users/${user.id}`, { role: 'manager' });
      expect(await isActive(madeToken)).toBe(false);
      expect(await isActive(ownToken)).toBe(false);
      expect(await isActive(await tokenOf(made))).toBe(true);
    });
  });

  it('thirty parallel creates for one user make exactly twenty keys', async () => {
    const admin = await adminClient(keygate, tenantId, ALL_KEYGATE_SCOPES);
    const user = (await admin.post('/users', { email: 'busy@example.test', role: 'member' })).body.user;
    const responses = await Promise.all(
      Array.from({ length: 30 }, (_, i) => admin.post('/keys', { name: `k${i}`, kind: 'user', user_id: user.id, scopes: ['devices:read'] })),
    );
    expect(responses.filter((r) => r.status === 201)).toHaveLength(20);
    for (const refused of responses.filter((r) => r.status !== 201)) {
      expect(refused.status).toBe(409);
      expect(refused.body.error).toMatchObject({ code: 'limit_reached', details: [{ field: 'user_id', message: 'already holds 20 user keys' }] });
    }
    expect((await admin.get(`/keys?user_id=${user.id}&limit=200`)).body.data).toHaveLength(20);
  });

  describe('what an attacker’s review found', () => {
    let admin: AdminClient;
    const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

    beforeAll(async () => {
      admin = await adminClient(keygate, tenantId, ALL_KEYGATE_SCOPES);
    });

    /** Mints tokens in 24 loops while `stop` runs, then `start`s again: returns how many came back to life. */
    async function revivedAfter(key: CreatedKey, stop: () => Promise<HttpResponse>, start: () => Promise<HttpResponse>): Promise<number> {
      const tokens: string[] = [];
      let running = true;
      const loops = Array.from({ length: 24 }, async () => {
        while (running) {
          const response = await keygate.token(key);
          if (response.status === 200) tokens.push(response.body.access_token);
        }
      });
      await sleep(100);
      expect((await stop()).status).toBe(200);
      running = false;
      await Promise.all(loops);
      expect((await start()).status).toBe(200);
      expect(tokens.length).toBeGreaterThan(0);
      return (await Promise.all(tokens.map(isActive))).filter(Boolean).length;
    }

    it('a token minted while its key was being disabled stays dead after enable', async () => {
      const key = (await admin.post('/keys', { name: 'racy', scopes: ['devices:read'] })).body as CreatedKey;
      const path = `/keys/${key.key.client_id}`;
      expect(
        await revivedAfter(
          key,
          () => admin.post(`${path}/disable`),
          () => admin.post(`${path}/enable`),
        ),
      ).toBe(0);
    });

    it('a token minted while its user was being disabled stays dead after enable', async () => {
      const user = (await admin.post('/users', { email: 'racy-user@example.test', role: 'member' })).body.user;
      const key = (await admin.post('/keys', { name: 'racy user key', kind: 'user', user_id: user.id, scopes: ['devices:read'] })).body as CreatedKey;
      expect(
        await revivedAfter(
          key,
          () => admin.post(`/users/${user.id}/disable`),
          () => admin.post(`/users/${user.id}/enable`),
        ),
      ).toBe(0);
    });

    it('a token minted while its tenant was being disabled stays dead after enable', async () => {
      const child = (await admin.post('/tenants', { name: 'racy child' })).body.tenant.id;
      const key = (await admin.post('/keys', { name: 'racy tenant key', scopes: ['devices:read'], tenant_id: child })).body as CreatedKey;
      expect(
        await revivedAfter(
          key,
          () => admin.post(`/tenants/${child}/disable`),
          () => admin.post(`/tenants/${child}/enable`),
        ),
      ).toBe(0);
    });

    it('a weaker key cannot stop, strip or restart a stronger key through the key that created it', async () => {
      const weak = await adminClient(keygate, tenantId, ['admin:keys:write']);
      const creator = await madeBy(admin, ['admin:keys:write']);
      const strongChild = (await creator.post('/keys', { name: 'D', scopes: ['admin:keys:write'] })).body as CreatedKey;
      expect((await admin.patch(`/keys/${strongChild.key.client_id}`, { scopes: ALL_KEYGATE_SCOPES })).status).toBe(200);
      const id = creator.key.key.client_id;
      const message = `it created ${strongChild.key.client_id}, and the key holds scopes this caller lacks: admin:users:write admin:tenants:write admin:audit:read token:introspect`;
      forbidden(await weak.post(`/keys/${id}/disable`), message);
      forbidden(await weak.delete(`/keys/${id}`), message);
      forbidden(await weak.patch(`/keys/${id}`, { scopes: ['devices:read'] }), message);
      expect((await admin.post(`/keys/${id}/disable`)).status).toBe(200);
      forbidden(await weak.post(`/keys/${id}/enable`), message);
      expect((await keygate.token(strongChild)).status).toBe(401);
    });

    it('a key made by a user key cannot take over the user key that made it, and stops with it', async () => {
      const manager = (await admin.post('/users', { email: 'maker@example.test', role: 'manager' })).body.user;
      const first = (await admin.post('/keys', { name: 'UK1', kind: 'user', user_id: manager.id, scopes: ['admin:keys:write', 'devices:read'] }))
        .body as CreatedKey;
      const asFirst = clientFor(keygate, first, await tokenOf(first));
      const second = await madeBy(asFirst, ['admin:keys:write']);
      forbidden(await second.post(`/keys/${first.key.client_id}/rotate`, { grace_seconds: 0 }), 'a key cannot manage a key that created it');
      const third = (await second.post('/keys', { name: 'UK3', scopes: ['devices:read'] })).body as CreatedKey;
      const thirdToken = await tokenOf(third);
      expect((await admin.post(`/keys/${first.key.client_id}/disable`)).status).toBe(200);
      expect((await keygate.token(third)).status).toBe(401);
      expect(await isActive(thirdToken)).toBe(false);
    });

    it('a key cannot launder its way to its creator by rotating a peer and acting through it', async () => {
      const creator = await adminClient(keygate, tenantId, ['admin:keys:write']);
      const made = await madeBy(creator, ['admin:keys:write']);
      const peer = await keygate.createKey(tenantId, { scopes: ['admin:keys:write'] });
      forbidden(
        await made.post(`/keys/${peer.key.client_id}/rotate`, { grace_seconds: 0 }),
        `its secret could manage ${creator.key.key.client_id}, a key that created this caller`,
      );
      const own = (await made.post('/keys', { name: 'mine', scopes: ['admin:keys:write'] })).body as CreatedKey;
      expect((await made.post(`/keys/${own.key.client_id}/rotate`, { grace_seconds: 0 })).status).toBe(200);
    });

    it('a token never outlives its key, so extending an expired key does not revive it', async () => {
      const key = (await admin.post('/keys', { name: 'short', scopes: ['devices:read'], expires_at: new Date(Date.now() + 2000).toISOString() }))
        .body as CreatedKey;
      const minted = await keygate.token(key);
      expect(minted.body.expires_in).toBeLessThanOrEqual(2);
      await sleep(2500);
      expect((await admin.patch(`/keys/${key.key.client_id}`, { expires_at: new Date(Date.now() + 86_400_000).toISOString() })).status).toBe(200);
      expect(await isActive(minted.body.access_token)).toBe(false);
    });

    it('answers races against a user’s deletion with 404 or 400, never a 5xx', async () => {
      for (let round = 0; round < 5; round++) {
        const user = (await admin.post('/users', { email: `doomed-${round}@example.test`, role: 'member' })).body.user;
        const responses = await Promise.all([
          admin.delete(`/users/${user.id}`),
          admin.post(`/users/${user.id}/disable`),
          admin.patch(`/users/${user.id}`, { role: 'viewer' }),
          admin.post('/keys', { name: 'late', kind: 'user', user_id: user.id, scopes: ['devices:read'] }),
        ]);
        expect(responses.filter((r) => r.status >= 500).map((r) => r.text)).toEqual([]);
      }
    });

    it('refuses a list cursor from outside any key’s lifetime with 400', async () => {
      const cursor = Buffer.from(JSON.stringify(['-271821-04-20T00:00:00.000Z', 'kg_x'])).toString('base64url');
      const response = await admin.get(`/keys?cursor=${cursor}`);
      expect(response.body).toEqual(
        errorBody(response, 'validation_failed', 'query is invalid', [{ field: 'cursor', message: 'not a cursor this server issued' }]),
      );
    });

    it('a tenant disabled from above stays disabled until a tenant that high enables it', async () => {
      const middle = (await admin.post('/tenants', { name: 'middle' })).body.tenant.id;
      const middleAdmin = await adminClient(keygate, middle, ALL_KEYGATE_SCOPES);
      const leaf = (await middleAdmin.post('/tenants', { name: 'leaf' })).body.tenant.id;
      expect((await admin.post(`/tenants/${leaf}/disable`)).status).toBe(200);
      forbidden(await middleAdmin.post(`/tenants/${leaf}/enable`), 'a tenant above this caller disabled it; only that tenant or one above it can enable it');
      expect((await admin.post(`/tenants/${leaf}/enable`)).status).toBe(200);
      expect((await middleAdmin.post(`/tenants/${leaf}/disable`)).status).toBe(200);
      expect((await middleAdmin.post(`/tenants/${leaf}/enable`)).status).toBe(200);
    });

    it('a caller bound to a network cannot promote a user whose keys work from anywhere', async () => {
      const fencedKey = await keygate.createKey(tenantId, { scopes: ALL_KEYGATE_SCOPES, networks: ['127.0.0.0/8'] });
      const fenced = clientFor(keygate, fencedKey, await tokenOf(fencedKey));
      const member = (await admin.post('/users', { email: 'unfenced@example.test', role: 'member' })).body.user;
      expect((await admin.post('/keys', { name: 'open', kind: 'user', user_id: member.id, scopes: ['admin:keys:write'] })).status).toBe(201);
      forbidden(await fenced.patch(`/users/${member.id}`, { role: 'manager' }), "the user has a key usable from networks outside this caller's own");
    });
  });
});
