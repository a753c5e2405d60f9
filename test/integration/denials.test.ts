// Every denial of the token policy over real HTTP: exact status and body, a body that never says whether
// the key exists, and an audit record with the reason and the caller IP.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateClientId, generateClientSecret } from '../../src/crypto/credentials.ts';
import type { CreatedKey } from '../../src/keys/types.ts';
import { basicAuth } from '../support/http.ts';
import { deniedEvents, startKeygate, type TestKeygate } from '../support/keygate.ts';

const INVALID_CLIENT = { error: 'invalid_client', error_description: 'client authentication failed' };
const TEST_ACTOR = { keyId: null, userId: null, via: 'test' };

describe('token denials (Redis)', () => {
  let keygate: TestKeygate;
  let tenantId: string;

  beforeAll(async () => {
    keygate = await startKeygate({ tokenStore: 'redis' });
    tenantId = await keygate.newTenant();
  });
  afterAll(() => keygate?.close());

  async function expectInvalidClient(request: Promise<import('../support/http.ts').HttpResponse>) {
    const response = await request;
    expect(response.status).toBe(401);
    expect(response.body).toEqual(INVALID_CLIENT);
    expect(response.headers['www-authenticate']).toMatch(/^Basic realm=".*", error="invalid_client", error_description="client authentication failed"$/);
    return response;
  }

  async function expectAudited(clientId: string, reason: string, ip: string, action = 'token.issue') {
    const [event] = await deniedEvents(keygate, clientId);
    expect(event).toMatchObject({ action, outcome: 'denied', reason, ip, target_key_id: clientId });
    expect(event!.request_id).toEqual(expect.any(String));
  }

  function withSecret(key: CreatedKey, secret: string): CreatedKey {
    return { ...key, client_secret: secret };
  }

  it('wrong secret: invalid_client, audited as secret_mismatch', async () => {
    const key = await keygate.createKey(tenantId);
    await expectInvalidClient(keygate.token(withSecret(key, generateClientSecret()), { from: '127.0.0.5' }));
    await expectAudited(key.key.client_id, 'secret_mismatch', '127.0.0.5');
  });

  it('malformed secret (checksum off by one character): invalid_client, audited as malformed_secret', async () => {
    const key = await keygate.createKey(tenantId);
    const last = key.client_secret.at(-1) === 'a' ? 'b' : 'a';
    await expectInvalidClient(keygate.token(withSecret(key, key.client_secret.slice(0, -1) + last)));
    await expectAudited(key.key.client_id, 'malformed_secret', '127.0.0.1');
  });

  it('unknown key: the same body as a wrong secret, audited as unknown_key', async () => {
    const clientId = generateClientId();
    const ghost = { key: { client_id: clientId }, client_secret: generateClientSecret() } as CreatedKey;
    const unknown = await expectInvalidClient(keygate.token(ghost));
    const key = await keygate.createKey(tenantId);
    const wrong = await keygate.token(withSecret(key, generateClientSecret()));
    expect(unknown.text).toBe(wrong.text);
    await expectAudited(clientId, 'unknown_key', '127.0.0.1');
  });

  it('disabled key: invalid_client, audited as key_disabled', async () => {
    const key = await keygate.createKey(tenantId);
    await keygate.runtime.keyService.setStatus(key.key.client_id, 'disabled', TEST_ACTOR);
    await expectInvalidClient(keygate.token(key));
    await expectAudited(key.key.client_id, 'key_disabled', '127.0.0.1');
  });

  it('expired key: invalid_client, audited as key_expired', async () => {
    const key = await keygate.createKey(tenantId);
    await keygate.runtime.db
      .updateTable('api_keys')
      .set({ expires_at: new Date(Date.now() - 1000) })
      .where('client_id', '=', key.key.client_id)
      .execute();
    keygate.afterDirectWrite();
    await expectInvalidClient(keygate.token(key));
    await expectAudited(key.key.client_id, 'key_expired', '127.0.0.1');
  });

  it('creator deleted: invalid_client, audited as owner_not_authorized', async () => {
    const user = await keygate.newUser(tenantId, 'manager');
    const key = await keygate.runtime.keyService.create({ tenant_id: tenantId, name: 'k', scopes: ['devices:read'] }, { ...TEST_ACTOR, userId: user.id });
    expect((await keygate.token(key)).status).toBe(200);
    await keygate.runtime.users.delete(user.id);
    keygate.afterDirectWrite();
    await expectInvalidClient(keygate.token(key));
    await expectAudited(key.key.client_id, 'owner_not_authorized', '127.0.0.1');
  });

  it('IPv4 caller outside the key networks: invalid_client, audited as ip_not_allowed', async () => {
    const key = await keygate.createKey(tenantId, { networks: ['127.0.0.5/32'] });
    expect((await keygate.token(key, { from: '127.0.0.5' })).status).toBe(200);
    await expectInvalidClient(keygate.token(key, { from: '127.0.0.6' }));
    await expectAudited(key.key.client_id, 'ip_not_allowed', '127.0.0.6');
  });

  it('IPv6 caller outside an IPv4-only allowlist, and inside an IPv6 one', async () => {
    const v4only = await keygate.createKey(tenantId, { networks: ['127.0.0.0/8'] });
    await expectInvalidClient(keygate.token(v4only, { from: '::1' }));
    await expectAudited(v4only.key.client_id, 'ip_not_allowed', '::1');
    const v6 = await keygate.createKey(tenantId, { networks: ['::1/128'] });
    expect((await keygate.token(v6, { from: '::1' })).status).toBe(200);
    await expectInvalidClient(keygate.token(v6, { from: '127.0.0.1' }));
  });

  it('an IPv4 caller arriving as IPv4-mapped IPv6 matches IPv4 rules (and a mapped rule)', async () => {
    // The server listens on '::', so 127.0.0.7 reaches it as ::ffff:127.0.0.7.
    const key = await keygate.createKey(tenantId, { networks: ['127.0.0.7/32'] });
    expect((await keygate.token(key, { from: '127.0.0.7' })).status).toBe(200);
    const mappedRule = await keygate.createKey(tenantId, { networks: ['::ffff:127.0.0.7'] });
    expect(mappedRule.key.networks).toEqual(['127.0.0.7/32']);
    expect((await keygate.token(mappedRule, { from: '127.0.0.7' })).status).toBe(200);
    await expectInvalidClient(keygate.token(mappedRule, { from: '127.0.0.8' }));
    await expectAudited(mappedRule.key.client_id, 'ip_not_allowed', '127.0.0.8');
  });

  it('X-Forwarded-For from an untrusted peer is ignored: a spoofed allowed address does not help', async () => {
    const key = await keygate.createKey(tenantId, { networks: ['198.51.100.7/32'] });
    await expectInvalidClient(
      keygate.send({
        path: '/oauth/token',
        headers: { authorization: basicAuth(key.key.client_id, key.client_secret), 'x-forwarded-for': '198.51.100.7' },
        form: { grant_type: 'client_credentials' },
      }),
    );
    await expectAudited(key.key.client_id, 'ip_not_allowed', '127.0.0.1');
  });

  it('requested scope the key lacks: invalid_scope, audited as scope_not_granted', async () => {
    const key = await keygate.createKey(tenantId, { scopes: ['devices:read'] });
    const response = await keygate.token(key, { scope: 'devices:read devices:write' });
    expect(response.status).toBe(400);
    expect(response.body).toEqual({ error: 'invalid_scope', error_description: 'requested scope is not granted to this key', scope: 'devices:write' });
    await expectAudited(key.key.client_id, 'scope_not_granted', '127.0.0.1');
  });

  it('introspection by a key without token:introspect: 401 invalid_client, audited as not_introspector', async () => {
    const key = await keygate.createKey(tenantId);
    const token = (await keygate.token(key)).body.access_token;
    await expectInvalidClient(keygate.introspect(key, token));
    await expectAudited(key.key.client_id, 'not_introspector', '127.0.0.1', 'token.introspect');
  });

  it('introspection with a wrong secret: 401 invalid_client, audited as secret_mismatch', async () => {
    const introspector = await keygate.createKey(tenantId, { scopes: ['token:introspect'] });
    await expectInvalidClient(keygate.introspect(withSecret(introspector, generateClientSecret()), 'whatever'));
    await expectAudited(introspector.key.client_id, 'secret_mismatch', '127.0.0.1', 'token.introspect');
  });

  it('the API-key exchanges deny with one body whatever the reason', async () => {
    const key = await keygate.createKey(tenantId);
    await keygate.runtime.keyService.setStatus(key.key.client_id, 'disabled', TEST_ACTOR);
    const disabled = await keygate.send({ path: '/api/v1/auth/authorize', json: { grantType: 'api_key', apiKey: key.api_key } });
    const unknown = await keygate.send({
      path: '/api/v1/auth/authorize',
      json: { grantType: 'api_key', apiKey: `${generateClientId()}.${generateClientSecret()}` },
    });
    for (const response of [disabled, unknown]) {
      expect(response.status).toBe(401);
      expect(response.body).toEqual({ error: { code: 'unauthorized', message: 'invalid API key', request_id: response.headers['x-request-id'] } });
    }
    await expectAudited(key.key.client_id, 'key_disabled', '127.0.0.1');
    const external = await keygate.send({ path: '/auth/external', json: { clientId: key.key.client_id, accessKey: 'kgs_short' } });
    expect(external.status).toBe(401);
    expect(external.body).toEqual({
      success: false,
      error: { code: 'unauthorized', message: 'invalid API key', request_id: external.headers['x-request-id'] },
    });
    await expectAudited(key.key.client_id, 'malformed_secret', '127.0.0.1');
  });

  it('audit records and logs never hold the secret', async () => {
    const key = await keygate.createKey(tenantId);
    await keygate.token(withSecret(key, generateClientSecret()));
    const events = await keygate.runtime.audit.list({ targetKeyId: key.key.client_id });
    expect(JSON.stringify(events)).not.toContain(key.client_secret);
    expect(JSON.stringify(events)).not.toContain('kgs_');
  });
});

describe('caller IP behind a trusted proxy (Redis)', () => {
  let keygate: TestKeygate;
  let key: CreatedKey;
  const PROXY = '127.0.0.9';

  beforeAll(async () => {
    keygate = await startKeygate({ tokenStore: 'redis', trustedProxies: `${PROXY}/32, 10.0.0.0/8` });
    key = await keygate.createKey(await keygate.newTenant(), { networks: ['198.51.100.0/24'] });
  });
  afterAll(() => keygate?.close());

  const viaProxy = (forwardedFor: string) =>
    keygate.send({
      path: '/oauth/token',
      from: PROXY,
      headers: { authorization: basicAuth(key.key.client_id, key.client_secret), 'x-forwarded-for': forwardedFor },
      form: { grant_type: 'client_credentials' },
    });

  it('believes the address the trusted proxy appended', async () => {
    expect((await viaProxy('198.51.100.7')).status).toBe(200);
  });

  it('skips trusted proxies from the right (real_ip_recursive)', async () => {
    expect((await viaProxy('198.51.100.7, 10.1.2.3')).status).toBe(200);
  });

  it('ignores an address the client forged in front of its real one', async () => {
    const response = await viaProxy('198.51.100.7, 203.0.113.50');
    expect(response.status).toBe(401);
    const [event] = await deniedEvents(keygate, key.key.client_id);
    expect(event).toMatchObject({ reason: 'ip_not_allowed', ip: '203.0.113.50' });
  });

  it('an unparsable hop never passes a network rule written for the proxy, and is audited against the proxy', async () => {
    const proxyOnly = await keygate.createKey(key.key.tenant_id, { networks: [`${PROXY}/32`] });
    const response = await keygate.send({
      path: '/oauth/token',
      from: PROXY,
      headers: { authorization: basicAuth(proxyOnly.key.client_id, proxyOnly.client_secret), 'x-forwarded-for': 'garbage' },
      form: { grant_type: 'client_credentials' },
    });
    expect(response.status).toBe(401);
    expect(response.body).toEqual({ error: 'invalid_client', error_description: 'client authentication failed' });
    const [event] = await deniedEvents(keygate, proxyOnly.key.client_id);
    expect(event).toMatchObject({ reason: 'ip_not_allowed', ip: PROXY });
  });

  it('reads a hop with a port, as some proxies append it', async () => {
    expect((await viaProxy('198.51.100.7:50123')).status).toBe(200);
  });

  it('still ignores the header from a peer that is not a trusted proxy', async () => {
    const response = await keygate.send({
      path: '/oauth/token',
      from: '127.0.0.10',
      headers: { authorization: basicAuth(key.key.client_id, key.client_secret), 'x-forwarded-for': '198.51.100.7' },
      form: { grant_type: 'client_credentials' },
    });
    expect(response.status).toBe(401);
    const [event] = await deniedEvents(keygate, key.key.client_id);
    expect(event).toMatchObject({ reason: 'ip_not_allowed', ip: '127.0.0.10' });
  });
});
