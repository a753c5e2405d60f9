// Abuse limits: failed authentications per (client id, source) and per source, and each key's own
// issuance rate, answered with 429 and Retry-After, audited once per window. Each attack is sent
// as an attacker would send it, from its own loopback addresses.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { generateClientId, generateClientSecret } from '../../src/crypto/credentials.ts';
import type { CreatedKey } from '../../src/keys/types.ts';
import { basicAuth, type HttpResponse } from '../support/http.ts';
import { deniedEvents, startKeygate, type TestKeygate } from '../support/keygate.ts';
import { awayFromWindowEdge } from '../support/counting-window.ts';

const RATE_LIMITED = { error: 'rate_limited', error_description: 'too many requests; retry after the time in Retry-After' };
const _INVALID_CLIENT = { error: 'invalid_client', error_description: 'client authentication failed' };
const RATE_LIMITED_MESSAGE = 'too many requests; retry after the time in Retry-After';

const expectRateLimited = (response: HttpResponse) => {
  expect(response.status).toBe(429);
  expect(response.body).toEqual(RATE_LIMITED);
  const retryAfter = Number(response.headers['retry-after']);
  expect(retryAfter).toBeGreaterThanOrEqual(1);
  expect(retryAfter).toBeLessThanOrEqual(60);
};

/** Everything a response says, but the request id, the date and Retry-After's value (its presence stays). */
function comparable(response: HttpResponse) {
  const { date: _date, 'x-request-id': requestId, 'retry-after': retryAfter, ...headers } = response.headers;
  return {
    status: response.status,
    text: requestId ? response.text.replaceAll(String(requestId), '<request id>') : response.text,
    headers,
    retryAfter: retryAfter !== undefined,
  };
}

describe('abuse limits', () => {
  let keygate: TestKeygate;
  let tenantId: string;

  beforeAll(async () => {
    keygate = await startKeygate({ tokenStore: 'redis', authFailuresPerClientSource: 3, authFailuresPerSource: 5 });
    tenantId = await keygate.newTenant();
  });
  afterAll(() => keygate?.close());
  beforeEach(() => awayFromWindowEdge(), 30_000);

  const tokenFrom = (key: CreatedKey, secret: string, from: string) =>
    keygate.send({
      path: '/oauth/token',
      from,
      headers: { authorization: basicAuth(key.key.client_id, secret) },
      form: { grant_type: 'client_credentials' },
    });
  const introspectFrom = (caller: CreatedKey, secret: string, token: string, from: string) =>
    keygate.send({
      path: '/oauth/introspect',
      from,
      headers: { authorization: basicAuth(caller.key.client_id, secret) },
      form: { token },
    });

  it('a resource server keeps introspecting while an attacker sends 1,000 bad secrets for its client id from other addresses', async () => {
    const resourceServer = await keygate.createKey(tenantId, { scopes: ['token:introspect'] });
    const service = await keygate.createKey(tenantId, { scopes: ['devices:read'] });
    const token = (await tokenFrom(service, service.client_secret, '127.0.8.2')).body.access_token;
    const introspect = () => introspectFrom(resourceServer, resourceServer.client_secret, token, '127.0.8.1');
    const before = await introspect();
    expect(before.status).toBe(200);
    expect(before.body).toMatchObject({ active: true, client_id: service.key.client_id });

    // Ten attacker addresses, 100 bad secrets each, on the token route and on introspection.
    let attacking = true;
    const attack = Promise.all(
      Array.from({ length: 10 }, async (_, i) => {
        const from = `127.0.9.${i + 1}`;
        const statuses: number[] = [];
        for (let n = 0; n < 100; n++) {
          const response =
            i % 2 === 0
              ? await tokenFrom(resourceServer, generateClientSecret(), from)
              : await introspectFrom(resourceServer, generateClientSecret(), token, from);
          statuses.push(response.status);
        }
        return statuses;
      }),
    ).finally(() => (attacking = false));
    const answers: HttpResponse[] = [];
    while (attacking) answers.push(await introspect());
    answers.push(await introspect());

    const attackerStatuses = await attack;
    for (const statuses of attackerStatuses) expect(statuses).toEqual([...Array(3).fill(401), ...Array(97).fill(429)]);
    expect(answers.map((a) => a.status)).toEqual(answers.map(() => 200));
    expect(answers.map((a) => a.body)).toEqual(answers.map(() => before.body));
  });

  it('locks the attacker’s own (client id, source): 429 even with the right secret there, the same id elsewhere is served', async () => {
    const key = await keygate.createKey(tenantId);
    for (let i = 0; i < 3; i++) expect((await tokenFrom(key, generateClientSecret(), '127.0.11.1')).status).toBe(401);
    expectRateLimited(await tokenFrom(key, key.client_secret, '127.0.11.1'));
    expect((await tokenFrom(key, key.client_secret, '127.0.11.2')).status).toBe(200);
  });

  it('audits a (client id, source) lockout once, in the tenant of the key it names', async () => {
    const key = await keygate.createKey(tenantId);
    for (let i = 0; i < 5; i++) await tokenFrom(key, generateClientSecret(), '127.0.11.3');
    const crossings = (await keygate.runtime.audit.list({ tenantIds: [tenantId], targetKeyId: key.key.client_id })).filter((e) => e.reason === 'rate_limited');
    expect(crossings).toEqual([
      {
        id: expect.any(String),
        at: expect.any(String),
        action: 'token.issue',
        outcome: 'denied',
        reason: 'rate_limited',
        tenant_id: tenantId,
        actor_key_id: key.key.client_id,
        actor_user_id: null,
        target_key_id: key.key.client_id,
        ip: '127.0.11.3',
        request_id: expect.any(String),
        details: { limit: 'client_source_failures', route: '/oauth/token', source: '127.0.11.3' },
      },
    ]);
  });

  it('locks a source after its failures, for every client id, but not other sources', async () => {
    const from = '127.0.12.1';
    for (let i = 0; i < 5; i++) {
      const ghost = { key: { client_id: generateClientId() }, client_secret: generateClientSecret() } as CreatedKey;
      expect((await tokenFrom(ghost, ghost.client_secret, from)).status).toBe(401);
    }
    const key = await keygate.createKey(tenantId);
    expectRateLimited(await tokenFrom(key, key.client_secret, from));
    const introspector = await keygate.createKey(tenantId, { scopes: ['token:introspect'] });
    expectRateLimited(await introspectFrom(introspector, introspector.client_secret, 'x', from));
    expect((await tokenFrom(key, key.client_secret, '127.0.12.2')).status).toBe(200);
    const crossings = (await keygate.runtime.audit.list({ action: 'token.issue' })).filter((e) => e.reason === 'rate_limited' && e.ip === from);
    expect(crossings).toEqual([
      {
        id: expect.any(String),
        at: expect.any(String),
        action: 'token.issue',
        outcome: 'denied',
        reason: 'rate_limited',
        tenant_id: null,
        actor_key_id: null,
        actor_user_id: null,
        target_key_id: null,
        ip: from,
        request_id: expect.any(String),
        details: { limit: 'source_failures', route: '/oauth/token', source: from },
      },
    ]);
  });

  it('a resource server revokes a token whose owner id is locked at its address: only the presented id is checked', async () => {
    const owner = await keygate.createKey(tenantId);
    const resourceServer = await keygate.createKey(tenantId, { scopes: ['token:introspect'] });
    const token = (await tokenFrom(owner, owner.client_secret, '127.0.13.2')).body.access_token;
    for (let i = 0; i < 3; i++) expect((await tokenFrom(owner, generateClientSecret(), '127.0.13.1')).status).toBe(401);
    expectRateLimited(await tokenFrom(owner, owner.client_secret, '127.0.13.1'));
    const revoked = await keygate.send({
      path: '/oauth/revoke',
      from: '127.0.13.1',
      headers: { authorization: basicAuth(resourceServer.key.client_id, resourceServer.client_secret) },
      form: { token },
    });
    expect([revoked.status, revoked.text]).toEqual([200, '']);
    expect((await introspectFrom(resourceServer, resourceServer.client_secret, token, '127.0.13.3')).body).toEqual({ active: false });
  });

  describe('a known and an unknown client id answer alike, before and under lockout', () => {
    let known: CreatedKey;
    beforeAll(async () => {
      known = await keygate.createKey(tenantId, { scopes: ['devices:read', 'token:introspect'] });
    });

    type Attempt = (clientId: string, secret: string, from: string) => Promise<HttpResponse>;
    const routes: [string, Attempt, unknown][] = [
      [
        '/oauth/token (Basic)',
        (id, secret, from) =>
          keygate.send({
            path: '/oauth/token',
            from,
            headers: { authorization: basicAuth(id, secret) },
            form: { grant_type: 'client_credentials' },
          }),
        RATE_LIMITED,
      ],
      [
        '/oauth/token (client_secret_post)',
        (id, secret, from) =>
          keygate.send({
            path: '/oauth/token',
            from,
            form: { grant_type: 'client_credentials', client_id: id, client_secret: secret },
          }),
        RATE_LIMITED,
      ],
      [
        '/oauth/revoke',
        (id, secret, from) =>
          keygate.send({
            path: '/oauth/revoke',
            from,
            headers: { authorization: basicAuth(id, secret) },
            form: { token: 'some-token' },
          }),
        RATE_LIMITED,
      ],
      [
        '/oauth/introspect',
        (id, secret, from) =>
          keygate.send({
            path: '/oauth/introspect',
            from,
            headers: { authorization: basicAuth(id, secret) },
            form: { token: 'some-token' },
          }),
        RATE_LIMITED,
      ],
      [
        '/api/v1/auth/authorize',
        (id, secret, from) =>
          keygate.send({
            path: '/api/v1/auth/authorize',
            from,
            json: { grantType: 'api_key', apiKey: `${id}.${secret}` },
          }),
        { error: { code: 'rate_limited', message: RATE_LIMITED_MESSAGE, request_id: '<request id>' } },
      ],
      [
        '/auth/external',
        (id, secret, from) =>
          keygate.send({
            path: '/auth/external',
            from,
            json: { clientId: id, accessKey: secret },
          }),
        { success: false, error: { code: 'rate_limited', message: RATE_LIMITED_MESSAGE, request_id: '<request id>' } },
      ],
    ];

    it.each(routes.map(([name, attempt, limited], i) => ({ name, attempt, limited, i })))('$name', async ({ attempt, limited, i }) => {
      const knownFrom = `127.0.10.${2 * i + 1}`;
      const unknownFrom = `127.0.10.${2 * i + 2}`;
      const unknownId = generateClientId();
      for (let n = 0; n < 3; n++) {
        const [forKnown, forUnknown] = [
          await attempt(known.key.client_id, generateClientSecret(), knownFrom),
          await attempt(unknownId, generateClientSecret(), unknownFrom),
        ];
        expect(forKnown.status).toBe(401);
        expect(comparable(forKnown)).toEqual(comparable(forUnknown));
      }
      // Locked: the known id with its right secret answers exactly as the unknown id does.
      const [forKnown, forUnknown] = [
        await attempt(known.key.client_id, known.client_secret, knownFrom),
        await attempt(unknownId, generateClientSecret(), unknownFrom),
      ];
      expect(comparable(forKnown)).toEqual(comparable(forUnknown));
      expect(forKnown.status).toBe(429);
      expect(JSON.parse(comparable(forKnown).text)).toEqual(limited);
      expect(forKnown.headers['retry-after']).toMatch(/^[1-9]\d*$/);
    });
  });

  it('enforces a key’s own issuance rate on every token route', async () => {
    const key = await keygate.createKey(tenantId, { rateLimitPerMinute: 2 });
    expect((await keygate.token(key, { from: '127.0.3.1' })).status).toBe(200);
    expect((await keygate.send({ path: '/api/v1/auth/authorize', from: '127.0.3.1', json: { grantType: 'api_key', apiKey: key.api_key } })).status).toBe(200);
    expectRateLimited(await keygate.token(key, { from: '127.0.3.1' }));
    const exchange = await keygate.send({ path: '/api/v1/auth/authorize', from: '127.0.3.1', json: { grantType: 'api_key', apiKey: key.api_key } });
    expect(exchange.status).toBe(429);
    expect(exchange.body).toEqual({ error: { code: 'rate_limited', message: RATE_LIMITED_MESSAGE, request_id: exchange.headers['x-request-id'] } });
    const crossings = (await keygate.runtime.audit.list({ targetKeyId: key.key.client_id })).filter((e) => e.reason === 'rate_limited');
    expect(crossings).toHaveLength(1);
    expect(crossings[0]).toMatchObject({ tenant_id: tenantId, details: { limit: 'key_issuance' } });
  });

  it('counts limit refusals and lockouts in /metrics', async () => {
    const metrics = await keygate.send({ method: 'GET', path: '/metrics' });
    expect(metrics.text).toMatch(/keygate_requests_denied_total\{action="limit",reason="client_source_failures"\} [1-9]/);
    expect(metrics.text).toMatch(/keygate_requests_denied_total\{action="limit",reason="source_failures"\} [1-9]/);
    expect(metrics.text).toMatch(/keygate_requests_denied_total\{action="limit",reason="key_issuance"\} [1-9]/);
    expect(metrics.text).toMatch(/keygate_auth_lockouts_total\{limit="client_source_failures"\} [1-9]/);
    expect(metrics.text).toMatch(/keygate_auth_lockouts_total\{limit="source_failures"\} [1-9]/);
  });
});

describe('abuse limits behind a trusted proxy', () => {
  const PROXY = '127.0.4.1';
  let keygate: TestKeygate;
  let tenantId: string;

  beforeAll(async () => {
    keygate = await startKeygate({ tokenStore: 'redis', trustedProxies: `${PROXY}/32`, authFailuresPerClientSource: 3, authFailuresPerSource: 100 });
    tenantId = await keygate.newTenant();
  });
  afterAll(() => keygate?.close());
  beforeEach(() => awayFromWindowEdge(), 30_000);

  const viaProxy = (key: CreatedKey, secret: string, forwardedFor: string) =>
    keygate.send({
      path: '/oauth/token',
      from: PROXY,
      form: { grant_type: 'client_credentials' },
      headers: { authorization: basicAuth(key.key.client_id, secret), 'x-forwarded-for': forwardedFor },
    });

  it('an attacker whose X-Forwarded-For hop is garbage is still counted, against the proxy, and locked out', async () => {
    const key = await keygate.createKey(tenantId);
    for (let i = 0; i < 3; i++) expect((await viaProxy(key, generateClientSecret(), 'garbage')).status).toBe(401);
    expectRateLimited(await viaProxy(key, key.client_secret, 'garbage'));
    const events = (await deniedEvents(keygate, key.key.client_id)).map((e) => ({ reason: e.reason, ip: e.ip }));
    expect(events).toEqual([
      { reason: 'rate_limited', ip: PROXY },
      { reason: 'secret_mismatch', ip: PROXY },
      { reason: 'secret_mismatch', ip: PROXY },
      { reason: 'secret_mismatch', ip: PROXY },
    ]);
  });

  it('counts IPv6 callers per /64: one attacker spread over its /64 is one source', async () => {
    const key = await keygate.createKey(tenantId);
    for (const caller of ['2001:db8:1:2::a', '2001:db8:1:2::b', '2001:db8:1:2:ffff::1']) {
      expect((await viaProxy(key, generateClientSecret(), caller)).status).toBe(401);
    }
    expectRateLimited(await viaProxy(key, key.client_secret, '2001:db8:1:2::c'));
    expect((await viaProxy(key, key.client_secret, '2001:db8:1:3::a')).status).toBe(200);
    const [crossing] = (await deniedEvents(keygate, key.key.client_id)).filter((e) => e.reason === 'rate_limited');
    expect(crossing).toMatchObject({ ip: '2001:db8:1:2:ffff::1', details: { limit: 'client_source_failures', source: '2001:db8:1:2::/64' } });
  });
});

describe('abuse limits racing a valid exchange', () => {
  let keygate: TestKeygate;

  beforeAll(async () => {
    keygate = await startKeygate({ tokenStore: 'redis', authFailuresPerSource: 1 });
  });
  afterAll(() => keygate?.close());
  beforeEach(() => awayFromWindowEdge(), 30_000);

  it('a lockout landing while a valid exchange is minting answers that exchange 200 or 429, never 500', async () => {
    const key = await keygate.createKey(await keygate.newTenant());
    const statuses = new Set<number>();
    // The attacker's failure and the valid request leave together, a little apart each round, so
    // the lockout lands at every point of the valid request's way through the policy and the mint.
    for (let host = 2; host < 250; host++) {
      const from = `127.0.12.${host}`;
      const bad = keygate.send({
        path: '/api/v1/auth/authorize',
        from,
        json: { grantType: 'api_key', apiKey: `${generateClientId()}.${generateClientSecret()}` },
      });
      await new Promise((resolve) => setTimeout(resolve, (host % 6) * 0.5));
      const good = await keygate.send({ path: '/api/v1/auth/authorize', from, json: { grantType: 'api_key', apiKey: key.api_key } });
      await bad;
      statuses.add(good.status);
    }
    expect([...statuses].filter((status) => status !== 200 && status !== 429)).toEqual([]);
  });
});
