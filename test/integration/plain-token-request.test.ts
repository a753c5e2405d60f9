// A plain client_credentials request is answered without oidc-provider's request pipeline
// (src/oauth/plain-token-request.ts): the answer must be the library's own, every refusal must
// still be the library's (answered and audited once), and keys that share one library Client
// shape must never get each other's tokens.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CreatedKey } from '../../src/keys/types.ts';
import { basicAuth, type HttpResponse } from '../support/http.ts';
import { deniedEvents, startKeygate, type TestKeygate } from '../support/keygate.ts';

describe('plain token requests', () => {
  let keygate: TestKeygate;
  let tenantId: string;
  let introspector: CreatedKey;

  beforeAll(async () => {
    keygate = await startKeygate({ tokenStore: 'redis' });
    tenantId = await keygate.newTenant();
    introspector = await keygate.createKey(tenantId, { name: 'resource server', scopes: ['token:introspect'] });
  });
  afterAll(() => keygate?.close());

  const tokenRequest = (key: CreatedKey, form: Record<string, string>, headers: Record<string, string> = {}) =>
    keygate.send({ path: '/oauth/token', headers: { authorization: basicAuth(key.key.client_id, key.client_secret), ...headers }, form });

  /** What a client can tell apart: status, every header that is not per request, body shape. */
  const shapeOf = (response: HttpResponse) => ({
    status: response.status,
    headers: Object.fromEntries(
      Object.entries(response.headers)
        .filter(([name]) => !['date', 'x-request-id', 'content-length'].includes(name))
        .sort(([a], [b]) => a.localeCompare(b)),
    ),
    bodyKeys: Object.keys(response.body ?? {}),
    tokenType: response.body?.token_type,
    expiresIn: response.body?.expires_in,
    scope: response.body?.scope,
  });

  it('answers exactly as the library does for the same request', async () => {
    const key = await keygate.createKey(tenantId);
    const plain = await tokenRequest(key, { grant_type: 'client_credentials', scope: 'devices:read' });
    // A parameter the library ignores and the plain path does not know: the library answers this one.
    const viaLibrary = await tokenRequest(key, { grant_type: 'client_credentials', scope: 'devices:read', unrelated: 'x' });
    expect(plain.status).toBe(200);
    expect(shapeOf(plain)).toEqual(shapeOf(viaLibrary));
    expect(plain.text).toBe(`{"access_token":"${plain.body.access_token}","token_type":"Bearer","expires_in":3600,"scope":"devices:read"}`);
    expect(plain.text.replace(plain.body.access_token, '')).toBe(viaLibrary.text.replace(viaLibrary.body.access_token, ''));
  });

  it('gives each key tokens of its own, though keys with a secret share one library Client shape', async () => {
    const first = await keygate.createKey(tenantId, { scopes: ['devices:read'] });
    const second = await keygate.createKey(tenantId, { scopes: ['devices:write'] });
    for (const [key, scope] of [
      [first, 'devices:read'],
      [second, 'devices:write'],
      [first, 'devices:read'],
    ] as const) {
      const token = await keygate.token(key);
      expect(token.body.scope).toBe(scope);
      const introspection = await keygate.introspect(introspector, token.body.access_token);
      expect(introspection.body).toMatchObject({ active: true, client_id: key.key.client_id, scope });
    }
    // The library path too (an ignored parameter sends the request there).
    const viaLibrary = await tokenRequest(second, { grant_type: 'client_credentials', unrelated: 'x' });
    expect((await keygate.introspect(introspector, viaLibrary.body.access_token)).body).toMatchObject({ client_id: second.key.client_id });
  });

  it('refuses one key’s secret presented under another key’s client_id, and audits it once', async () => {
    const victim = await keygate.createKey(tenantId);
    const attacker = await keygate.createKey(tenantId);
    const response = await keygate.send({
      path: '/oauth/token',
      form: { grant_type: 'client_credentials', client_id: victim.key.client_id, client_secret: attacker.client_secret },
    });
    expect(response.status).toBe(401);
    expect(response.body).toMatchObject({ error: 'invalid_client' });
    expect((await deniedEvents(keygate, victim.key.client_id)).map((e) => e.reason)).toEqual(['secret_mismatch']);
  });

  it('refuses a key outside its networks through the library, audited once', async () => {
    const key = await keygate.createKey(tenantId, { networks: ['10.0.0.0/8'] });
    const response = await keygate.token(key);
    expect(response.status).toBe(401);
    expect(response.body).toMatchObject({ error: 'invalid_client' });
    expect((await deniedEvents(keygate, key.key.client_id)).map((e) => e.reason)).toEqual(['ip_not_allowed']);
  });

  it('refuses a scope the key lacks as the library does', async () => {
    const key = await keygate.createKey(tenantId, { scopes: ['devices:read'] });
    const response = await tokenRequest(key, { grant_type: 'client_credentials', scope: 'devices:read admin:keys:write' });
    expect(response.status).toBe(400);
    expect(response.body).toMatchObject({ error: 'invalid_scope' });
  });

  it('leaves a repeated parameter, a client_id that differs from Basic, and a DPoP header to the library', async () => {
    const key = await keygate.createKey(tenantId);
    const other = await keygate.createKey(tenantId);
    const repeated = await keygate.send({
      path: '/oauth/token',
      headers: { authorization: basicAuth(key.key.client_id, key.client_secret), 'content-type': 'application/x-www-form-urlencoded' },
      raw: 'grant_type=client_credentials&grant_type=client_credentials',
    });
    expect(repeated.status).toBe(400);
    expect(repeated.body).toMatchObject({ error: 'invalid_request' });
    const mismatch = await tokenRequest(key, { grant_type: 'client_credentials', client_id: other.key.client_id });
    expect(mismatch.status).toBe(400);
    expect(mismatch.body).toMatchObject({ error: 'invalid_request', error_description: 'client_id mismatch' });
    const badProof = await tokenRequest(key, { grant_type: 'client_credentials' }, { dpop: 'not-a-proof' });
    expect(badProof.status).toBe(400);
    expect(badProof.body).toMatchObject({ error: 'invalid_dpop_proof' });
  });

  it('answers a key over its issuance rate as the library does, the crossing audited once', async () => {
    const key = await keygate.createKey(tenantId, { rateLimitPerMinute: 1 });
    expect((await keygate.token(key)).status).toBe(200);
    const limited = await keygate.token(key);
    const viaLibrary = await tokenRequest(key, { grant_type: 'client_credentials', unrelated: 'x' });
    expect(limited.status).toBe(429);
    expect(limited.headers['retry-after']).toMatch(/^[1-9]\d*$/);
    expect(limited.body).toEqual({ error: 'rate_limited', error_description: 'too many requests; retry after the time in Retry-After' });
    const { 'retry-after': _a, ...limitedHeaders } = shapeOf(limited).headers;
    const { 'retry-after': _b, ...libraryHeaders } = shapeOf(viaLibrary).headers;
    expect({ ...shapeOf(limited), headers: limitedHeaders }).toEqual({ ...shapeOf(viaLibrary), headers: libraryHeaders });
    expect(limited.text).toBe(viaLibrary.text);
    const crossings = (await keygate.runtime.audit.list({ targetKeyId: key.key.client_id })).filter((e) => e.reason === 'rate_limited');
    expect(crossings).toHaveLength(1);
  });
});
