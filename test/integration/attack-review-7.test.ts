// Attacker's review 7: /readyz now waits for the key cache's first pass (`key_cache: warming`,
// key-cache-warmer.ts), and last use is rewritten from the same address only after ten minutes,
// in each replica's memory (usage.ts, recent-writes.ts) and in the SQL check (key-last-use.ts).
// Attacked: hiding a leaked key's use from another address behind the window (interleaved with
// the owner's use on one replica and across two replicas, X-Forwarded-For with no trusted proxy,
// IPv4-mapped forms), denied requests moving last use, a key disabled or deleted while a replica
// warms, /readyz flapping or leaking, and RecentWrites' memory under rotating addresses. Over real
// HTTP, Postgres and Redis; each test asserts the SECURE behaviour, so a hole makes it fail. Tests
// named `held` passed on the code under review. `H1` failed on it and is fixed (a sighting waiting
// to be written gives way to a newer one); `H2` failed on it (a replica kept its own write from
// an address as current for the whole ten minutes) and is now bounded to a minute: each replica
// asks the database again after a minute, and only the database's check spans ten.
// The readiness tests lock tables only in their OWN Postgres, never the run's shared one.
import { sql } from 'kysely';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, inject, it, vi } from 'vitest';
import { generateClientSecret } from '../../src/crypto/credentials.ts';
import { createKeyCache } from '../../src/keys/key-cache.ts';
import type { KeySnapshot } from '../../src/keys/model.ts';
import { RecentWrites } from '../../src/keys/recent-writes.ts';
import type { CreatedKey } from '../../src/keys/types.ts';
import { createUsageRecorder } from '../../src/keys/usage.ts';
import { connectDatabase } from '../../src/stores/db.ts';
import type { KeyUsage } from '../../src/stores/key-last-use.ts';
import { pollUntil, sleep, startFaultKeygate, startOwnPostgres, type FaultKeygate, type OwnPostgres } from '../support/faults.ts';
import { basicAuth } from '../support/http.ts';
import { startKeygate, type TestKeygate } from '../support/keygate.ts';
import { waitFor } from '../support/processes.ts';

const TEST_ACTOR = { keyId: null, userId: null, via: 'test' } as const;
const READY = { status: 'ready', checks: { postgres: 'ok', tokens: 'ok', key_cache: 'ok' } };
const WARMING = { status: 'not_ready', checks: { postgres: 'ok', tokens: 'ok', key_cache: 'warming' } };

describe('attacker review 7: readiness after the key cache pass, ten-minute last-use window', () => {
  let keygate: TestKeygate;
  let other: TestKeygate;
  let tenantId: string;
  let resourceServer: CreatedKey;
  // The readiness attacks: a replica over a Postgres of this suite's own, and one starting on it.
  let postgres: OwnPostgres;
  let first: FaultKeygate;
  let starting: FaultKeygate | undefined;
  let keys: { disabled: CreatedKey; deleted: CreatedKey; kept: CreatedKey };

  beforeAll(async () => {
    keygate = await startKeygate({ tokenStore: 'redis' });
    other = await startKeygate({ tokenStore: 'redis' });
    tenantId = await keygate.newTenant();
    resourceServer = await keygate.createKey(tenantId, { name: 'resource server', scopes: ['token:introspect'] });
    postgres = await startOwnPostgres();
    first = await startFaultKeygate({ databaseUrl: postgres.url, redisUrl: inject('redisUrl')! });
    const ownTenant = (await first.runtime.tenants.insert({ name: 'attack review 7' })).id;
    keys = {
      disabled: await first.createKey(ownTenant, { name: 'disabled while warming' }),
      deleted: await first.createKey(ownTenant, { name: 'deleted while warming' }),
      kept: await first.createKey(ownTenant, { name: 'kept' }),
    };
  }, 120_000);
  afterAll(async () => {
    await starting?.close();
    await first?.close();
    await postgres?.destroy();
    await other?.close();
    await keygate?.close();
  });

  const lastUse = async (key: CreatedKey) => {
    const row = (await keygate.runtime.keys.find(key.key.client_id))!;
    return { at: row.last_used_at?.getTime() ?? null, ip: row.last_used_ip };
  };
  const verify = (key: CreatedKey, clientIp: string, secret = key.client_secret) =>
    keygate.send({
      path: '/v1/keys/verify',
      headers: { authorization: basicAuth(resourceServer.key.client_id, resourceServer.client_secret) },
      json: { client_id: key.key.client_id, client_secret: secret, client_ip: clientIp },
    });

  /**
   * Waits until the replica's periodic flush has just run, so the next few seconds hold no flush
   * but the test's own (a periodic one between two requests would split what is pending).
   */
  async function justAfterPeriodicFlush() {
    const probe = await keygate.createKey(tenantId, { name: 'flush probe' });
    expect((await keygate.token(probe)).status).toBe(200);
    await waitFor(async () => (await lastUse(probe)).at !== null, 10_000, 'a periodic usage flush');
  }

  it('held: X-Forwarded-For naming the owner address, with no trusted proxy, records the attacker socket address', async () => {
    const key = await keygate.createKey(tenantId);
    expect((await keygate.token(key, { from: '127.0.0.5' })).status).toBe(200);
    await keygate.runtime.usage.flush();
    const owner = await lastUse(key);
    expect(owner.ip).toBe('127.0.0.5');

    const before = Date.now();
    const forged = await keygate.send({
      path: '/oauth/token',
      headers: { authorization: basicAuth(key.key.client_id, key.client_secret), 'x-forwarded-for': '127.0.0.5' },
      form: { grant_type: 'client_credentials' },
      from: '127.0.0.66',
    });
    expect(forged.status).toBe(200);
    await keygate.runtime.usage.flush();
    const used = await lastUse(key);
    expect(used.ip).toBe('127.0.0.66');
    expect(used.at!).toBeGreaterThanOrEqual(before);
  });

  it('held: one replica, owner and attacker taking turns flush by flush: the attacker address is on record after each of its flushes', async () => {
    const key = await keygate.createKey(tenantId);
    for (let round = 0; round < 4; round++) {
      expect((await keygate.token(key, { from: '127.0.0.5' })).status).toBe(200);
      await keygate.runtime.usage.flush();
      expect((await lastUse(key)).ip).toBe('127.0.0.5');
      const before = Date.now();
      expect((await keygate.token(key, { from: '127.0.0.66' })).status).toBe(200);
      await keygate.runtime.usage.flush();
      const used = await lastUse(key);
      expect(used.ip).toBe('127.0.0.66');
      expect(used.at!).toBeGreaterThanOrEqual(before);
    }
  });

  it("H1 (fixed): one replica, the attacker's use after the owner's within one flush is on record (a waiting sighting gives way to a newer one)", async () => {
    const key = await keygate.createKey(tenantId);
    expect((await keygate.token(key, { from: '127.0.0.66' })).status).toBe(200); // the attacker's first use
    await keygate.runtime.usage.flush();
    const attackers = await lastUse(key);
    expect(attackers.ip).toBe('127.0.0.66');

    await justAfterPeriodicFlush();
    const ownersFrom = Date.now();
    expect((await keygate.token(key, { from: '127.0.0.5' })).status).toBe(200); // the owner
    expect((await keygate.token(key, { from: '127.0.0.66' })).status).toBe(200); // the attacker again, last
    await keygate.runtime.usage.flush();
    // The newest use was the attacker's: the record names its address, never the owner's. Its
    // time is the attacker's recorded one (the same address within ten minutes is not rewritten).
    expect(await lastUse(key)).toEqual(attackers);
    expect(attackers.at!).toBeLessThan(ownersFrom);
  });

  it("H2 (bounded): two replicas, the attacker's connection on one and the owner's on the other: the attacker's address is back on record within a minute", async () => {
    // Two recorders as two replicas would run them, over the real key store; only Date is faked,
    // so the minute passes at once while Postgres answers for real.
    const key = await keygate.createKey(tenantId);
    const silent = pino({ level: 'silent' });
    const replica1 = createUsageRecorder(keygate.runtime.keys, silent, { intervalMs: 3_600_000 });
    const replica2 = createUsageRecorder(keygate.runtime.keys, silent, { intervalMs: 3_600_000 });
    vi.useFakeTimers({ toFake: ['Date'] });
    try {
      const start = Date.now();
      replica1.seen(key.key.client_id, '127.0.0.66'); // the attacker
      await replica1.flush();
      expect((await lastUse(key)).ip).toBe('127.0.0.66');

      vi.setSystemTime(start + 1000);
      replica2.seen(key.key.client_id, '127.0.0.5'); // the owner
      await replica2.flush();
      expect((await lastUse(key)).ip).toBe('127.0.0.5');

      // Replica 1 sent this key from this address a second ago and does not ask again yet: the
      // attacker's use stays behind the owner's for at most the recheck minute.
      vi.setSystemTime(start + 2000);
      replica1.seen(key.key.client_id, '127.0.0.66');
      await replica1.flush();
      expect((await lastUse(key)).ip).toBe('127.0.0.5');

      vi.setSystemTime(start + 61_000);
      replica1.seen(key.key.client_id, '127.0.0.66');
      await replica1.flush();
      expect(await lastUse(key)).toEqual({ at: start + 61_000, ip: '127.0.0.66' });
    } finally {
      vi.useRealTimers();
      await replica1.close();
      await replica2.close();
    }
  });

  it('held: IPv4-mapped and IPv4-compatible forms: the same address is one address, another one is written', async () => {
    const key = await keygate.createKey(tenantId);
    expect((await verify(key, '203.0.113.5')).body.valid).toBe(true);
    await keygate.runtime.usage.flush();
    const owner = await lastUse(key);
    expect(owner.ip).toBe('203.0.113.5');

    // The owner's own address in its mapped form: not news, and never recorded in a second spelling.
    expect((await verify(key, '::ffff:203.0.113.5')).body.valid).toBe(true);
    await keygate.runtime.usage.flush();
    expect(await lastUse(key)).toEqual(owner);

    // The attacker's address in mapped form is a new address, recorded in its canonical form.
    let before = Date.now();
    expect((await verify(key, '::ffff:203.0.113.66')).body.valid).toBe(true);
    await keygate.runtime.usage.flush();
    let used = await lastUse(key);
    expect(used.ip).toBe('203.0.113.66');
    expect(used.at!).toBeGreaterThanOrEqual(before);

    // An IPv4-compatible address (`::a.b.c.d`) is an IPv6 address of its own: new, written.
    before = Date.now();
    expect((await verify(key, '::203.0.113.5')).body.valid).toBe(true);
    await keygate.runtime.usage.flush();
    used = await lastUse(key);
    expect(used.ip).toBe('::cb00:7105');
    expect(used.at!).toBeGreaterThanOrEqual(before);

    // IPv6 loopback is not IPv4 loopback.
    expect((await keygate.token(key, { from: '127.0.0.1' })).status).toBe(200);
    await keygate.runtime.usage.flush();
    expect((await lastUse(key)).ip).toBe('127.0.0.1');
    expect((await keygate.token(key, { from: '::1' })).status).toBe(200);
    await keygate.runtime.usage.flush();
    expect((await lastUse(key)).ip).toBe('::1');
  });

  it('held: denied requests from a new address (wrong secret, wrong network, disabled key) never write or move last use', async () => {
    const key = await keygate.createKey(tenantId, { networks: ['127.0.0.5/32', '203.0.113.5/32'] });
    expect((await keygate.token(key, { from: '127.0.0.5' })).status).toBe(200);
    await keygate.runtime.usage.flush();
    const owner = await lastUse(key);
    expect(owner.ip).toBe('127.0.0.5');

    const wrong = { ...key, client_secret: generateClientSecret() };
    const statuses = [
      (await keygate.token(wrong, { from: '127.0.0.66' })).status, // secret_mismatch
      (await keygate.token(key, { from: '127.0.0.66' })).status, // ip_not_allowed, the secret right
      (await other.token(key, { from: '127.0.0.66' })).status, // the same on the other replica
    ];
    expect(statuses).toEqual([401, 401, 401]);
    expect((await verify(key, '203.0.113.66')).body).toEqual({ valid: false, code: 'ip_not_allowed' });
    expect((await verify(key, '203.0.113.5', wrong.client_secret)).body).toEqual({ valid: false, code: 'invalid_key' });
    await keygate.runtime.usage.flush();
    await other.runtime.usage.flush();
    expect(await lastUse(key)).toEqual(owner);

    await keygate.runtime.keyService.setStatus(key.key.client_id, 'disabled', TEST_ACTOR);
    // The other replica hears of it through the change feed, milliseconds later (by design).
    const heard = async () => (await other.runtime.findKey(key.key.client_id))?.status === 'disabled';
    await waitFor(heard, 2000, 'the disable on the other replica');
    expect((await keygate.token(key, { from: '127.0.0.5' })).status).toBe(401);
    expect((await other.token(key, { from: '127.0.0.5' })).status).toBe(401);
    expect((await verify(key, '203.0.113.5')).body.valid).toBe(false);
    await keygate.runtime.usage.flush();
    await other.runtime.usage.flush();
    expect(await lastUse(key)).toEqual(owner);
  });

  it('held: a pending sighting is not replaced by a denied request in the same flush window', async () => {
    const key = await keygate.createKey(tenantId);
    const before = Date.now();
    expect((await keygate.token(key, { from: '127.0.0.66' })).status).toBe(200);
    expect((await keygate.token({ ...key, client_secret: generateClientSecret() }, { from: '127.0.0.5' })).status).toBe(401);
    await keygate.runtime.usage.flush();
    const used = await lastUse(key);
    expect(used.ip).toBe('127.0.0.66');
    expect(used.at!).toBeGreaterThanOrEqual(before);
  });

  it('held: rotating addresses on thousands of keys for 20 minutes: every flush writes the new addresses, and recent writes stay bounded', async () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    const forget = vi.spyOn(RecentWrites.prototype, 'forgetOlderThan');
    try {
      const batches: KeyUsage[][] = [];
      const usage = createUsageRecorder(
        {
          recordUsage: async (batch) => {
            batches.push([...batch]);
            return [];
          },
        },
        pino({ level: 'silent' }),
        {
          intervalMs: 3_600_000,
        },
      );
      const moving = 3000;
      usage.seen('steady', '10.0.0.1'); // written once, live for the whole window: pins the head
      await usage.flush();
      // This recorder's RecentWrites (the replicas' own recorders may flush meanwhile too).
      const written = (forget.mock.contexts as RecentWrites[]).find((w) => w.wroteRecently('steady', '10.0.0.1', Date.now(), 600_000))!;
      expect(written.size).toBe(1);
      let maxSlots = 0;
      for (let flush = 1; flush <= 240; flush++) {
        vi.setSystemTime(Date.now() + 5000);
        if (flush % 60 === 0) usage.seen('steady', '10.0.0.1');
        // Every moving key from a new address each flush, and 50 keys never seen before.
        for (let i = 0; i < moving; i++) usage.seen(`moving-${i}`, `10.${flush % 256}.${i >> 8}.${i & 255}`);
        for (let i = 0; i < 50; i++) usage.seen(`once-${flush}-${i}`, '10.0.0.9');
        batches.length = 0;
        await usage.flush();
        const batch = batches[0]!;
        expect(batch.filter((u) => u.clientId.startsWith('moving-'))).toHaveLength(moving);
        expect(batch.find((u) => u.clientId === 'moving-2999')?.ip).toBe(`10.${flush % 256}.11.183`);
        expect(written.size).toBeLessThanOrEqual(1 + moving + 50 * 121);
        expect(written.slots).toBeLessThanOrEqual(Math.max(1024, 2 * written.size) + moving + 50);
        maxSlots = Math.max(maxSlots, written.slots);
      }
      // 20 minutes of 3,050 writes a flush (732,000 in all) never held more than the window's keys twice over.
      expect(maxSlots).toBeLessThan(2 * (1 + moving + 50 * 121) + moving + 50);
      await usage.close();
    } finally {
      forget.mockRestore();
      vi.useRealTimers();
    }
  });

  it('held: RecentWrites under random rewrites with a pinned head stays within twice its live writes plus one batch', () => {
    const writes = new RecentWrites();
    let seed = 7;
    const random = () => {
      seed = (seed * 1_103_515_245 + 12_345) % 2_147_483_648;
      return seed / 2_147_483_648;
    };
    writes.record('pinned', 0, '10.0.0.1');
    for (let flush = 1; flush <= 300; flush++) {
      writes.forgetOlderThan(flush, 1000);
      const batch = Math.floor(random() * 4000);
      for (let i = 0; i < batch; i++) writes.record(`k-${Math.floor(random() * 5000)}`, flush, `10.1.${flush % 2}.${i % 250}`);
      expect(writes.size).toBeLessThanOrEqual(5001);
      expect(writes.slots).toBeLessThanOrEqual(Math.max(1024, 2 * writes.size) + batch);
    }
    expect(writes.wroteRecently('pinned', '10.0.0.1', 300, 1000)).toBe(true);
  });

  it('held: a page read before a key is disabled is not kept when the change arrives before or after it is inserted', async () => {
    const active = { clientId: 'kg_doomed', status: 'active' } as unknown as KeySnapshot;
    const disabled = { clientId: 'kg_doomed', status: 'disabled' } as unknown as KeySnapshot;
    let current = active;
    let releasePage!: () => void;
    const cache = createKeyCache({
      load: async () => current,
      loadPage: async (after) => {
        if (after !== undefined) return [];
        const page = [current]; // read now…
        await new Promise<void>((resolve) => (releasePage = resolve)); // …returned later
        return page;
      },
    });
    cache.setTrusted(true);
    // The page is read, the key is disabled (the feed's notification arrives), the page returns.
    let pass = cache.warm(1);
    await sleep(5);
    current = disabled;
    cache.invalidate('kg_doomed');
    releasePage();
    await pass;
    expect((await cache.get('kg_doomed'))?.status).toBe('disabled');

    // The page is read and inserted, then the key is disabled: the notification drops it.
    current = active;
    cache.invalidate('kg_doomed');
    pass = cache.warm(1);
    await sleep(5);
    releasePage();
    await pass;
    expect((await cache.get('kg_doomed'))?.status).toBe('active');
    current = disabled;
    cache.invalidate('kg_doomed');
    expect((await cache.get('kg_doomed'))?.status).toBe('disabled');
  });

  /** Holds `lock table <table> in access exclusive mode` in a transaction of its own until released. */
  async function holdLock(table: 'users' | 'api_keys') {
    const locker = connectDatabase(postgres.url, 1);
    let release!: () => void;
    const released = new Promise<void>((resolve) => (release = resolve));
    let locked!: (pid: number) => void;
    const lockTaken = new Promise<number>((resolve) => (locked = resolve));
    const holding = locker.transaction().execute(async (trx) => {
      await sql.raw(`lock table ${table} in access exclusive mode`).execute(trx);
      locked((await sql<{ pid: number }>`select pg_backend_pid() as pid`.execute(trx)).rows[0]!.pid);
      await released;
    });
    const pid = await lockTaken;
    return {
      pid,
      async release() {
        release();
        await holding;
        await locker.destroy();
      },
    };
  }
  const readyz = (replica: FaultKeygate, path = '/readyz') => replica.send({ method: 'GET', path });

  it('held: a key disabled or deleted while the replica warms is refused by it afterwards; /readyz tells only the fixed check states', async () => {
    // The pass joins users; disabling and deleting a key do not touch that table.
    const lock = await holdLock('users');
    try {
      starting = await startFaultKeygate({ databaseUrl: postgres.url, redisUrl: inject('redisUrl')! }, { awaitKeyCache: false });
      for (const path of ['/readyz', '/readyz?verbose=1&keys=1']) {
        const warming = await readyz(starting, path);
        expect({ status: warming.status, body: warming.body }).toEqual({ status: 503, body: WARMING });
      }
      const changes = Promise.all([
        first.runtime.keyService.setStatus(keys.disabled.key.client_id, 'disabled', TEST_ACTOR),
        first.runtime.keyService.delete(keys.deleted.key.client_id, TEST_ACTOR),
      ]);
      await Promise.race([changes, sleep(10_000).then(() => Promise.reject(new Error('the key changes waited for the lock')))]);
      const still = await readyz(starting);
      expect({ status: still.status, body: still.body }).toEqual({ status: 503, body: WARMING });
    } finally {
      await lock.release();
    }
    const { response } = await pollUntil(
      () => readyz(starting!),
      (r) => r.status === 200,
      10_000,
      'ready after the pass',
    );
    expect(response.body).toEqual(READY);
    for (const text of [response.text, (await readyz(starting, '/readyz?verbose=1')).text]) {
      for (const key of Object.values(keys)) {
        expect(text).not.toContain(key.key.client_id);
        expect(text).not.toContain(key.client_secret);
      }
    }

    for (let attempt = 0; attempt < 3; attempt++) {
      const refusedDisabled = await starting.token(keys.disabled);
      const refusedDeleted = await starting.token(keys.deleted);
      expect({ status: refusedDisabled.status, error: refusedDisabled.body?.error }).toEqual({ status: 401, error: 'invalid_client' });
      expect({ status: refusedDeleted.status, error: refusedDeleted.body?.error }).toEqual({ status: 401, error: 'invalid_client' });
      expect((await starting.token(keys.kept)).status).toBe(200);
      await sleep(100);
    }
  });

  it('held: a rewarm after the change feed reconnects, held back by a lock, never takes readiness back', async () => {
    expect((await readyz(starting!)).status).toBe(200);
    const lock = await holdLock('api_keys');
    const admin = connectDatabase(postgres.url, 1);
    try {
      // End the listening connections (their last statement is a LISTEN or the feed's heartbeat).
      const ended = await sql<{ pid: number }>`
        select pid from pg_stat_activity
        where datname = current_database() and pid <> pg_backend_pid() and pid <> ${lock.pid}
          and query in ('listen keygate_key_changes', 'listen keygate_last_use', 'select 1')
      `.execute(admin);
      expect(ended.rows.length).toBeGreaterThanOrEqual(1);
      for (const { pid } of ended.rows) await sql`select pg_terminate_backend(${pid}::int)`.execute(admin);
      // The feed reconnects and the new pass waits for the lock on api_keys.
      await waitFor(
        async () => {
          const waiting = await sql<{ n: number }>`
            select count(*)::int as n from pg_stat_activity
            where datname = current_database() and wait_event_type = 'Lock' and query like '%from "api_keys"%'
          `.execute(admin);
          return waiting.rows[0]!.n >= 1;
        },
        10_000,
        'a rewarm pass waiting for the lock',
      );
      const answers: unknown[] = [];
      for (let i = 0; i < 15; i++) {
        const answer = await readyz(starting!);
        answers.push({ status: answer.status, body: answer.body });
        await sleep(100);
      }
      expect(answers).toEqual(Array.from({ length: 15 }, () => ({ status: 200, body: READY })));
    } finally {
      await lock.release();
      await admin.destroy();
    }
    expect((await starting!.token(keys.kept)).status).toBe(200);
    expect((await starting!.token(keys.disabled)).status).toBe(401);
  });
});
