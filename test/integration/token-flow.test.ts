// The whole path of issue #2 over real HTTP, Postgres and Redis: a key gets tokens from all three
// routes, a resource-server key introspects them, and revocation, disabling and deletion end them.
import { request as httpRequest } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { basicAuth } from '../support/http.ts';
import { ISSUER, startKeygate, type TestKeygate } from '../support/keygate.ts';
import type { CreatedKey } from '../../src/keys/types.ts';

describe('token flow (Redis)', () => {
  let keygate: TestKeygate;
  let tenantId: string;
  let introspector: CreatedKey;

  beforeAll(async () => {
    keygate = await startKeygate({ tokenStore: 'redis' });
    tenantId = await keygate.newTenant();
    introspector = await keygate.createKey(tenantId, { name: 'resource server', scopes: ['token:introspect'] });
  });
  afterAll(() => keygate?.close());

  const activeBody = (key: CreatedKey, scope: string) => ({
    active: true,
    scope,
    client_id: key.key.client_id,
    sub: key.key.client_id,
    tenant_id: tenantId,
    key_kind: 'service',
    token_type: 'Bearer',
    iat: expect.any(Number),
    exp: expect.any(Number),
    iss: ISSUER,
  });

  it('issues a token on /oauth/token with every scope of the key when none is requested', async () => {
    const key = await keygate.createKey(tenantId, { networks: ['127.0.0.1/32'] });
    const response = await keygate.token(key);
    expect(response.status).toBe(200);
    expect(response.headers['cache-control']).toBe('no-store');
    expect(response.body).toEqual({
      access_token: expect.stringMatching(/^[A-Za-z0-9_-]{43}$/),
      token_type: 'Bearer',
      expires_in: 3600,
      scope: 'devices:read devices:write',
    });
    const introspection = await keygate.introspect(introspector, response.body.access_token);
    expect(introspection.body).toEqual(activeBody(key, 'devices:read devices:write'));
    expect(introspection.body.exp - introspection.body.iat).toBe(3600);
  });

  it('narrows to the requested scopes and accepts client_secret_post', async () => {
    const key = await keygate.createKey(tenantId);
    const response = await keygate.send({
      path: '/oauth/token',
      form: { grant_type: 'client_credentials', scope: 'devices:read', client_id: key.key.client_id, client_secret: key.client_secret },
    });
    expect(response.status).toBe(200);
    expect(response.body.scope).toBe('devices:read');
    expect((await keygate.introspect(introspector, response.body.access_token)).body).toEqual(activeBody(key, 'devices:read'));
  });

  it('writes the active answer in the documented field order, and the same JSON when Koa serves the route', async () => {
    const key = await keygate.createKey(tenantId);
    const token = (await keygate.token(key)).body.access_token as string;
    const hot = await keygate.introspect(introspector, token);
    expect(hot.headers['content-type']).toBe('application/json; charset=utf-8');
    expect(Object.keys(JSON.parse(hot.text))).toEqual(['active', 'scope', 'client_id', 'sub', 'tenant_id', 'key_kind', 'token_type', 'iat', 'exp', 'iss']);
    expect(hot.text).toBe(JSON.stringify({ ...activeBody(key, 'devices:read devices:write'), iat: hot.body.iat, exp: hot.body.exp }));
    // An absolute-form request target is not the front door's: the Koa app answers it.
    const form = `token=${encodeURIComponent(token)}`;
    const viaKoa = await new Promise<{ status: number; text: string }>((resolve, reject) => {
      const req = httpRequest(
        {
          host: '127.0.0.1',
          port: keygate.port,
          method: 'POST',
          path: `http://127.0.0.1:${keygate.port}/oauth/introspect`,
          headers: {
            authorization: basicAuth(introspector.key.client_id, introspector.client_secret),
            'content-type': 'application/x-www-form-urlencoded',
            'content-length': Buffer.byteLength(form),
          },
        },
        (res) => {
          let text = '';
          res.setEncoding('utf8');
          res.on('data', (chunk: string) => (text += chunk));
          res.on('end', () => resolve({ status: res.statusCode!, text }));
        },
      );
      req.on('error', reject);
      req.end(form);
    });
    expect(viaKoa.status).toBe(200);
    expect(JSON.parse(viaKoa.text)).toEqual(JSON.parse(hot.text));
  });

  it('issues the same token from /api/v1/auth/authorize', async () => {
    const key = await keygate.createKey(tenantId);
    const response = await keygate.send({ path: '/api/v1/auth/authorize', json: { grantType: 'api_key', apiKey: key.api_key } });
    expect(response.status).toBe(200);
    expect(response.body).toEqual({
      data: { tokenType: 'bearer', accessToken: expect.stringMatching(/^[A-Za-z0-9_-]{43}$/), accessTokenExpire: expect.any(String) },
    });
    const expiresIn = Date.parse(response.body.data.accessTokenExpire) - Date.now();
    expect(expiresIn).toBeGreaterThan(3590_000);
    expect(expiresIn).toBeLessThanOrEqual(3600_000);
    expect((await keygate.introspect(introspector, response.body.data.accessToken)).body).toEqual(activeBody(key, 'devices:read devices:write'));
  });

  it('issues the same token from /auth/external', async () => {
    const key = await keygate.createKey(tenantId);
    const response = await keygate.send({ path: '/auth/external', json: { clientId: key.key.client_id, accessKey: key.client_secret } });
    expect(response.status).toBe(200);
    expect(response.body).toEqual({
      success: true,
      data: { token: expect.stringMatching(/^[A-Za-z0-9_-]{43}$/), expires: expect.any(String), expiresIn: 3600 },
    });
    expect((await keygate.introspect(introspector, response.body.data.token)).body.active).toBe(true);
  });

  it('uses the token lifetime of the key', async () => {
    const key = await keygate.createKey(tenantId, { tokenTtlSeconds: 120 });
    expect((await keygate.token(key)).body.expires_in).toBe(120);
  });

  it('answers inactive for an unknown token', async () => {
    const response = await keygate.introspect(introspector, 'not-a-token-this-server-issued');
    expect(response.status).toBe(200);
    expect(response.body).toEqual({ active: false });
  });

  it('answers inactive when client_ip is outside the key networks, active when inside', async () => {
    const key = await keygate.createKey(tenantId, { networks: ['127.0.0.0/8', '2001:db8::/32'] });
    const token = (await keygate.token(key)).body.access_token;
    expect((await keygate.introspect(introspector, token, { client_ip: '203.0.113.9' })).body).toEqual({ active: false });
    expect((await keygate.introspect(introspector, token, { client_ip: '2001:db8::1' })).body.active).toBe(true);
    expect((await keygate.introspect(introspector, token, { client_ip: '::ffff:127.0.0.7' })).body.active).toBe(true);
  });

  it('refuses a client_ip that is not an address', async () => {
    const key = await keygate.createKey(tenantId);
    const token = (await keygate.token(key)).body.access_token;
    const response = await keygate.introspect(introspector, token, { client_ip: 'nowhere' });
    expect(response.status).toBe(400);
    expect(response.body).toEqual({ error: 'invalid_request', error_description: "'client_ip' must be an IP address" });
  });

  it('does not show a token to a resource server of another tenant', async () => {
    const key = await keygate.createKey(tenantId);
    const token = (await keygate.token(key)).body.access_token;
    const stranger = await keygate.createKey(await keygate.newTenant(), { scopes: ['token:introspect'] });
    expect((await keygate.introspect(stranger, token)).body).toEqual({ active: false });
  });

  it('revokes a token for its owner (RFC 7009)', async () => {
    const key = await keygate.createKey(tenantId);
    const token = (await keygate.token(key)).body.access_token;
    const revoke = await keygate.send({ path: '/oauth/revoke', headers: { authorization: basicAuth(key.key.client_id, key.client_secret) }, form: { token } });
    expect(revoke.status).toBe(200);
    expect(revoke.text).toBe('');
    expect((await keygate.introspect(introspector, token)).body).toEqual({ active: false });
  });

  it('lets a resource-server key revoke, but not an unrelated key', async () => {
    const key = await keygate.createKey(tenantId);
    const other = await keygate.createKey(tenantId);
    const token = (await keygate.token(key)).body.access_token;
    const byOther = await keygate.send({
      path: '/oauth/revoke',
      headers: { authorization: basicAuth(other.key.client_id, other.client_secret) },
      form: { token },
    });
    expect(byOther.status).toBe(200);
    expect((await keygate.introspect(introspector, token)).body.active).toBe(true);
    await keygate.send({
      path: '/oauth/revoke',
      headers: { authorization: basicAuth(introspector.key.client_id, introspector.client_secret) },
      form: { token },
    });
    expect((await keygate.introspect(introspector, token)).body).toEqual({ active: false });
  });

  it('makes live tokens inactive at once when the key is disabled, and keeps them dead after enable', async () => {
    const key = await keygate.createKey(tenantId);
    const token = (await keygate.token(key)).body.access_token;
    await keygate.runtime.keyService.setStatus(key.key.client_id, 'disabled', { keyId: null, userId: null, via: 'test' });
    expect((await keygate.introspect(introspector, token)).body).toEqual({ active: false });
    await keygate.runtime.keyService.setStatus(key.key.client_id, 'active', { keyId: null, userId: null, via: 'test' });
    expect((await keygate.introspect(introspector, token)).body).toEqual({ active: false });
    const fresh = (await keygate.token(key)).body.access_token;
    expect((await keygate.introspect(introspector, fresh)).body.active).toBe(true);
  });

  it('makes live tokens inactive at once when the key is deleted', async () => {
    const key = await keygate.createKey(tenantId);
    const token = (await keygate.token(key)).body.access_token;
    await keygate.runtime.keyService.delete(key.key.client_id, { keyId: null, userId: null, via: 'test' });
    expect((await keygate.introspect(introspector, token)).body).toEqual({ active: false });
    expect(await keygate.runtime.tokens.destroyAllForKey(key.key.client_id)).toBe(0);
  });

  it('re-checks the key at introspection: expiry, creator and tenant state end live tokens', async () => {
    const expiring = await keygate.createKey(tenantId);
    const expiringToken = (await keygate.token(expiring)).body.access_token;
    await keygate.runtime.db
      .updateTable('api_keys')
      .set({ expires_at: new Date(Date.now() - 1000) })
      .where('client_id', '=', expiring.key.client_id)
      .execute();
    keygate.afterDirectWrite();
    expect((await keygate.introspect(introspector, expiringToken)).body).toEqual({ active: false });

    const user = await keygate.newUser(tenantId, 'admin');
    const created = await keygate.runtime.keyService.create(
      { tenant_id: tenantId, name: 'made by a person', scopes: ['devices:read'] },
      { keyId: null, userId: user.id, via: 'test' },
    );
    const createdToken = (await keygate.token(created)).body.access_token;
    expect((await keygate.introspect(introspector, createdToken)).body.active).toBe(true);
    await keygate.runtime.users.setStatus(user.id, 'disabled');
    keygate.afterDirectWrite();
    expect((await keygate.introspect(introspector, createdToken)).body).toEqual({ active: false });

    const otherTenant = await keygate.newTenant();
    const tenantKey = await keygate.createKey(otherTenant);
    const tenantIntrospector = await keygate.createKey(otherTenant, { scopes: ['token:introspect'] });
    const tenantToken = (await keygate.token(tenantKey)).body.access_token;
    await keygate.runtime.tenants.setStatus(otherTenant, 'disabled');
    keygate.afterDirectWrite();
    expect((await keygate.introspect(introspector, tenantToken)).body).toEqual({ active: false });
    expect((await keygate.introspect(tenantIntrospector, tenantToken)).status).toBe(401);
  });
});
