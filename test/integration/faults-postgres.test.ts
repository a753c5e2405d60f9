// Hardening: Postgres goes away under a running Keygate and comes back. This suite owns its
// embedded Postgres cluster (its own temp dir and port, never the run's shared one): it stops it
// (fast shutdown: open sessions are terminated), checks what every route answers, then starts the
// same cluster on the same port and checks that the same Keygate process recovers on its own,
// including the key-change feed that keeps its key cache honest.
//
// Documented behaviour for token requests while Postgres is down: the key cache may only answer
// while the change feed is live. The feed's connection is terminated with the database, so the
// cache stops being trusted (and is emptied) at once; every token request then reads the key
// from Postgres and answers 503 temporarily_unavailable. Tokens already issued live in Redis, but
// introspection authenticates its caller's key, so it answers 503 too (never active, never inactive).
import { afterAll, beforeAll, beforeEach, describe, expect, inject, it } from 'vitest';
import type { CreatedKey } from '../../src/keys/types.ts';
import { connectDatabase, type Db } from '../../src/stores/db.ts';
import { ALL_ADMIN_SCOPES } from '../support/admin.ts';
import {
  pollUntil,
  sleep,
  startFaultKeygate,
  startOwnPostgres,
  UNAVAILABLE_OAUTH,
  observe,
  observeNote,
  printObservations,
  type FaultKeygate,
  type OwnPostgres,
  type TimedResponse,
} from '../support/faults.ts';

const SUITE = 'fault: Postgres';
const serviceUnavailable = (response: TimedResponse) => ({
  error: { code: 'service_unavailable', message: 'a backing store is unavailable; retry shortly', request_id: response.headers['x-request-id'] },
});

describe('fault: Postgres goes down and comes back', () => {
  let postgres: OwnPostgres;
  let keygate: FaultKeygate;
  let tenantId: string;
  let client: CreatedKey;
  let introspector: CreatedKey;
  let admin: CreatedKey;
  let tokenBefore: string;
  let adminToken: string;
  let logCursor = 0;
  const loggedSince = () => keygate.unhandledErrors().slice(logCursor).join('\n') || '(no unhandled error logged)';
  beforeEach(() => {
    logCursor = keygate?.unhandledErrors().length ?? 0;
  });

  beforeAll(async () => {
    postgres = await startOwnPostgres();
    keygate = await startFaultKeygate({ databaseUrl: postgres.url, redisUrl: inject('redisUrl')! });
    tenantId = (await keygate.runtime.tenants.insert({ name: 'postgres fault tenant' })).id;
    client = await keygate.createKey(tenantId);
    introspector = await keygate.createKey(tenantId, { name: 'resource server', scopes: ['token:introspect'] });
    admin = await keygate.createKey(tenantId, { name: 'admin automation', scopes: ALL_ADMIN_SCOPES });
  });
  afterAll(async () => {
    printObservations(SUITE);
    await keygate?.close();
    await postgres?.destroy();
  });

  it('works before the outage, with the key cache answering (change feed live)', async () => {
    const hitsBefore = await keygate.cacheHits();
    for (let i = 0; i < 3; i++) expect((await keygate.token(client)).status).toBe(200);
    expect(await keygate.cacheHits()).toBeGreaterThan(hitsBefore);
    tokenBefore = (await keygate.token(client)).body.access_token;
    expect((await keygate.introspect(introspector, tokenBefore)).body.active).toBe(true);
    adminToken = (await keygate.token(admin)).body.access_token;
    expect((await keygate.admin(adminToken, 'GET', '/keys')).status).toBe(200);
    const ready = await keygate.send({ method: 'GET', path: '/readyz' });
    observe('ready', ready);
    expect({ status: ready.status, body: ready.body }).toEqual({
      status: 200,
      body: { status: 'ready', checks: { postgres: 'ok', tokens: 'ok', key_cache: 'ok' } },
    });
  });

  describe('while Postgres is down', () => {
    let firstTokenAnswer: TimedResponse;
    beforeAll(async () => {
      const pid = postgres.pid;
      await postgres.stop();
      expect(postgres.pid).toBeUndefined();
      observeNote(`postgres pid ${pid} on port ${postgres.port} stopped (fast shutdown)`);
      // The very first request after the stop: a cached key must not still be served.
      firstTokenAnswer = await keygate.token(client);
      observe('first token request after the stop', firstTokenAnswer);
    });

    it('POST /oauth/token answers 503 temporarily_unavailable at once (the cache is bypassed), within 5 s', async () => {
      expect({ status: firstTokenAnswer.status, body: firstTokenAnswer.body }).toEqual({ status: 503, body: UNAVAILABLE_OAUTH });
      for (let i = 0; i < 3; i++) {
        const response = await keygate.token(client);
        observe('response', response);
        expect({ status: response.status, body: response.body }, loggedSince()).toEqual({ status: 503, body: UNAVAILABLE_OAUTH });
        expect(response.ms).toBeLessThan(5000);
      }
    });

    it('POST /oauth/introspect answers 503 with the same body for a live token: neither active nor inactive', async () => {
      const response = await keygate.introspect(introspector, tokenBefore);
      observe('response', response);
      expect({ status: response.status, body: response.body }, loggedSince()).toEqual({ status: 503, body: UNAVAILABLE_OAUTH });
      expect(response.ms).toBeLessThan(5000);
    });

    it('/readyz answers 503 naming postgres', async () => {
      const response = await keygate.send({ method: 'GET', path: '/readyz' });
      observe('response', response);
      expect({ status: response.status, body: response.body }).toEqual({
        status: 503,
        body: { status: 'not_ready', checks: { postgres: 'unavailable', tokens: 'ok', key_cache: 'ok' } },
      });
      expect(response.ms).toBeLessThan(5000);
    });

    it('the admin API answers 503 service_unavailable (reads and writes)', async () => {
      const list = await keygate.admin(adminToken, 'GET', '/keys');
      observe('list', list);
      expect({ status: list.status, body: list.body }, loggedSince()).toEqual({ status: 503, body: serviceUnavailable(list) });
      const create = await keygate.admin(adminToken, 'POST', '/keys', { name: 'during outage', scopes: ['devices:read'] });
      observe('create', create);
      expect({ status: create.status, body: create.body }, loggedSince()).toEqual({ status: 503, body: serviceUnavailable(create) });
      const audit = await keygate.admin(adminToken, 'GET', '/audit');
      observe('audit', audit);
      expect({ status: audit.status, body: audit.body }, loggedSince()).toEqual({ status: 503, body: serviceUnavailable(audit) });
      expect(Math.max(list.ms, create.ms, audit.ms)).toBeLessThan(5000);
    });

    it('the API-key exchanges answer 503 and issue nothing', async () => {
      const authorize = await keygate.send({ path: '/api/v1/auth/authorize', json: { grantType: 'api_key', apiKey: client.api_key } });
      observe('authorize', authorize);
      expect({ status: authorize.status, body: authorize.body }, loggedSince()).toEqual({ status: 503, body: serviceUnavailable(authorize) });
      const external = await keygate.send({ path: '/auth/external', json: { clientId: client.key.client_id, accessKey: client.client_secret } });
      observe('external', external);
      expect(external.status, loggedSince()).toBe(503);
      expect(external.body?.data).toBeUndefined();
    });

    it('a wrong secret answers 503 (the key cannot be read, so nothing is judged), not 401 or 500', async () => {
      const response = await keygate.send({
        path: '/oauth/token',
        headers: { authorization: `Basic ${Buffer.from(`${client.key.client_id}:${admin.client_secret}`).toString('base64')}` },
        form: { grant_type: 'client_credentials' },
      });
      observe('response', response);
      expect({ status: response.status, body: response.body }).toEqual({ status: 503, body: UNAVAILABLE_OAUTH });
    });
  });

  describe('after Postgres restarts on the same port (Keygate not restarted)', () => {
    let restartedAt: number;
    let direct: Db;
    beforeAll(async () => {
      await postgres.start();
      restartedAt = Date.now();
      observeNote(`postgres restarted on port ${postgres.port}, pid ${postgres.pid}`);
      direct = connectDatabase(postgres.url, 1);
    });
    afterAll(() => direct?.destroy());

    it('issues tokens again within 15 s', async () => {
      const { response } = await pollUntil(
        () => keygate.token(client),
        (r) => r.status === 200,
        15_000,
        'token issuance after Postgres restart',
      );
      expect(Date.now() - restartedAt).toBeLessThan(15_000);
      expect(response.body.token_type).toBe('Bearer');
    });

    it('introspection works again, and the token from before the outage is still active (Redis kept it)', async () => {
      const { response } = await pollUntil(
        () => keygate.introspect(introspector, tokenBefore),
        (r) => r.status === 200,
        15_000,
        'introspection after Postgres restart',
      );
      expect(response.body.active).toBe(true);
    });

    it('/readyz is 200 again', async () => {
      const { response } = await pollUntil(
        () => keygate.send({ method: 'GET', path: '/readyz' }),
        (r) => r.status === 200,
        15_000,
        '/readyz after Postgres restart',
      );
      expect(response.body).toEqual({ status: 'ready', checks: { postgres: 'ok', tokens: 'ok', key_cache: 'ok' } });
    });

    it('the admin API works again (reads and writes)', async () => {
      await pollUntil(
        () => keygate.admin(adminToken, 'GET', '/keys'),
        (r) => r.status === 200,
        15_000,
        'admin API after Postgres restart',
      );
      const created = await keygate.admin(adminToken, 'POST', '/keys', { name: 'after outage', scopes: ['devices:read'] });
      observe('created', created);
      expect(created.status).toBe(201);
    });

    it('the change feed reconnects: the key cache answers again, and a key disabled by direct SQL is refused within 1 s', async () => {
      // The cache is trusted again only once the feed listens again: wait for cache hits.
      const key = await keygate.createKey(tenantId);
      const hitsBefore = await keygate.cacheHits();
      const deadline = Date.now() + 15_000;
      let attempts = 0;
      while ((await keygate.cacheHits()) <= hitsBefore + 1) {
        attempts += 1;
        if (Date.now() > deadline || attempts > 300) throw new Error('the key cache never answered again: the change feed did not reconnect within 15 s');
        expect((await keygate.token(key)).status).toBe(200);
        await sleep(50);
      }
      const live = (await keygate.token(key)).body.access_token;
      // A write that bypasses Keygate entirely: only the database's notification, delivered
      // through the reconnected feed, can evict the cached (active) snapshot.
      await direct.updateTable('api_keys').set({ status: 'disabled' }).where('client_id', '=', key.key.client_id).execute();
      const disabledAt = Date.now();
      observeNote(`key cache trusted again (hits rising) after ${attempts} probes`);
      const { tookMs } = await pollUntil(
        () => keygate.token(key),
        (r) => r.status === 401,
        1000,
        'refusal of a key disabled after recovery',
      );
      expect(tookMs).toBeLessThan(1000);
      expect(Date.now() - disabledAt).toBeLessThan(1000);
      expect((await keygate.introspect(introspector, live)).body).toEqual({ active: false });
    });
  });
});
