// Abuse limits (SPEC §3): failed authentications per client id and per caller IP, and each key's
// own issuance rate, answered with 429 and Retry-After, audited once per window.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateClientId, generateClientSecret } from '../../src/crypto/credentials.ts';
import type { CreatedKey } from '../../src/keys/service.ts';
import { basicAuth } from '../support/http.ts';
import { deniedEvents, redisAvailable, startKeygate, type TestKeygate } from '../support/keygate.ts';

const RATE_LIMITED = { error: 'rate_limited', error_description: 'too many requests; retry after the time in Retry-After' };

describe.skipIf(!redisAvailable())('abuse limits', () => {
  let keygate: TestKeygate;
  let tenantId: string;

  beforeAll(async () => {
    keygate = await startKeygate({ tokenStore: 'redis', authFailuresPerClient: 3, authFailuresPerIp: 5 });
    tenantId = await keygate.newTenant();
  });
  afterAll(() => keygate?.close());

  const wrong = (key: CreatedKey): CreatedKey => ({ ...key, client_secret: generateClientSecret() });
  const expectRateLimited = (response: Awaited<ReturnType<TestKeygate['token']>>) => {
    expect(response.status).toBe(429);
    expect(response.body).toEqual(RATE_LIMITED);
    const retryAfter = Number(response.headers['retry-after']);
    expect(retryAfter).toBeGreaterThanOrEqual(1);
    expect(retryAfter).toBeLessThanOrEqual(60);
  };

  it('locks a client id after its failures, even for the right secret and from another address', async () => {
    const key = await keygate.createKey(tenantId);
    for (let i = 0; i < 3; i++) expect((await keygate.token(wrong(key), { from: `127.0.1.${i + 1}` })).status).toBe(401);
    expectRateLimited(await keygate.token(key, { from: '127.0.1.9' }));
    const exchange = await keygate.send({ path: '/auth/external', from: '127.0.1.10', json: { clientId: key.key.client_id, accessKey: key.client_secret } });
    expect(exchange.status).toBe(429);
    expect(exchange.body).toEqual({ success: false, error: { code: 'rate_limited', message: 'too many requests; retry after the time in Retry-After', request_id: exchange.headers['x-request-id'] } });
    const audited = (await keygate.runtime.audit.list({ targetKeyId: key.key.client_id })).filter((e) => e.reason === 'rate_limited');
    expect(audited).toHaveLength(1);
    expect(audited[0]).toMatchObject({ action: 'token.issue', outcome: 'denied', details: { limit: 'client_failures' } });
  });

  it('locks a caller address after its failures, for every key, but not other addresses', async () => {
    const from = '127.0.2.1';
    for (let i = 0; i < 5; i++) {
      const ghost = { key: { client_id: generateClientId() }, client_secret: generateClientSecret() } as CreatedKey;
      expect((await keygate.token(ghost, { from })).status).toBe(401);
    }
    const key = await keygate.createKey(tenantId);
    expectRateLimited(await keygate.token(key, { from }));
    const introspector = await keygate.createKey(tenantId, { scopes: ['token:introspect'] });
    const introspection = await keygate.send({ path: '/oauth/introspect', from, headers: { authorization: basicAuth(introspector.key.client_id, introspector.client_secret) }, form: { token: 'x' } });
    expect(introspection.status).toBe(429);
    expect(introspection.body).toEqual(RATE_LIMITED);
    expect((await keygate.token(key, { from: '127.0.2.2' })).status).toBe(200);
    const [crossing] = (await keygate.runtime.audit.list({ action: 'token.issue' })).filter((e) => e.reason === 'rate_limited' && e.ip === from);
    expect(crossing).toMatchObject({ details: { limit: 'ip_failures' } });
  });

  it('enforces a key’s own issuance rate on every token route', async () => {
    const key = await keygate.createKey(tenantId, { rateLimitPerMinute: 2 });
    expect((await keygate.token(key, { from: '127.0.3.1' })).status).toBe(200);
    expect((await keygate.send({ path: '/api/v1/auth/authorize', from: '127.0.3.1', json: { grantType: 'api_key', apiKey: key.api_key } })).status).toBe(200);
    expectRateLimited(await keygate.token(key, { from: '127.0.3.1' }));
    const exchange = await keygate.send({ path: '/api/v1/auth/authorize', from: '127.0.3.1', json: { grantType: 'api_key', apiKey: key.api_key } });
    expect(exchange.status).toBe(429);
    expect(exchange.body.error.code).toBe('rate_limited');
    expect((await keygate.runtime.audit.list({ targetKeyId: key.key.client_id })).filter((e) => e.reason === 'rate_limited')).toHaveLength(1);
  });

  it('counts limit hits in /metrics', async () => {
    const metrics = await keygate.send({ method: 'GET', path: '/metrics' });
    expect(metrics.text).toMatch(/keygate_requests_denied_total\{action="limit",reason="client_failures"\} [1-9]/);
    expect(metrics.text).toMatch(/keygate_requests_denied_total\{action="limit",reason="key_issuance"\} [1-9]/);
  });
});

describe.skipIf(!redisAvailable())('abuse limits behind a trusted proxy', () => {
  const PROXY = '127.0.4.1';
  let keygate: TestKeygate;
  let tenantId: string;

  beforeAll(async () => {
    keygate = await startKeygate({ tokenStore: 'redis', trustedProxies: `${PROXY}/32`, authFailuresPerIp: 3 });
    tenantId = await keygate.newTenant();
  });
  afterAll(() => keygate?.close());

  it('an attacker whose X-Forwarded-For hop is garbage is still counted, against the proxy, and locked out', async () => {
    const key = await keygate.createKey(tenantId);
    const attempt = (secret: string) => keygate.send({
      path: '/oauth/token', from: PROXY, form: { grant_type: 'client_credentials' },
      headers: { authorization: basicAuth(key.key.client_id, secret), 'x-forwarded-for': 'garbage' },
    });
    for (let i = 0; i < 3; i++) expect((await attempt(generateClientSecret())).status).toBe(401);
    const locked = await attempt(key.client_secret);
    expect(locked.status).toBe(429);
    expect(locked.body).toEqual(RATE_LIMITED);
    const events = (await deniedEvents(keygate, key.key.client_id)).map((e) => ({ reason: e.reason, ip: e.ip }));
    expect(events).toEqual([
      { reason: 'rate_limited', ip: PROXY },
      { reason: 'secret_mismatch', ip: PROXY },
      { reason: 'secret_mismatch', ip: PROXY },
      { reason: 'secret_mismatch', ip: PROXY },
    ]);
  });
});
