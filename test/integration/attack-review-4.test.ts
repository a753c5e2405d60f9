// Attacker's review 4 of the hot-path changes: token record reads of one turn sharing one MGET,
// cold key lookups with at most two queries out, and draining decided as each response head is
// written. Over real HTTP, Postgres and Redis; each test asserts the SECURE behaviour, so a hole
// makes it fail. The review found two holes, both fixed: H1 (two stalled lookup queries stalled
// every other cold lookup, and every lookup while the change feed was down) and H2 (pipelined
// requests on the wire when draining began went unanswered). The tests named `held` passed from
// the start and stay as regression tests.
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { hashToken } from '../../src/crypto/token-hash.ts';
import type { CreatedKey } from '../../src/keys/types.ts';
import { adminClient, ALL_ADMIN_SCOPES } from '../support/admin.ts';
import {
  startFaultKeygate,
  startOwnPostgres,
  startOwnRedis,
  UNAVAILABLE_OAUTH,
  type FaultKeygate,
  type OwnPostgres,
  type OwnRedis,
} from '../support/faults.ts';
import { basicAuth, type HttpResponse } from '../support/http.ts';
import { startKeygate, type TestKeygate } from '../support/keygate.ts';
import { makeCertificates, startKeygateWithTls } from '../support/tls.ts';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const unknownToken = () => randomBytes(32).toString('base64url');

/** Fires `count` requests with at most `width` in flight at once. */
async function inWaves<T>(count: number, width: number, make: (i: number) => Promise<T>): Promise<T[]> {
  const results: T[] = [];
  for (let start = 0; start < count; start += width) {
    results.push(...(await Promise.all(Array.from({ length: Math.min(width, count - start) }, (_, j) => make(start + j)))));
  }
  return results;
}

describe('attack review 4: token reads of one turn share one MGET', () => {
  let keygate: TestKeygate;
  let tenants: string[];
  let introspectors: CreatedKey[];

  beforeAll(async () => {
    keygate = await startKeygate({ tokenStore: 'redis' });
    tenants = [await keygate.newTenant(), await keygate.newTenant()];
    introspectors = await Promise.all(tenants.map((tenantId) => keygate.createKey(tenantId, { name: 'resource server', scopes: ['token:introspect'] })));
  });
  afterAll(() => keygate?.close());

  const introspect = (caller: CreatedKey, token: string) =>
    keygate.send({ path: '/oauth/introspect', headers: { authorization: basicAuth(caller.key.client_id, caller.client_secret) }, form: { token } });
  const revoke = (key: CreatedKey, token: string) =>
    keygate.send({ path: '/oauth/revoke', headers: { authorization: basicAuth(key.key.client_id, key.client_secret) }, form: { token } });

  it('held: 1,200 concurrent introspections of live, revoked and unknown tokens of two tenants each get their own answer', async () => {
    interface Asked {
      token: string;
      owner: CreatedKey | undefined;
      tenant: number;
      scope: string;
      live: boolean;
    }
    const probes: Asked[] = [];
    for (let i = 0; i < 10; i += 1) {
      const tenant = i % 2;
      const scope = i % 3 ? 'devices:read' : 'devices:write';
      const owner = await keygate.createKey(tenants[tenant]!, { name: `mget ${i}`, scopes: [scope] });
      for (let t = 0; t < 3; t += 1) {
        const token = (await keygate.token(owner)).body.access_token as string;
        const live = t !== 2;
        if (!live) expect((await revoke(owner, token)).status).toBe(200);
        probes.push({ token, owner, tenant, scope, live });
      }
    }
    for (let i = 0; i < 10; i += 1) probes.push({ token: unknownToken(), owner: undefined, tenant: 0, scope: '', live: false });

    // Shuffled: each request asks about a token by an introspector of either tenant.
    const asks = Array.from({ length: 1200 }, (_, i) => ({ probe: probes[(i * 7919) % probes.length]!, caller: (i * 31) % 2 }));
    const answers = await inWaves(asks.length, 300, (i) => introspect(introspectors[asks[i]!.caller]!, asks[i]!.probe.token));
    const wrong = answers.flatMap((answer, i) => {
      const { probe, caller } = asks[i]!;
      const expected =
        probe.live && probe.tenant === caller
          ? { active: true, client_id: probe.owner!.key.client_id, tenant_id: tenants[probe.tenant], scope: probe.scope }
          : { active: false };
      const got = answer.body?.active
        ? { active: true, client_id: answer.body.client_id, tenant_id: answer.body.tenant_id, scope: answer.body.scope }
        : answer.body;
      return answer.status === 200 && JSON.stringify(got) === JSON.stringify(expected) ? [] : [{ i, status: answer.status, got, expected }];
    });
    expect(wrong).toEqual([]);

    // The store itself, with more than 500 reads in one turn (several MGETs in flight at once).
    const hashes = Array.from({ length: 1300 }, (_, i) => probes[(i * 104_729) % probes.length]!);
    const records = await Promise.all(hashes.map((probe) => keygate.runtime.tokens.find(hashToken(probe.token))));
    const mismatched = records.flatMap((record, i) => {
      const probe = hashes[i]!;
      const expected = probe.live ? probe.owner!.key.client_id : undefined;
      return record?.clientId === expected ? [] : [{ i, got: record?.clientId, expected }];
    });
    expect(mismatched).toEqual([]);
  });

  it('held: a token is never active after its revocation answered, whatever shares the batch', async () => {
    const owner = await keygate.createKey(tenants[0]!, { name: 'revoked in a crowd' });
    const bystander = await keygate.createKey(tenants[0]!, { name: 'bystander' });
    const bystanderToken = (await keygate.token(bystander)).body.access_token as string;
    const late: HttpResponse[] = [];
    for (let round = 0; round < 15; round += 1) {
      const token = (await keygate.token(owner)).body.access_token as string;
      // Introspections of the same token and of others race the revocation in the same turns.
      const racing = Array.from({ length: 20 }, (_, i) => introspect(introspectors[0]!, i % 2 ? token : bystanderToken));
      const revoked = await revoke(owner, token);
      expect(revoked.status).toBe(200);
      // Sent after the 200: batched with reads of other tokens still in flight.
      const after = await Promise.all([
        introspect(introspectors[0]!, token),
        introspect(introspectors[0]!, bystanderToken),
        introspect(introspectors[0]!, token),
      ]);
      late.push(after[0]!, after[2]!);
      expect(after[1]!.body.active).toBe(true);
      for (const answer of await Promise.all(racing)) expect(answer.status).toBe(200);
    }
    expect(late.map((answer) => answer.body)).toEqual(late.map(() => ({ active: false })));
  });
});

describe('attack review 4: a token store batch that fails', () => {
  let redis: OwnRedis;
  let keygate: FaultKeygate;
  let introspector: CreatedKey;
  let owners: CreatedKey[];
  let tokens: string[];

  beforeAll(async () => {
    redis = await startOwnRedis(inject('redisServerPath')!);
    keygate = await startFaultKeygate({ databaseUrl: inject('databaseUrl'), redisUrl: redis.url });
    const tenantId = (await keygate.runtime.tenants.insert({ name: 'mget fault tenant' })).id;
    introspector = await keygate.createKey(tenantId, { name: 'resource server', scopes: ['token:introspect'] });
    owners = await Promise.all(Array.from({ length: 5 }, (_, i) => keygate.createKey(tenantId, { name: `owner ${i}` })));
    tokens = [];
    for (const owner of owners) for (let i = 0; i < 4; i += 1) tokens.push((await keygate.token(owner)).body.access_token as string);
  });
  afterAll(async () => {
    await keygate?.close();
    await redis?.stop('SIGTERM');
  });

  /** The token's own answer: active for its own key, or (while Redis is down) a 503 — never inactive, never a 500. */
  const honest = (answer: HttpResponse, index: number) =>
    (answer.status === 200 && answer.body.active === true && answer.body.client_id === owners[Math.floor(index / 4)]!.key.client_id)
    || (answer.status === 503 && JSON.stringify(answer.body) === JSON.stringify(UNAVAILABLE_OAUTH));

  it('held: reads batched while Redis is stopped answer correctly once it resumes', async () => {
    const pid = redis.pid!;
    process.kill(pid, 'SIGSTOP');
    let answers: HttpResponse[];
    try {
      const pending = Promise.all(Array.from({ length: 100 }, (_, i) => keygate.introspect(introspector, tokens[i % tokens.length]!)));
      await sleep(200);
      process.kill(pid, 'SIGCONT');
      answers = await pending;
    } finally {
      process.kill(pid, 'SIGCONT');
    }
    const wrong = answers.flatMap((answer, i) =>
      honest(answer, i % tokens.length) && answer.status === 200 ? [] : [{ i, status: answer.status, body: answer.body }],
    );
    expect(wrong).toEqual([]);
  });

  it('held: Redis killed while batches are out: every read is its own answer or a 503, never inactive or a 500', async () => {
    const answers = Promise.all(Array.from({ length: 300 }, (_, i) => keygate.introspect(introspector, tokens[i % tokens.length]!)));
    await sleep(5);
    await redis.stop('SIGKILL');
    const settled = await answers;
    const wrong = settled.flatMap((answer, i) => (honest(answer, i % tokens.length) ? [] : [{ i, status: answer.status, body: answer.body }]));
    expect(wrong).toEqual([]);
    expect(keygate.unhandledErrors()).toEqual([]);
  });
});

describe('attack review 4: cold key lookups with two queries out', () => {
  let a: TestKeygate;
  let b: TestKeygate;
  let tenantId: string;

  beforeAll(async () => {
    a = await startKeygate({ tokenStore: 'redis' });
    b = await startKeygate({ tokenStore: 'redis' });
    tenantId = await a.newTenant();
  });
  afterAll(async () => {
    await a?.close();
    await b?.close();
  });

  it('held: a key disabled through A during a cold lookup storm on B is refused by B at once and stays refused', async () => {
    const admin = await adminClient(a, tenantId);
    const crowd = await Promise.all(Array.from({ length: 40 }, (_, i) => b.createKey(tenantId, { name: `crowd ${i}` })));
    for (let round = 0; round < 4; round += 1) {
      const victim = await a.createKey(tenantId, { name: `victim ${round}` });
      const victimToken = (await b.token(victim)).body.access_token as string;
      b.afterDirectWrite(); // B is cold: every lookup below misses and waits for a batch
      const storm = Promise.all([...crowd.flatMap((key) => [b.token(key), b.token(key)]), ...Array.from({ length: 10 }, () => b.token(victim))]);
      // Disabled through A while B's lookups are queued behind the queries already out.
      await sleep(round * 3);
      expect((await admin.post(`/keys/${victim.key.client_id}/disable`)).status).toBeLessThan(300);
      const answers = await storm;
      expect(answers.slice(0, crowd.length * 2).map((r) => r.status)).toEqual(Array(crowd.length * 2).fill(200));
      // The change feed reaches B within a second; after that B never serves the key from a stale load.
      const started = Date.now();
      while ((await b.token(victim)).status !== 401) {
        expect(Date.now() - started).toBeLessThan(1000);
        await sleep(10);
      }
      const again = await Promise.all(Array.from({ length: 10 }, () => b.token(victim)));
      expect(again.map((r) => r.status)).toEqual(Array(10).fill(401));
      const rsOnB = await b.createKey(tenantId, { name: `rs ${round}`, scopes: ['token:introspect'] });
      expect((await b.introspect(rsOnB, victimToken)).body).toEqual({ active: false });
    }
  });
});

describe('attack review 4: a failed or stalled key query', () => {
  let postgres: OwnPostgres;
  let keygate: FaultKeygate;
  let keys: CreatedKey[];
  let locker: pg.Client;
  let observer: pg.Client;

  beforeAll(async () => {
    postgres = await startOwnPostgres();
    keygate = await startFaultKeygate({ databaseUrl: postgres.url, redisUrl: inject('redisUrl')! });
    const tenantId = (await keygate.runtime.tenants.insert({ name: 'lookup fault tenant' })).id;
    keys = await Promise.all(Array.from({ length: 30 }, (_, i) => keygate.createKey(tenantId, { name: `cold ${i}` })));
    locker = new pg.Client({ connectionString: postgres.url });
    observer = new pg.Client({ connectionString: postgres.url });
    await locker.connect();
    await observer.connect();
  }, 120_000);
  afterAll(async () => {
    await locker?.end().catch(() => {});
    await observer?.end().catch(() => {});
    await keygate?.close();
    await postgres?.destroy();
  });

  /** Keygate's key lookups waiting on the lock, by backend pid. */
  /**
   * Sends token requests for `batch` keys at a time until `count` lookup queries wait on the lock
   * (one turn's lookups share a query, so later requests make the next one); returns the answers
   * to come and the blocked backends.
   */
  async function blockLookups(of: CreatedKey[], count: number): Promise<{ answers: Promise<HttpResponse>[]; blocked: number[] }> {
    const answers: Promise<HttpResponse>[] = [];
    let blocked: number[] = [];
    for (let sent = 0; blocked.length < count; ) {
      if (sent < of.length) {
        answers.push(...of.slice(sent, sent + 5).map((key) => keygate.token(key)));
        sent += 5;
      }
      for (let tries = 0; tries < 100; tries += 1) {
        await sleep(10);
        const now = await blockedLookups();
        if (now.length > blocked.length) {
          blocked = now;
          break;
        }
      }
      if (sent >= of.length && blocked.length < count) break;
    }
    return { answers: [...answers, ...of.slice(answers.length).map((key) => keygate.token(key))], blocked };
  }

  async function blockedLookups(): Promise<number[]> {
    const { rows } = await observer.query<{ pid: number }>(
      'select pid from pg_stat_activity where wait_event_type = \'Lock\' and query like \'select "k"."client_id", "k"."tenant_id"%\' and pid <> pg_backend_pid()',
    );
    return rows.map((row) => row.pid);
  }

  it('held: lookups in a query that fails answer 503, later lookups are not wedged, and no more than two queries are out', async () => {
    keygate.runtime.forgetKeys('*');
    await locker.query('begin');
    await locker.query('lock table tenants in access exclusive mode');
    let answers: Promise<HttpResponse[]>;
    let blockedMost = 0;
    try {
      // Two lookup queries get stuck on the lock; every other lookup waits behind them.
      const started = await blockLookups(keys, 2);
      answers = Promise.all(started.answers);
      const { blocked } = started;
      expect(blocked.length).toBe(2);
      // A few turns later still two: the waiting lookups did not start queries of their own.
      await sleep(50);
      blockedMost = (await blockedLookups()).length;
      // Their connections are killed: those queries fail, and the next ones start (and block).
      await observer.query('select pg_terminate_backend(pid) from unnest($1::int[]) as pid', [blocked]);
      for (let tries = 0; tries < 200; tries += 1) {
        const now = await blockedLookups();
        if (now.length > 0 && now.every((pid) => !blocked.includes(pid))) break;
        await sleep(10);
      }
    } finally {
      await locker.query('rollback');
    }
    const settled = await answers;
    expect(blockedMost).toBe(2);
    const statuses = settled.map((r) => r.status);
    expect(statuses.filter((s) => s !== 200 && s !== 503)).toEqual([]);
    expect(statuses).toContain(503);
    for (const answer of settled.filter((r) => r.status === 503)) expect(answer.body).toEqual(UNAVAILABLE_OAUTH);
    // Nothing wedged: every key is served again.
    const later = await Promise.all(keys.map((key) => keygate.token(key)));
    expect(later.map((r) => r.status)).toEqual(Array(keys.length).fill(200));
    expect(keygate.unhandledErrors()).toEqual([]);
  });

  /**
   * Postgres stalls the two lookup queries that are out (a backend stuck on I/O, a connection
   * whose peer vanished without a reset: the pool has no query timeout), while every other part
   * of it answers. `during` runs while they are stalled; its result is returned once they resume
   * and the requests waiting on them are answered.
   */
  async function whileTwoLookupsStall<T>(during: () => Promise<T>): Promise<T> {
    await locker.query('begin');
    await locker.query('lock table tenants in access exclusive mode');
    let stalled: number[] = [];
    let first: Promise<PromiseSettledResult<HttpResponse>[]>;
    try {
      const started = await blockLookups(keys.slice(0, 10), 2);
      first = Promise.allSettled(started.answers);
      stalled = started.blocked;
      expect(stalled.length).toBeGreaterThanOrEqual(2);
      for (const pid of stalled) process.kill(pid, 'SIGSTOP');
    } finally {
      await locker.query('rollback');
    }
    let result: T;
    try {
      expect((await keygate.send({ method: 'GET', path: '/readyz' })).status).toBe(200); // Postgres answers everything else
      result = await during();
    } finally {
      for (const pid of stalled) process.kill(pid, 'SIGCONT');
    }
    expect((await first).map((r) => (r.status === 'fulfilled' ? r.value.status : String(r.reason)))).toEqual(Array(10).fill(200));
    return result;
  }

  /** A token for `key`; the cap only ends the test (a lookup with a query of its own is answered at once). */
  const tokenOrTimeout = (key: CreatedKey) =>
    keygate
      .send(
        { path: '/oauth/token', headers: { authorization: basicAuth(key.key.client_id, key.client_secret) }, form: { grant_type: 'client_credentials' } },
        5000,
      )
      .then((answer) => answer.status)
      .catch((error: Error) => error.message);

  it('H1: two stalled key lookup queries must not stall the cold lookups of every other key', async () => {
    keygate.runtime.forgetKeys('*');
    expect(await whileTwoLookupsStall(() => tokenOrTimeout(keys[20]!))).toBe(200);
  });

  it('H1 (while the change feed is down): two stalled lookup queries must not stall keys the cache held', async () => {
    keygate.runtime.forgetKeys('*');
    expect(await tokenOrTimeout(keys[25]!)).toBe(200); // in the cache from now on
    const status = await whileTwoLookupsStall(async () => {
      // The feed's connection drops: until it reconnects, every lookup bypasses the cache.
      // (Its last statement is a LISTEN or its heartbeat; nothing else here sends a bare `select 1`.)
      const { rows } = await observer.query<{ pid: number }>(
        "select pid from pg_stat_activity where query in ('listen keygate_key_changes', 'listen keygate_last_use', 'select 1') and pid <> pg_backend_pid()",
      );
      expect(rows.length).toBe(1);
      await observer.query('select pg_terminate_backend($1)', [rows[0]!.pid]);
      await sleep(50);
      return tokenOrTimeout(keys[25]!);
    });
    expect(status).toBe(200);
  });
});

interface Answer {
  status: number | undefined;
  connection: string | undefined;
  body: string;
}

interface Probe {
  method: string;
  path: string;
  headers?: Record<string, string>;
  body?: string;
  expectContinue?: boolean;
}

/** One request on a keep-alive agent (plain or TLS), answered in full. */
function request(agent: http.Agent, port: number, secure: boolean, options: Probe): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string> = { ...options.headers };
    if (options.body !== undefined) headers['content-length'] = String(Buffer.byteLength(options.body));
    if (options.expectContinue) headers.expect = '100-continue';
    const req = (secure ? https : http).request({
      host: '127.0.0.1',
      port,
      method: options.method,
      path: options.path,
      headers,
      agent,
      rejectUnauthorized: false,
    });
    req.once('error', reject);
    req.once('response', (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.once('end', () => resolve({ status: res.statusCode, connection: res.headers.connection, body: Buffer.concat(chunks).toString('utf8') }));
    });
    if (options.expectContinue) req.once('continue', () => req.end(options.body));
    else req.end(options.body);
  });
}

describe('attack review 4: draining on every kind of route, plain and TLS', () => {
  let dir: string;
  let keygate: TestKeygate | undefined;

  beforeAll(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'keygate-attack4-'));
    makeCertificates(dir);
  });
  afterAll(async () => {
    await keygate?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('held: after draining began, every response on a kept-alive socket is whole, keeps its status and says Connection: close', async () => {
    keygate = await startKeygateWithTls(dir);
    const tenantId = await keygate.newTenant();
    const key = await keygate.createKey(tenantId, { name: 'drained' });
    const rs = await keygate.createKey(tenantId, { name: 'rs', scopes: ['token:introspect'] });
    const adminKey = await keygate.createKey(tenantId, { name: 'admin', scopes: ALL_ADMIN_SCOPES });
    const adminToken = (await keygate.token(adminKey)).body.access_token as string;
    const consoleEtag = (await keygate.send({ method: 'GET', path: '/console/' })).headers.etag!;
    const form = 'application/x-www-form-urlencoded';
    const tokenOf = async () => (await keygate!.token(key)).body.access_token as string;
    const probes = async (): Promise<Probe[]> => [
      { method: 'GET', path: '/.well-known/oauth-authorization-server' },
      { method: 'GET', path: '/healthz' },
      { method: 'GET', path: '/console/', headers: { 'if-none-match': consoleEtag } },
      { method: 'GET', path: '/admin/v1/keys', headers: { authorization: `Bearer ${adminToken}` } },
      { method: 'GET', path: '/admin/v1/keys', headers: { authorization: 'Bearer nope' } },
      {
        method: 'POST',
        path: '/oauth/token',
        headers: { authorization: basicAuth(key.key.client_id, 'wrong'), 'content-type': form },
        body: 'grant_type=client_credentials',
      },
      {
        method: 'POST',
        path: '/oauth/token',
        headers: { authorization: basicAuth(key.key.client_id, key.client_secret), 'content-type': form },
        body: 'grant_type=client_credentials',
      },
      {
        method: 'POST',
        path: '/oauth/token',
        headers: { authorization: basicAuth(key.key.client_id, key.client_secret), 'content-type': form },
        body: 'grant_type=client_credentials',
        expectContinue: true,
      },
      {
        method: 'POST',
        path: '/oauth/introspect',
        headers: { authorization: basicAuth(rs.key.client_id, rs.client_secret), 'content-type': form },
        body: `token=${await tokenOf()}`,
      },
      {
        method: 'POST',
        path: '/oauth/revoke',
        headers: { authorization: basicAuth(key.key.client_id, key.client_secret), 'content-type': form },
        body: `token=${await tokenOf()}`,
      },
      { method: 'POST', path: '/oauth/introspect', headers: { 'content-type': 'text/plain' }, body: 'x' },
    ];
    const expectedStatus = [200, 200, 304, 200, 401, 401, 200, 200, 200, 200, 400];
    const plainAgent = new http.Agent({ keepAlive: true });
    const tlsAgent = new https.Agent({ keepAlive: true, rejectUnauthorized: false });
    const { port, tlsPort } = keygate;
    const round = async (list: Probe[]) =>
      Promise.all([...list.map((probe) => request(plainAgent, port, false, probe)), ...list.map((probe) => request(tlsAgent, tlsPort!, true, probe))]);
    try {
      const before = await round(await probes());
      expect(before.map((a) => a.status)).toEqual([...expectedStatus, ...expectedStatus]);
      expect(before.map((a) => a.connection)).toEqual(before.map(() => 'keep-alive'));
      // Each agent now holds an idle socket per probe; the next round reuses them after draining began.
      const list = await probes();
      const closing = keygate.close();
      keygate = undefined;
      const after = await round(list);
      await closing;
      expect(after.map((a) => a.status)).toEqual([...expectedStatus, ...expectedStatus]);
      expect(after.map((a) => a.connection)).toEqual(after.map(() => 'close'));
      for (const i of [6, 7]) expect(JSON.parse(after[i]!.body).access_token).toMatch(/^[A-Za-z0-9_-]{43}$/);
      expect(JSON.parse(after[8]!.body).active).toBe(true);
    } finally {
      plainAgent.destroy();
      tlsAgent.destroy();
    }
  });
});

describe('attack review 4: pipelined requests when draining begins', () => {
  it('H2: requests already on the wire, pipelined on one kept-alive connection, are all answered before it closes', async () => {
    const keygate = await startKeygate({ tokenStore: 'redis' });
    const socket = net.connect(keygate.port, '127.0.0.1');
    let text = '';
    socket.on('data', (chunk: Buffer) => {
      text += chunk.toString('utf8');
    });
    const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
    try {
      await new Promise<void>((resolve, reject) => socket.once('connect', resolve).once('error', reject));
      // A kept-alive connection in use before draining.
      socket.write('GET /healthz HTTP/1.1\r\nHost: keygate\r\n\r\n');
      while (!text.includes('\r\n\r\n')) await sleep(5);
      // Three requests in one write (RFC 9112 §9.3.2 pipelining), then draining begins.
      socket.write(['/healthz', '/readyz', '/healthz'].map((target) => `GET ${target} HTTP/1.1\r\nHost: keygate\r\n\r\n`).join(''));
      await keygate.close();
      await closed;
    } finally {
      socket.destroy();
    }
    // The first answer, then one per pipelined request (the last may say Connection: close).
    expect(text.match(/HTTP\/1\.1 \d{3}/g)).toEqual(['HTTP/1.1 200', 'HTTP/1.1 200', 'HTTP/1.1 200', 'HTTP/1.1 200']);
  });
});

describe('attack review 4: odd requests on the token, introspection and revocation routes', () => {
  let keygate: TestKeygate;
  beforeAll(async () => {
    keygate = await startKeygate({ tokenStore: 'redis' });
  });
  afterAll(() => keygate?.close());

  it('held: odd bodies, encodings and headers are never a 5xx, and a legitimate introspection in the same turns is right', async () => {
    const tenantId = await keygate.newTenant();
    const key = await keygate.createKey(tenantId, { name: 'odd' });
    const rs = await keygate.createKey(tenantId, { name: 'rs', scopes: ['token:introspect'] });
    const token = (await keygate.token(key)).body.access_token as string;
    const untouched = (await keygate.token(key)).body.access_token as string;
    const rsAuth = basicAuth(rs.key.client_id, rs.client_secret);
    const bodies = [
      `token=%FF%FE`,
      `token=${token}&token=${token}`,
      `token[]=${token}`,
      `token=${'%00'.repeat(100)}`,
      Array.from({ length: 2000 }, (_, i) => `p${i}=1`).join('&') + `&token=${token}`,
      `token=${encodeURIComponent(token)}%20`,
      '',
      '&&&==&',
      `token=${token}&client_ip=::ffff:999.1.1.1`,
      `token=${token}&client_ip=${'1'.repeat(5000)}`,
      `token=${token}&token_type_hint=refresh_token`,
    ];
    const requests: Promise<HttpResponse>[] = [];
    for (const target of ['/oauth/introspect', '/oauth/revoke', '/oauth/token']) {
      for (const raw of bodies) {
        for (const contentType of [
          'application/x-www-form-urlencoded',
          'application/x-www-form-urlencoded; charset=iso-8859-1',
          'APPLICATION/X-WWW-FORM-URLENCODED',
          'application/json',
        ]) {
          requests.push(keygate.send({ path: target, headers: { authorization: rsAuth, 'content-type': contentType }, raw }));
        }
        requests.push(
          keygate.send({ path: target, headers: { authorization: rsAuth, 'content-type': 'application/x-www-form-urlencoded' }, raw, chunked: true }),
        );
      }
      requests.push(
        keygate.send({ path: target, headers: { authorization: 'Basic', 'content-type': 'application/x-www-form-urlencoded' }, raw: `token=${token}` }),
      );
      requests.push(
        keygate.send({ path: target, headers: { authorization: 'Basic Og==', 'content-type': 'application/x-www-form-urlencoded' }, raw: `token=${token}` }),
      );
      requests.push(
        keygate.send({
          path: target,
          headers: { authorization: `Basic ${'%'.repeat(40)}`, 'content-type': 'application/x-www-form-urlencoded' },
          raw: `token=${token}`,
        }),
      );
      requests.push(keygate.send({ method: 'GET', path: `${target}?token=${token}`, headers: { authorization: rsAuth } }));
    }
    const legit = Array.from({ length: 10 }, () => keygate.introspect(rs, untouched));
    const answers = await Promise.all(requests);
    const fivexx = answers.flatMap((answer, i) => (answer.status >= 500 ? [{ i, status: answer.status, text: answer.text }] : []));
    expect(fivexx).toEqual([]);
    for (const answer of await Promise.all(legit)) expect(answer.body).toMatchObject({ active: true, client_id: key.key.client_id });
    // A well-formed revocation above, by a resource server of the key's tenant, ended the token.
    expect((await keygate.introspect(rs, token)).body).toEqual({ active: false });
  });
});
