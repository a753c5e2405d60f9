// Attacker's review 9 (admin authorization). Each test sends the attacker's real requests and
// asserts the SECURE behaviour: a failing test here is a hole. `held` tests passed on the code
// under review.
import { generateKeyPairSync, randomUUID, sign, type KeyObject } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CreatedKey } from '../../src/keys/types.ts';
import { adminClient, ALL_KEYGATE_SCOPES, clientFor, type AdminClient } from '../support/admin.ts';
import { setPassword, signedInUser, signInRequest, tokenOf } from '../support/console.ts';
import { ISSUER, startKeygate, type TestKeygate } from '../support/keygate.ts';

const ATTACKER_PASSWORD = 'copper-lantern-orchard-93';

/** An ES256 key pair: the public JWK to PATCH onto a key, the private key to sign its assertions. */
function attackerKeyPair(): { publicJwk: Record<string, string>; privateKey: KeyObject; kid: string } {
  const { publicKey, privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const jwk = publicKey.export({ format: 'jwk' }) as Record<string, string>;
  const kid = `attacker-${randomUUID()}`;
  return { publicJwk: { kty: jwk.kty!, crv: jwk.crv!, x: jwk.x!, y: jwk.y!, kid, alg: 'ES256' }, privateKey, kid };
}

const b64url = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');

/** A private_key_jwt client assertion (RFC 7523) for `clientId`, signed with the attacker's key. */
function clientAssertion(clientId: string, pair: ReturnType<typeof attackerKeyPair>): string {
  const now = Math.floor(Date.now() / 1000);
  const head = `${b64url({ alg: 'ES256', kid: pair.kid, typ: 'JWT' })}.${b64url({ iss: clientId, sub: clientId, aud: ISSUER, iat: now, exp: now + 120, jti: randomUUID() })}`;
  const signature = sign('sha256', Buffer.from(head), { key: pair.privateKey, dsaEncoding: 'ieee-p1363' }).toString('base64url');
  return `${head}.${signature}`;
}

describe('attack review 9: admin authorization', () => {
  let keygate: TestKeygate;

  beforeAll(async () => {
    keygate = await startKeygate({ tokenStore: 'redis' });
  });
  afterAll(() => keygate?.close());

  const tokenOfKey = async (key: CreatedKey, from?: string) => {
    const response = await keygate.token(key, { from });
    expect(response.status).toBe(200);
    return response.body.access_token as string;
  };
  const jwtToken = (clientId: string, pair: ReturnType<typeof attackerKeyPair>) =>
    keygate.send({
      path: '/oauth/token',
      form: {
        grant_type: 'client_credentials',
        client_id: clientId,
        client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer',
        client_assertion: clientAssertion(clientId, pair),
      },
    });
  const madeBy = async (creator: AdminClient, scopes: string[]) => {
    const created = await creator.post('/keys', { name: 'made', scopes });
    expect(created.status).toBe(201);
    return clientFor(keygate, created.body, await tokenOfKey(created.body));
  };

  it('F1: a manager takes over an admin’s user key by PATCHing in its own JWKS (rotation is refused), then acts as the admin', async () => {
    const root = await keygate.newTenant();
    const admin = await signedInUser(keygate, root, 'admin');
    const manager = await signedInUser(keygate, root, 'manager');
    const adminsKey = await admin.session.post('/keys', {
      name: 'alice automation',
      kind: 'user',
      user_id: admin.user.id,
      scopes: ['admin:keys:write', 'admin:audit:read', 'devices:read'],
    });
    expect(adminsKey.status).toBe(201);
    const id = adminsKey.body.key.client_id as string;
    // The rule, as rotation states it: a manager never takes over an admin's key.
    const rotate = await manager.session.post(`/keys/${id}/rotate`, { grace_seconds: 0 });
    expect(rotate.status).toBe(403);
    // The same takeover through PATCH: the manager's own public key becomes the key's credential.
    const pair = attackerKeyPair();
    const patch = await manager.session.patch(`/keys/${id}`, { jwks: { keys: [pair.publicJwk] } });
    const token = patch.status === 200 ? await jwtToken(id, pair) : undefined;
    let actedAs: string | null | undefined;
    if (token?.status === 200) {
      // As the admin's key: a new key, created on the record by the admin.
      const made = await keygate.send({
        path: '/admin/v1/keys',
        headers: { authorization: `Bearer ${token.body.access_token}` },
        json: { name: 'planted', kind: 'user', scopes: ['devices:read'] },
      });
      expect(made.status, made.text).toBe(201);
      actedAs = (await keygate.runtime.audit.list({ targetKeyId: made.body.key.client_id })).find((e) => e.action === 'key.create')?.actor_user_id;
    }
    // Observed on the code under review: { patch: 200, token: 200, actedAsTheAdmin: true }.
    expect({ patch: patch.status, token: token?.status, actedAsTheAdmin: actedAs === admin.user.id }).toEqual({
      patch: 403,
      token: undefined,
      actedAsTheAdmin: false,
    });
  });

  it('F2: a key launders around the creator rule: it PATCHes a JWKS onto a peer it may not rotate, then rotates its own creator', async () => {
    const root = await keygate.newTenant();
    const parent = await adminClient(keygate, root, ['admin:keys:write']);
    const child = await madeBy(parent, ['admin:keys:write']);
    const peer = await keygate.createKey(root, { name: 'peer', scopes: ['admin:keys:write'] });
    // Held: rotating the peer is refused, its secret could manage the child's creator.
    const rotate = await child.post(`/keys/${peer.key.client_id}/rotate`, { grace_seconds: 0 });
    expect(rotate.status).toBe(403);
    // The same takeover through a credential change:
    const pair = attackerKeyPair();
    const patch = await child.patch(`/keys/${peer.key.client_id}`, { jwks: { keys: [pair.publicJwk] } });
    const token = patch.status === 200 ? await jwtToken(peer.key.client_id, pair) : undefined;
    let creatorRotated: number | undefined;
    if (token?.status === 200) {
      const asPeer = clientFor(keygate, peer, token.body.access_token);
      creatorRotated = (await asPeer.post(`/keys/${parent.key.key.client_id}/rotate`, { grace_seconds: 3600 })).status;
    }
    // Observed: { patch: 200, token: 200, creatorRotated: 200 }: the child holds its creator's secret.
    expect({ patch: patch.status, token: token?.status, creatorRotated }).toEqual({ patch: 403, token: undefined, creatorRotated: undefined });
  });

  it('F3a: a network-bound admin key stops an unbound key by disabling the person who made it (the key itself is 403)', async () => {
    const root = await keygate.newTenant();
    const person = await signedInUser(keygate, root, 'admin');
    const made = await person.session.post('/keys', { name: 'made anywhere', scopes: ['admin:keys:write'] });
    expect(made.status).toBe(201);
    const bound = await keygate.createKey(root, { name: 'ci only', scopes: ALL_KEYGATE_SCOPES, networks: ['127.0.0.5/32'] });
    const token = await tokenOfKey(bound, '127.0.0.5');
    const call = (path: string) =>
      keygate.send({ method: 'POST', path: `/admin/v1${path}`, headers: { authorization: `Bearer ${token}` }, json: {}, from: '127.0.0.5' });
    // Held: the key itself is too strong for this caller.
    expect((await call(`/keys/${made.body.key.client_id}/disable`)).status).toBe(403);
    // Stopping its creator stops it all the same:
    const disable = await call(`/users/${person.user.id}/disable`);
    const after = (await keygate.token(made.body)).status;
    // Observed: { disable: 200, stoppedKeyToken: 401 }.
    expect({ disable: disable.status, stoppedKeyToken: after }).toEqual({ disable: 403, stoppedKeyToken: 200 });
  });

  it('F3b: a caller without admin:tenants:write stops a key holding it by demoting or disabling the person who made it', async () => {
    const root = await keygate.newTenant();
    const boss = await signedInUser(keygate, root, 'admin');
    const person = await signedInUser(keygate, root, 'admin');
    const made = await person.session.post('/keys', { name: 'tenant automation', scopes: ['admin:tenants:write', 'admin:keys:write'] });
    expect(made.status).toBe(201);
    // Later the person steps down to manager: managers still create keys, so the key keeps working.
    expect((await boss.session.patch(`/users/${person.user.id}`, { role: 'manager' })).status).toBe(200);
    expect((await keygate.token(made.body)).status).toBe(200);
    // Everything a manager holds, plus managing people; not admin:tenants:write.
    const weak = await adminClient(keygate, root, ['admin:users:write', 'admin:keys:write', 'admin:audit:read', 'token:introspect']);
    // Held: the key itself is too strong for this caller.
    expect((await weak.post(`/keys/${made.body.key.client_id}/disable`)).status).toBe(403);
    const demote = await weak.patch(`/users/${person.user.id}`, { role: 'viewer' });
    const afterDemote = (await keygate.token(made.body)).status;
    // Observed: { demote: 200, stoppedKeyToken: 401 }.
    expect({ demote: demote.status, stoppedKeyToken: afterDemote }).toEqual({ demote: 403, stoppedKeyToken: 200 });
  });

  it('F4: a set-up link minted by an admin key still signs its holder in as an admin after that key was stripped of its admin scopes', async () => {
    const root = await keygate.newTenant();
    const boss = await signedInUser(keygate, root, 'admin');
    const automation = await boss.session.post('/keys', { name: 'provisioning', scopes: ALL_KEYGATE_SCOPES });
    expect(automation.status).toBe(201);
    const key = clientFor(keygate, automation.body, await tokenOfKey(automation.body));
    const person = await key.post('/users', { email: `f4-${randomUUID()}@example.test`, role: 'admin' });
    expect(person.status).toBe(201);
    const link = await key.post(`/users/${person.body.user.id}/setup-link`);
    expect(link.status).toBe(201);
    // The boss finds out and takes the key's power away; the key can no longer issue such a link.
    expect((await boss.session.patch(`/keys/${automation.body.key.client_id}`, { scopes: ['admin:keys:read'] })).status).toBe(200);
    const set = await setPassword(keygate, tokenOf(link.body.setup_link.url), ATTACKER_PASSWORD);
    const signIn = set.status === 200 ? (await signInRequest(keygate, person.body.user.email, ATTACKER_PASSWORD)).status : undefined;
    // Observed: { set: 200, signIn: 200 }: the stripped key's holder is an admin person now.
    expect({ set: set.status, signIn }).toEqual({ set: 400, signIn: undefined });
  });

  it('F4b: a set-up link minted by a key outlives that key being stopped by its creator chain', async () => {
    const root = await keygate.newTenant();
    const top = await adminClient(keygate, root, ALL_KEYGATE_SCOPES);
    const made = await madeBy(top, ALL_KEYGATE_SCOPES);
    const person = await made.post('/users', { email: `f4b-${randomUUID()}@example.test`, role: 'admin' });
    expect(person.status).toBe(201);
    const link = await made.post(`/users/${person.body.user.id}/setup-link`);
    expect(link.status).toBe(201);
    // Its creator is disabled: the made key stops (owner rule).
    expect((await top.post(`/keys/${top.key.key.client_id}/disable`)).status).toBe(200);
    expect((await keygate.token(made.key)).status).toBe(401);
    const set = await setPassword(keygate, tokenOf(link.body.setup_link.url), ATTACKER_PASSWORD);
    // Observed: 200.
    expect(set.status).toBe(400);
  });

  it('F5: a member listing their own keys learns the email of the admin (and the name of the admin key) that made them', async () => {
    const root = await keygate.newTenant();
    const admin = await signedInUser(keygate, root, 'admin');
    const member = await signedInUser(keygate, root, 'member');
    const byPerson = await admin.session.post('/keys', { name: 'for the member', kind: 'user', user_id: member.user.id, scopes: ['devices:read'] });
    expect(byPerson.status).toBe(201);
    const automation = await adminClient(keygate, root, ALL_KEYGATE_SCOPES);
    const byKey = await automation.post('/keys', { name: 'for the member too', kind: 'user', user_id: member.user.id, scopes: ['devices:read'] });
    expect(byKey.status).toBe(201);
    // Held: the audit log's labels name only the member's own user and keys.
    const audit = await member.session.get(`/audit?include=labels&target_key_id=${byPerson.body.key.client_id}`);
    expect(audit.status).toBe(200);
    expect(audit.body.data.map((e: { actor_user_email: string | null }) => e.actor_user_email)).toEqual([null]);
    // The key list names them.
    const list = await member.session.get('/keys');
    expect(list.status).toBe(200);
    const labels = list.body.data.map((k: { created_by: { label: string | null } | null }) => k.created_by?.label ?? null).sort();
    // Observed: ['admin automation', <the admin's email>].
    expect(labels).toEqual([null, null]);
  });

  it('F6: an admin key bound to one network promotes a person to admin, and that person signs in from anywhere (a set-up link is refused)', async () => {
    const root = await keygate.newTenant();
    const bound = await keygate.createKey(root, { name: 'ci only', scopes: ALL_KEYGATE_SCOPES, networks: ['127.0.0.5/32'] });
    const token = await tokenOfKey(bound, '127.0.0.5');
    const call = (method: 'POST' | 'PATCH', path: string, json: unknown = {}) =>
      keygate.send({ method, path: `/admin/v1${path}`, headers: { authorization: `Bearer ${token}` }, json, from: '127.0.0.5' });
    // The attacker's own low account: a viewer with a password.
    const viewer = await signedInUser(keygate, root, 'viewer');
    // Held (H4): no set-up link from a network-bound caller, since a person signs in from anywhere.
    const fresh = await call('POST', '/users', { email: `f6-${randomUUID()}@example.test`, role: 'admin' });
    expect((await call('POST', `/users/${fresh.body.user.id}/setup-link`)).status).toBe(403);
    // The same escape through a role change:
    const promote = await call('PATCH', `/users/${viewer.user.id}`, { role: 'admin' });
    let unboundKey: number | undefined;
    if (promote.status === 200) {
      const signIn = await keygate.send({
        path: '/console/api/session',
        headers: { origin: ISSUER },
        json: { email: viewer.user.email, password: 'violet-anchor-harbour-7' },
        from: '127.0.0.9',
      });
      expect(signIn.status).toBe(200);
      const cookie = /keygate_session=([^;]*)/.exec((signIn.headers['set-cookie'] ?? []).join(';'))![1]!;
      const made = await keygate.send({
        path: '/admin/v1/keys',
        headers: { cookie: `keygate_session=${cookie}`, 'x-csrf-token': signIn.body.csrf_token, origin: ISSUER },
        json: { name: 'anywhere', scopes: ['admin:keys:write', 'admin:users:write'] },
        from: '127.0.0.9',
      });
      unboundKey = made.status;
    }
    // Observed: { promote: 200, unboundKey: 201 }: admin power out of the key's network.
    expect({ promote: promote.status, unboundKey }).toEqual({ promote: 403, unboundKey: undefined });
  });
});

describe('attack review 9: admin authorization, attacks that held', () => {
  let keygate: TestKeygate;
  let parentTenant: string;
  let childTenant: string;
  let grandchild: string;
  let sibling: string;
  let parentAdmin: AdminClient;
  let childAdmin: AdminClient;
  let siblingKey: CreatedKey;

  beforeAll(async () => {
    keygate = await startKeygate({ tokenStore: 'redis' });
    parentTenant = await keygate.newTenant();
    parentAdmin = await adminClient(keygate, parentTenant, ALL_KEYGATE_SCOPES);
    childTenant = (await parentAdmin.post('/tenants', { name: 'child' })).body.tenant.id;
    sibling = (await parentAdmin.post('/tenants', { name: 'sibling' })).body.tenant.id;
    childAdmin = await adminClient(keygate, childTenant, ALL_KEYGATE_SCOPES);
    grandchild = (await childAdmin.post('/tenants', { name: 'grandchild' })).body.tenant.id;
    siblingKey = await keygate.createKey(sibling, { name: 'sibling secret name', scopes: ['devices:read'] });
  });
  afterAll(() => keygate?.close());

  it('held: ids, filters and cursors of another tenant reach nothing (keys, users, audit, scopes, webhooks, tenants)', async () => {
    const results = {
      key: (await childAdmin.get(`/keys/${siblingKey.key.client_id}`)).status,
      usage: (await childAdmin.get(`/keys/${siblingKey.key.client_id}/usage`)).status,
      patch: (await childAdmin.patch(`/keys/${siblingKey.key.client_id}`, { name: 'x' })).status,
      listByTenant: (await childAdmin.get(`/keys?tenant_id=${sibling}`)).body.data.length,
      countsByTenant: (await childAdmin.get(`/keys?tenant_id=${sibling}`)).body.counts.total,
      listByQ: (await childAdmin.get(`/keys?q=${siblingKey.key.client_id}`)).body.data.length,
      users: (await childAdmin.get(`/users?tenant_id=${parentTenant}`)).body.data.length,
      audit: (await childAdmin.get(`/audit?tenant_id=${parentTenant}`)).body.data.length,
      auditByKey: (await childAdmin.get(`/audit?target_key_id=${siblingKey.key.client_id}`)).body.data.length,
      scopes: (await childAdmin.get(`/scopes?tenant_id=${parentTenant}`)).status,
      tenant: (await childAdmin.get(`/tenants/${parentTenant}`)).status,
      createInSibling: (await childAdmin.post('/keys', { name: 'x', scopes: ['devices:read'], tenant_id: sibling })).status,
      userInParent: (await childAdmin.post('/users', { email: `h-${randomUUID()}@example.test`, role: 'viewer', tenant_id: parentTenant })).status,
      webhookInParent: (await childAdmin.post('/webhooks', { url: 'https://example.com/h', event_types: ['key.created'], tenant_id: parentTenant })).status,
      patchTenantField: (await childAdmin.patch(`/keys/${childAdmin.key.key.client_id}`, { tenant_id: grandchild })).status,
      disableOwnTenant: (await childAdmin.post(`/tenants/${childTenant}/disable`)).status,
      ownPolicy: (await childAdmin.patch(`/tenants/${childTenant}`, { max_key_lifetime_days: 5 })).status,
      ownCatalogue: (await childAdmin.put(`/scopes/devices?tenant_id=${childTenant}`, { actions: ['read'] })).status,
    };
    expect(results).toEqual({
      key: 404,
      usage: 404,
      patch: 404,
      listByTenant: 0,
      countsByTenant: 0,
      listByQ: 0,
      users: 0,
      audit: 0,
      auditByKey: 0,
      scopes: 404,
      tenant: 404,
      createInSibling: 400,
      userInParent: 400,
      webhookInParent: 400,
      patchTenantField: 400,
      disableOwnTenant: 409,
      ownPolicy: 403,
      ownCatalogue: 403,
    });
  });

  it('held: a middle tenant cannot re-enable a grandchild its parent disabled', async () => {
    expect((await parentAdmin.post(`/tenants/${grandchild}/disable`)).status).toBe(200);
    expect((await childAdmin.post(`/tenants/${grandchild}/enable`)).status).toBe(403);
    expect((await parentAdmin.post(`/tenants/${grandchild}/enable`)).status).toBe(200);
  });

  it('held: user keys stay inside their user (service keys, webhooks, users, other people’s keys, child tenants)', async () => {
    const person = await keygate.newUser(childTenant, 'admin');
    const other = await keygate.newUser(childTenant, 'admin');
    const userKey = await keygate.createKey(childTenant, {
      kind: 'user',
      userId: person.id,
      scopes: ['admin:keys:write', 'admin:audit:read', 'token:introspect'],
    });
    const othersKey = await keygate.createKey(childTenant, { kind: 'user', userId: other.id, scopes: ['devices:read'] });
    const asUser = clientFor(keygate, userKey, await (async () => (await keygate.token(userKey)).body.access_token)());
    const results = {
      service: (await asUser.post('/keys', { name: 'svc', kind: 'service', scopes: ['devices:read'] })).status,
      forOther: (await asUser.post('/keys', { name: 'u', kind: 'user', user_id: other.id, scopes: ['devices:read'] })).status,
      inGrandchild: (await asUser.post('/keys', { name: 'u', tenant_id: grandchild, scopes: ['devices:read'] })).status,
      othersKey: (await asUser.get(`/keys/${othersKey.key.client_id}`)).status,
      listOther: (await asUser.get(`/keys?user_id=${other.id}`)).body.data.length,
      webhooks: (await asUser.get('/webhooks')).status,
      users: (await asUser.get('/users')).status,
      grant: (await asUser.post('/keys', { name: 'u', scopes: ['admin:users:write'] })).status,
      audit: (await asUser.get(`/audit?target_key_id=${othersKey.key.client_id}`)).body.data.length,
    };
    expect(results).toEqual({ service: 400, forOther: 400, inGrandchild: 400, othersKey: 404, listOther: 0, webhooks: 403, users: 403, grant: 400, audit: 0 });
  });

  it('held: the Check Point route reaches only tenants strictly below, and grants nothing the caller lacks', async () => {
    const weak = await adminClient(keygate, parentTenant, ['admin:keys:write']);
    const ask = (token: string, body: Record<string, unknown>) =>
      keygate.send({ path: '/api/v1/tenant/token', headers: { authorization: `Bearer ${token}` }, json: body });
    const base = { description: 'x', expiration: '2027-01-01', role: 'read-only' };
    expect((await ask(childAdmin.token, { ...base, childTenantId: childTenant })).status).toBe(404);
    expect((await ask(childAdmin.token, { ...base, childTenantId: sibling })).status).toBe(404);
    expect((await ask(childAdmin.token, { ...base, childTenantId: parentTenant })).status).toBe(404);
    expect((await ask(weak.token, { ...base, role: 'admin', childTenantId: childTenant })).status).toBe(400);
  });
});
