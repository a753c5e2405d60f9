// Hardening: the token store (Redis) goes away under a running Keygate and comes back. This suite
// owns its redis-server (never the run's shared one): it kills it (SIGKILL, a crash), checks that
// every route answers 503 — never a false "active", never "inactive", never a 500 — and then
// starts a fresh redis-server on the same port and checks that the same Keygate process recovers
// on its own. Redis runs without persistence, so the restarted Redis is empty: tokens issued
// before the outage are gone and introspect as inactive. Postgres is the run's (never stopped).
import { afterAll, beforeAll, beforeEach, describe, expect, inject, it, vi } from 'vitest';
import type { CreatedKey } from '../../src/keys/types.ts';
import { basicAuth } from '../support/http.ts';
import { ALL_ADMIN_SCOPES } from '../support/admin.ts';
import {
  pollUntil,
  startFaultKeygate,
  startOwnRedis,
  UNAVAILABLE_OAUTH,
  observe,
  observeNote,
  printObservations,
  type FaultKeygate,
  type OwnRedis,
  type TimedResponse,
} from '../support/faults.ts';

const SUITE = 'fault: Redis';
const redisServer = inject('redisServerPath');
const adminUnavailable = (response: TimedResponse) => ({
  error: { code: 'service_unavailable', message: 'a backing store is unavailable; retry shortly', request_id: response.headers['x-request-id'] },
});

describe('fault: Redis goes down and comes back', () => {
  let redis: OwnRedis;
  let keygate: FaultKeygate;
  let tenantId: string;
  let client: CreatedKey;
  let limited: CreatedKey;
  let introspector: CreatedKey;
  let admin: CreatedKey;
  let tokenBefore: string;
  let adminTokenBefore: string;
  const outageConsoleErrors: string[] = [];
  // The server's `unhandled error` log lines (the 500s) since the test began, for failure messages.
  let logCursor = 0;
  const loggedSince = () => keygate.unhandledErrors().slice(logCursor).join('\n') || '(no unhandled error logged)';
  beforeEach(() => {
    logCursor = keygate?.unhandledErrors().length ?? 0;
  });

  beforeAll(async () => {
    redis = await startOwnRedis(redisServer!);
    keygate = await startFaultKeygate({ databaseUrl: inject('databaseUrl'), redisUrl: redis.url });
    tenantId = (await keygate.runtime.tenants.insert({ name: 'redis fault tenant' })).id;
    client = await keygate.createKey(tenantId);
    limited = await keygate.createKey(tenantId, { rateLimitPerMinute: 1000 });
    introspector = await keygate.createKey(tenantId, { name: 'resource server', scopes: ['token:introspect'] });
    admin = await keygate.createKey(tenantId, { name: 'admin automation', scopes: ALL_ADMIN_SCOPES });
  });
  afterAll(async () => {
    printObservations(SUITE);
    await keygate?.close();
    await redis?.stop('SIGTERM');
  });

  it('works before the outage', async () => {
    const token = await keygate.token(client);
    observe('token', token);
    expect(token.status).toBe(200);
    tokenBefore = token.body.access_token;
    expect((await keygate.introspect(introspector, tokenBefore)).body.active).toBe(true);
    adminTokenBefore = (await keygate.token(admin)).body.access_token;
    expect((await keygate.admin(adminTokenBefore, 'GET', '/keys')).status).toBe(200);
    expect((await keygate.token(limited)).status).toBe(200);
    const ready = await keygate.send({ method: 'GET', path: '/readyz' });
    observe('ready', ready);
    expect({ status: ready.status, body: ready.body }).toEqual({
      status: 200,
      body: { status: 'ready', checks: { postgres: 'ok', tokens: 'ok', key_cache: 'ok' } },
    });
  });

  // A Redis that stops answering with its connection open (here: SIGSTOP) must not hold requests
  // until it answers: past the command timeout (src/stores/redis-connection.ts) they answer 503.
  describe('while Redis is frozen (connection open, no answers)', () => {
    let frozenPid: number;
    beforeAll(() => {
      frozenPid = redis.pid!;
      process.kill(frozenPid, 'SIGSTOP');
      observeNote(`redis-server pid ${frozenPid} on port ${redis.port} frozen (SIGSTOP)`);
    });
    afterAll(() => {
      process.kill(frozenPid, 'SIGCONT');
    });

    it('POST /oauth/token and POST /oauth/introspect answer 503 within 5 s, not when Redis answers again', async () => {
      const [token, introspection] = await Promise.all([keygate.token(client), keygate.introspect(introspector, tokenBefore)]);
      for (const response of [token, introspection]) {
        observe('response', response);
        expect({ status: response.status, body: response.body }).toEqual({ status: 503, body: UNAVAILABLE_OAUTH });
        expect(response.ms).toBeLessThan(5000);
      }
    });

    it('once Redis answers again, the same Keygate issues and introspects at once', async () => {
      process.kill(frozenPid, 'SIGCONT');
      const token = await keygate.token(client);
      expect(token.status).toBe(200);
      expect((await keygate.introspect(introspector, token.body.access_token)).body.active).toBe(true);
      expect((await keygate.introspect(introspector, tokenBefore)).body.active).toBe(true);
      expect(keygate.unhandledErrors().slice(logCursor)).toEqual([]);
    });
  });

  describe('while Redis is down', () => {
    beforeAll(async () => {
      vi.spyOn(console, 'error').mockImplementation((...args: unknown[]) => void outageConsoleErrors.push(args.map(String).join(' ')));
      const pid = redis.pid;
      await redis.stop('SIGKILL');
      expect(redis.pid).toBeUndefined();
      observeNote(`redis-server pid ${pid} on port ${redis.port} killed (SIGKILL)`);
    });
    afterAll(() => {
      vi.restoreAllMocks();
    });

    it('POST /oauth/token answers 503 temporarily_unavailable, within 5 s', async () => {
      for (let i = 0; i < 3; i++) {
        const response = await keygate.token(client);
        observe('response', response);
        expect({ status: response.status, body: response.body }).toEqual({ status: 503, body: UNAVAILABLE_OAUTH });
        expect(response.ms).toBeLessThan(5000);
      }
    });

    it('POST /oauth/introspect answers 503 with the same body for a live token: neither active nor inactive', async () => {
      const response = await keygate.introspect(introspector, tokenBefore);
      observe('response', response);
      expect({ status: response.status, body: response.body }).toEqual({ status: 503, body: UNAVAILABLE_OAUTH });
      expect(response.body.active).toBeUndefined();
      expect(response.ms).toBeLessThan(5000);
    });

    it('/readyz answers 503 naming the token store', async () => {
      const response = await keygate.send({ method: 'GET', path: '/readyz' });
      observe('response', response);
      expect({ status: response.status, body: response.body }).toEqual({
        status: 503,
        body: { status: 'not_ready', checks: { postgres: 'ok', tokens: 'unavailable', key_cache: 'ok' } },
      });
      expect(response.ms).toBeLessThan(5000);
    });

    it('the admin API answers 503 service_unavailable to a bearer token (reads and writes)', async () => {
      const list = await keygate.admin(adminTokenBefore, 'GET', '/keys');
      observe('list', list);
      expect({ status: list.status, body: list.body }).toEqual({ status: 503, body: adminUnavailable(list) });
      const create = await keygate.admin(adminTokenBefore, 'POST', '/keys', { name: 'during outage', scopes: ['devices:read'] });
      observe('create', create);
      expect({ status: create.status, body: create.body }).toEqual({ status: 503, body: adminUnavailable(create) });
      expect(Math.max(list.ms, create.ms)).toBeLessThan(5000);
    });

    it('POST /api/v1/auth/authorize answers 503 and issues nothing', async () => {
      const response = await keygate.send({ path: '/api/v1/auth/authorize', json: { grantType: 'api_key', apiKey: client.api_key } });
      observe('response', response);
      expect(response.status, loggedSince()).toBe(503);
      expect(response.body).toEqual(adminUnavailable(response));
    });

    it('POST /auth/external answers 503 and issues nothing', async () => {
      const response = await keygate.send({ path: '/auth/external', json: { clientId: client.key.client_id, accessKey: client.client_secret } });
      observe('response', response);
      expect(response.status, loggedSince()).toBe(503);
      expect(response.body?.data).toBeUndefined();
    });

    // The abuse-limit counters use their own Redis client (runtime.ts), outside the instrumented
    // token store: a key with a per-key issuance limit, and any failed authentication (which is
    // counted), reach Redis through it.
    it('a key with an issuance rate limit answers 503, not 500', async () => {
      const response = await keygate.token(limited);
      observe('response', response);
      expect({ status: response.status, body: response.body }).toEqual({ status: 503, body: UNAVAILABLE_OAUTH });
    });

    it('a wrong secret on /oauth/token answers 401 or 503, not 500', async () => {
      // A well-formed secret of another key: secret_mismatch, a counted authentication failure.
      const response = await keygate.send({
        path: '/oauth/token',
        headers: { authorization: basicAuth(client.key.client_id, limited.client_secret) },
        form: { grant_type: 'client_credentials' },
      });
      observe('response', response);
      expect({ status: response.status, body: response.body }).toEqual(
        response.status === 401
          ? { status: 401, body: { error: 'invalid_client', error_description: 'client authentication failed' } }
          : { status: 503, body: UNAVAILABLE_OAUTH },
      );
    });

    it('an introspection caller with a wrong secret answers 401 or 503, not 500', async () => {
      const response = await keygate.send({
        path: '/oauth/introspect',
        headers: { authorization: basicAuth(introspector.key.client_id, client.client_secret) },
        form: { token: tokenBefore },
      });
      observe('response', response);
      expect([401, 503], loggedSince()).toContain(response.status);
      expect(response.body?.active).toBeUndefined();
    });
  });

  it('logs the outage only through the JSON logger: no ioredis "Unhandled error event" lines on stderr', () => {
    // logs are JSON lines. A Redis client without an 'error' listener makes ioredis
    // print `[ioredis] Unhandled error event: …` with console.error on every reconnect attempt.
    const stray = outageConsoleErrors.filter((line) => line.includes('[ioredis]'));
    expect(stray.length, `${stray.length} such lines, the first: ${stray[0]?.split('\n')[0]}`).toBe(0);
  });

  describe('after Redis restarts on the same port (Keygate not restarted)', () => {
    let restartedAt: number;
    beforeAll(async () => {
      await redis.start();
      restartedAt = Date.now();
      observeNote(`redis-server restarted on port ${redis.port}, pid ${redis.pid}`);
    });

    it('issues tokens again within 10 s', async () => {
      const { response } = await pollUntil(
        () => keygate.token(client),
        (r) => r.status === 200,
        10_000,
        'token issuance after Redis restart',
      );
      expect(Date.now() - restartedAt).toBeLessThan(10_000);
      const fresh = response.body.access_token as string;
      const introspection = await keygate.introspect(introspector, fresh);
      observe('introspection', introspection);
      expect({ status: introspection.status, active: introspection.body.active }).toEqual({ status: 200, active: true });
    });

    it('/readyz is 200 again within 10 s', async () => {
      const { response } = await pollUntil(
        () => keygate.send({ method: 'GET', path: '/readyz' }),
        (r) => r.status === 200,
        10_000,
        '/readyz after Redis restart',
      );
      expect(response.body).toEqual({ status: 'ready', checks: { postgres: 'ok', tokens: 'ok', key_cache: 'ok' } });
    });

    it('tokens from before the outage are gone (the restarted Redis is empty): inactive, and refused by the admin API', async () => {
      const introspection = await keygate.introspect(introspector, tokenBefore);
      observe('introspection', introspection);
      expect({ status: introspection.status, body: introspection.body }).toEqual({ status: 200, body: { active: false } });
      expect((await keygate.admin(adminTokenBefore, 'GET', '/keys')).status).toBe(401);
    });

    it('the admin API works again with a fresh token', async () => {
      const adminToken = (await keygate.token(admin)).body.access_token;
      expect((await keygate.admin(adminToken, 'GET', '/keys')).status).toBe(200);
      const created = await keygate.admin(adminToken, 'POST', '/keys', { name: 'after outage', scopes: ['devices:read'] });
      observe('created', created);
      expect(created.status).toBe(201);
    });

    it('the rate-limited key and the API-key exchanges work again', async () => {
      await pollUntil(
        () => keygate.token(limited),
        (r) => r.status === 200,
        10_000,
        'rate-limited key after Redis restart',
      );
      const authorize = await keygate.send({ path: '/api/v1/auth/authorize', json: { grantType: 'api_key', apiKey: client.api_key } });
      observe('authorize', authorize);
      expect(authorize.status).toBe(200);
    });
  });
});
