// POST /v1/keys/verify over real HTTP: a resource server checks a raw API key. Every denial of
// the token policy gets its code, and nothing tells an unknown key from a known one: a wrong
// secret, an unknown id and a key of another tenant answer the same bytes and are audited.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { awayFromWindowEdge } from '../support/windows.ts';
import { generateClientId, generateClientSecret } from '../../src/crypto/credentials.ts';
import type { CreatedKey } from '../../src/keys/types.ts';
import { basicAuth, type HttpResponse } from '../support/http.ts';
import { deniedEvents, startKeygate, type TestKeygate } from '../support/keygate.ts';

const TEST_ACTOR = { keyId: null, userId: null, via: 'test' } as const;

describe('POST /v1/keys/verify', () => {
  let keygate: TestKeygate;
  let tenantId: string;
  let childTenantId: string;
  let otherTenantId: string;
  let resourceServer: CreatedKey;

  beforeAll(async () => {
    keygate = await startKeygate({ tokenStore: 'redis' });
    tenantId = await keygate.newTenant();
    childTenantId = (await keygate.runtime.tenants.insert({ name: 'child', parentId: tenantId })).id;
    otherTenantId = await keygate.newTenant();
    resourceServer = await keygate.createKey(tenantId, { name: 'resource server', scopes: ['token:introspect'] });
  });
  afterAll(() => keygate?.close());

  function verify(body: unknown, caller: CreatedKey = resourceServer, from?: string): Promise<HttpResponse> {
    return keygate.send({
      path: '/v1/keys/verify',
      headers: { authorization: basicAuth(caller.key.client_id, caller.client_secret) },
      json: body,
      from,
    });
  }

  async function expectCode(body: unknown, code: string) {
    const response = await verify(body);
    expect(response.status).toBe(200);
    expect(response.body).toEqual({ valid: false, code });
    return response;
  }

  async function lastDenial(clientId: string) {
    const [event] = await deniedEvents(keygate, clientId);
    return event;
  }

  it('a valid key, as api_key or as client_id and client_secret: who it is and what it may do', async () => {
    const user = await keygate.newUser(tenantId, 'member');
    const key = await keygate.createKey(tenantId, { kind: 'user', userId: user.id, scopes: ['devices:read', 'devices:write'] });
    const expected = {
      valid: true,
      code: 'valid',
      client_id: key.key.client_id,
      tenant_id: tenantId,
      user_id: user.id,
      scopes: ['devices:read', 'devices:write'],
      expires_at: key.key.expires_at,
    };
    const byApiKey = await verify({ api_key: key.api_key, required_scopes: ['devices:read'] });
    expect(byApiKey.status).toBe(200);
    expect(byApiKey.headers['cache-control']).toBe('no-store');
    expect(byApiKey.body).toEqual(expected);
    expect((await verify({ client_id: key.key.client_id, client_secret: key.client_secret })).body).toEqual(expected);
    // A key of a tenant below the caller's is within its reach.
    const child = await keygate.createKey(childTenantId);
    expect((await verify({ api_key: child.api_key })).body).toMatchObject({ valid: true, tenant_id: childTenantId });
    // Usage is tracked like a token request's.
    await keygate.runtime.usage.flush();
    expect((await keygate.runtime.keys.find(key.key.client_id))?.last_used_at).toBeInstanceOf(Date);
    // Answers are counted by code.
    const metrics = await keygate.send({ method: 'GET', path: '/metrics' });
    expect(metrics.text).toMatch(/^keygate_key_verifications_total\{result="valid"\} 3$/m);
  });

  it('wrong secret, malformed secret, unknown id, unparsable api_key and a foreign key: the same answer, audited', async () => {
    const key = await keygate.createKey(tenantId);
    const foreign = await keygate.createKey(otherTenantId);
    const answers = [
      await expectCode({ client_id: key.key.client_id, client_secret: generateClientSecret() }, 'invalid_key'),
      await expectCode(
        { client_id: key.key.client_id, client_secret: `${key.client_secret.slice(0, -1)}${key.client_secret.endsWith('a') ? 'b' : 'a'}` },
        'invalid_key',
      ),
      await expectCode({ client_id: generateClientId(), client_secret: generateClientSecret() }, 'invalid_key'),
      await expectCode({ api_key: 'not-a-key' }, 'invalid_key'),
      // The right secret of a key outside the caller's tenant subtree: as if it did not exist.
      await expectCode({ api_key: foreign.api_key }, 'invalid_key'),
      await expectCode({ client_id: foreign.key.client_id, client_secret: generateClientSecret() }, 'invalid_key'),
    ];
    expect(new Set(answers.map((answer) => answer.text)).size).toBe(1);
    expect(await lastDenial(key.key.client_id)).toMatchObject({ action: 'key.verify', reason: 'malformed_secret' });
    // The foreign key's tenant sees an attempt on an id, never whose key it is.
    expect(await lastDenial(foreign.key.client_id)).toMatchObject({ action: 'key.verify', reason: 'unknown_key', tenant_id: null });
  });

  it('disabled, expired, owner gone, user disabled, tenant disabled: each step names itself', async () => {
    const disabled = await keygate.createKey(tenantId);
    await keygate.runtime.keyService.setStatus(disabled.key.client_id, 'disabled', TEST_ACTOR);
    await expectCode({ api_key: disabled.api_key }, 'key_disabled');

    const expired = await keygate.createKey(tenantId);
    await keygate.runtime.db
      .updateTable('api_keys')
      .set({ expires_at: new Date(Date.now() - 1000) })
      .where('client_id', '=', expired.key.client_id)
      .execute();
    keygate.afterDirectWrite();
    await expectCode({ api_key: expired.api_key }, 'key_expired');

    const manager = await keygate.newUser(tenantId, 'manager');
    const orphan = await keygate.runtime.keyService.create({ tenant_id: tenantId, name: 'o', scopes: ['devices:read'] }, { ...TEST_ACTOR, userId: manager.id });
    await keygate.runtime.users.delete(manager.id);
    keygate.afterDirectWrite();
    await expectCode({ api_key: orphan.api_key }, 'owner_not_authorized');

    const member = await keygate.newUser(tenantId, 'member');
    const userKey = await keygate.createKey(tenantId, { kind: 'user', userId: member.id });
    await keygate.runtime.db.updateTable('users').set({ status: 'disabled' }).where('id', '=', member.id).execute();
    keygate.afterDirectWrite();
    await expectCode({ api_key: userKey.api_key }, 'user_disabled');

    const grandchild = (await keygate.runtime.tenants.insert({ name: 'grandchild', parentId: childTenantId })).id;
    const inDisabled = await keygate.createKey(grandchild);
    await keygate.runtime.db.updateTable('tenants').set({ status: 'disabled' }).where('id', '=', grandchild).execute();
    keygate.afterDirectWrite();
    await expectCode({ api_key: inDisabled.api_key }, 'tenant_disabled');
    expect(await lastDenial(inDisabled.key.client_id)).toMatchObject({ action: 'key.verify', reason: 'tenant_disabled' });
  });

  it('client_ip outside the key networks, a required scope it lacks, and its own rate', async () => {
    await awayFromWindowEdge(); // the key's rate is counted per minute: all of this in one
    const key = await keygate.createKey(tenantId, { networks: ['198.51.100.0/24'], rateLimitPerMinute: 2 });
    await expectCode({ api_key: key.api_key, client_ip: '203.0.113.9' }, 'ip_not_allowed');
    expect(await lastDenial(key.key.client_id)).toMatchObject({ reason: 'ip_not_allowed', ip: '203.0.113.9' });
    // Without client_ip the caller itself is the one checked: 127.0.0.1 is outside too.
    await expectCode({ api_key: key.api_key }, 'ip_not_allowed');
    await expectCode({ api_key: key.api_key, client_ip: '198.51.100.7', required_scopes: ['billing:write'] }, 'scope_not_granted');
    expect((await verify({ api_key: key.api_key, client_ip: '198.51.100.7' })).body.valid).toBe(true);
    expect((await verify({ api_key: key.api_key, client_ip: '198.51.100.7' })).body.valid).toBe(true);
    const limited = await verify({ api_key: key.api_key, client_ip: '198.51.100.7' });
    expect(limited.body).toEqual({ valid: false, code: 'rate_limited', retry_after_seconds: expect.any(Number) });
  });

  it('a key that authenticates without a secret cannot be verified by one', async () => {
    const { publicKey } = await import('node:crypto').then((c) => c.generateKeyPairSync('ed25519'));
    const jwk = publicKey.export({ format: 'jwk' });
    const created = await keygate.runtime.keyService.create(
      { tenant_id: tenantId, name: 'jwt', scopes: ['devices:read'], jwks: { keys: [{ kty: 'OKP', crv: 'Ed25519', x: jwk.x! }] } },
      TEST_ACTOR,
    );
    await expectCode({ client_id: created.key.client_id, client_secret: generateClientSecret() }, 'invalid_key');
  });

  it('the caller must be a usable key holding token:introspect, authenticated with HTTP Basic', async () => {
    const plain = await keygate.createKey(tenantId, { scopes: ['devices:read'] });
    const target = await keygate.createKey(tenantId);
    const notIntrospector = await verify({ api_key: target.api_key }, plain);
    expect(notIntrospector.status).toBe(401);
    expect(notIntrospector.body.error.code).toBe('unauthorized');
    expect(await lastDenial(plain.key.client_id)).toMatchObject({ action: 'key.verify', reason: 'not_introspector' });
    const wrong = await verify({ api_key: target.api_key }, { ...resourceServer, client_secret: generateClientSecret() });
    expect(wrong.status).toBe(401);
    const anonymous = await keygate.send({ path: '/v1/keys/verify', json: { api_key: target.api_key } });
    expect(anonymous.status).toBe(401);
    expect(anonymous.body).not.toHaveProperty('valid');
  });

  it('bad requests get 400/415 in the documented error shape; other methods 405', async () => {
    const key = await keygate.createKey(tenantId);
    const invalid = async (body: unknown, field: string) => {
      const response = await verify(body);
      expect(response.status).toBe(400);
      expect(response.body.error).toMatchObject({ code: 'validation_failed' });
      expect(response.body.error.details.map((d: { field: string }) => d.field)).toContain(field);
    };
    await invalid({ api_key: key.api_key, client_id: key.key.client_id, client_secret: key.client_secret }, '(body)');
    await invalid({}, '(body)');
    await invalid({ client_id: key.key.client_id }, 'client_secret');
    await invalid({ api_key: key.api_key, client_ip: 'nowhere' }, 'client_ip');
    await invalid({ api_key: key.api_key, required_scopes: 'devices:read' }, 'required_scopes');
    await invalid({ api_key: key.api_key, extra: 1 }, 'extra');
    const form = await keygate.send({
      path: '/v1/keys/verify',
      headers: { authorization: basicAuth(resourceServer.key.client_id, resourceServer.client_secret) },
      form: { api_key: key.api_key },
    });
    expect(form.status).toBe(415);
    const get = await keygate.send({ method: 'GET', path: '/v1/keys/verify' });
    expect(get.status).toBe(405);
    expect(JSON.stringify(await deniedEvents(keygate, key.key.client_id))).not.toContain(key.client_secret);
  });
});

describe('POST /v1/keys/verify under the failure limits', () => {
  let keygate: TestKeygate;
  let tenantId: string;
  let resourceServer: CreatedKey;

  beforeAll(async () => {
    keygate = await startKeygate({ tokenStore: 'memory', authFailuresPerClientSource: 3, authFailuresPerSource: 1000 });
    tenantId = await keygate.newTenant();
    resourceServer = await keygate.createKey(tenantId, { name: 'resource server', scopes: ['token:introspect'] });
  });
  afterAll(() => keygate?.close());
  beforeEach(() => awayFromWindowEdge(), 30_000);

  const verify = (body: unknown) =>
    keygate.send({ path: '/v1/keys/verify', headers: { authorization: basicAuth(resourceServer.key.client_id, resourceServer.client_secret) }, json: body });

  it('guessing from one client_ip locks that id from that address only, known or unknown, and never the resource server', async () => {
    const key = await keygate.createKey(tenantId);
    const unknownId = generateClientId();
    for (let i = 0; i < 3; i++) {
      await verify({ client_id: key.key.client_id, client_secret: generateClientSecret(), client_ip: '203.0.113.1' });
      await verify({ client_id: unknownId, client_secret: generateClientSecret(), client_ip: '203.0.113.1' });
    }
    // The right secret from the guessing address: refused, exactly like the unknown id.
    const locked = await verify({ api_key: key.api_key, client_ip: '203.0.113.1' });
    const lockedUnknown = await verify({ client_id: unknownId, client_secret: generateClientSecret(), client_ip: '203.0.113.1' });
    expect(locked.body).toEqual({ valid: false, code: 'rate_limited', retry_after_seconds: expect.any(Number) });
    expect(lockedUnknown.body).toEqual({ valid: false, code: 'rate_limited', retry_after_seconds: expect.any(Number) });
    // From another address the key works, and the resource server itself can still introspect.
    expect((await verify({ api_key: key.api_key, client_ip: '203.0.113.2' })).body.valid).toBe(true);
    expect((await keygate.introspect(resourceServer, 'x'.repeat(43))).status).toBe(200);
  });
});
