// Attacker's review 8: last use is announced on the change feed (pg_notify on keygate_last_use,
// key-last-use.ts); a replica that hears of another address for a key it remembers forgets it
// and sends a later sighting it had covered (usage.ts), and its memory lasts ten minutes while
// the feed is live, one minute while it is down, and is cleared when the feed comes back.
// Attacked: owner/attacker interleavings across two replicas and flushes (a write in flight,
// IPv6 and IPv4-mapped forms), the feed dropping and coming back, forged and malformed NOTIFY
// payloads, floods of announcements, payload size, and a replica's own announcements. Each test
// asserts the SECURE behaviour. `held` tests passed on the code under review. `F1` failed on it
// and is fixed: a replica remembered its own write even when the statement left the row alone
// because another replica had written a newer use from another address; no announcement
// corrected that memory, so the attacker's later uses through it stayed off the record for ten
// minutes (one before this change), and for good if the attacker stopped within them. The
// statement now returns such keys, and the replica does not remember them.
// Feed faults and forged payloads run on a Postgres of this suite's own, never the shared one.
import { sql } from 'kysely';
import pg from 'pg';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, inject, it, vi } from 'vitest';
import type { CreatedKey } from '../../src/keys/types.ts';
import { createUsageRecorder } from '../../src/keys/usage.ts';
import { connectDatabase, type Db } from '../../src/stores/db.ts';
import { LAST_USE_CHANNEL, parseLastUseWrites, type LastUseWrite } from '../../src/stores/key-changes.ts';
import { recordKeyUsage, type KeyUsage } from '../../src/stores/key-last-use.ts';
import { sleep, startFaultKeygate, startOwnPostgres, type FaultKeygate, type OwnPostgres } from '../support/faults.ts';
import { basicAuth, send } from '../support/http.ts';
import { startKeygate, type TestKeygate } from '../support/keygate.ts';
import { waitFor } from '../support/processes.ts';

const ATTACKER = '127.0.0.81';
const OWNER = '127.0.0.82';
const TEN_MINUTES = 10 * 60_000;
const silent = pino({ level: 'silent' });

type Recorded = { ip: string | null; atMs: number | null };
const rowOf = async (runtime: FaultKeygate['runtime'], key: CreatedKey): Promise<Recorded> => {
  const found = (await runtime.keys.find(key.key.client_id))!;
  return { ip: found.last_used_ip, atMs: found.last_used_at?.getTime() ?? null };
};
/** Every batch the replica's recorder sends, as it sends it (the real write still runs). */
const spyOnBatches = (runtime: FaultKeygate['runtime']) => {
  const batches: KeyUsage[][] = [];
  const original = runtime.keys.recordUsage.bind(runtime.keys);
  const spy = vi.spyOn(runtime.keys, 'recordUsage').mockImplementation((batch, within) => {
    batches.push([...batch]);
    return original(batch, within);
  });
  return { batches, sentOf: (key: CreatedKey) => batches.flat().filter((u) => u.clientId === key.key.client_id), restore: () => spy.mockRestore() };
};

describe('attacker review 8: two replicas over the shared Postgres', () => {
  let replicaA: TestKeygate;
  let replicaB: TestKeygate;
  let tenantId: string;
  let resourceServer: CreatedKey;

  beforeAll(async () => {
    replicaA = await startKeygate({ tokenStore: 'redis' });
    replicaB = await startKeygate({ tokenStore: 'redis' });
    tenantId = await replicaA.newTenant();
    resourceServer = await replicaA.createKey(tenantId, { name: 'resource server', scopes: ['token:introspect'] });
  });
  afterAll(async () => {
    await replicaB?.close();
    await replicaA?.close();
  });

  const lastUse = (key: CreatedKey) => rowOf(replicaA.runtime, key);
  const verify = async (replica: TestKeygate, key: CreatedKey, clientIp: string) => {
    const response = await replica.send({
      path: '/v1/keys/verify',
      headers: { authorization: basicAuth(resourceServer.key.client_id, resourceServer.client_secret) },
      json: { client_id: key.key.client_id, client_secret: key.client_secret, client_ip: clientIp },
    });
    expect(response.status).toBe(200);
  };
  /** Returns just after the replica's periodic flush ran: the next few seconds hold only the test's own flushes. */
  const justAfterPeriodicFlush = async (replica: TestKeygate) => {
    const probe = await replica.createKey(tenantId, { name: 'flush probe' });
    expect((await replica.token(probe)).status).toBe(200);
    await waitFor(async () => (await lastUse(probe)).atMs !== null, 10_000, 'a periodic usage flush');
  };

  it("F1 (fixed): the attacker's first use through A, flushed after the owner's newer use through B, must not leave A covering the attacker's next uses", async () => {
    const key = await replicaA.createKey(tenantId);
    await justAfterPeriodicFlush(replicaA);
    expect((await replicaA.token(key, { from: ATTACKER })).status).toBe(200); // waits on A
    await sleep(5);
    expect((await replicaB.token(key, { from: OWNER })).status).toBe(200); // newer, on B
    await replicaB.runtime.usage.flush();
    expect((await lastUse(key)).ip).toBe(OWNER);
    await sleep(200); // A hears B's announcement (A remembers nothing of the key yet)
    await replicaA.runtime.usage.flush(); // the older sighting: the statement leaves the row alone
    expect((await lastUse(key)).ip).toBe(OWNER);

    // Five minutes later (past the one minute that bounded this before the change), the attacker
    // again through A. Only Date is faked: the replicas run in this process, Postgres for real.
    const before = Date.now() + 5 * 60_000;
    vi.useFakeTimers({ toFake: ['Date'] });
    try {
      vi.setSystemTime(before);
      expect((await replicaA.token(key, { from: ATTACKER })).status).toBe(200); // the attacker, newest
      await replicaA.runtime.usage.flush();
      await sleep(200);
      await replicaA.runtime.usage.flush();
    } finally {
      vi.useRealTimers();
    }
    // Secure: the newest use, the attacker's, is on record. On the code under review A covers it
    // with its write that changed nothing, and the row names the owner for ten minutes.
    const recorded = await lastUse(key);
    expect(recorded.ip).toBe(ATTACKER);
    expect(recorded.atMs!).toBeGreaterThanOrEqual(before);
  });

  it('held: a use from the remembered address made while a write from another address is in flight is sent at the next flush', async () => {
    const key = await replicaA.createKey(tenantId);
    expect((await replicaA.token(key, { from: ATTACKER })).status).toBe(200);
    await replicaA.runtime.usage.flush();
    expect((await lastUse(key)).ip).toBe(ATTACKER);
    await justAfterPeriodicFlush(replicaA);
    expect((await replicaA.token(key, { from: OWNER })).status).toBe(200);

    let release!: () => void;
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    const original = replicaA.runtime.keys.recordUsage.bind(replicaA.runtime.keys);
    const spy = vi.spyOn(replicaA.runtime.keys, 'recordUsage').mockImplementationOnce(async (batch, within) => {
      await gate;
      return original(batch, within);
    });
    try {
      const inFlight = replicaA.runtime.usage.flush(); // the owner's sighting, held before Postgres
      await waitFor(async () => spy.mock.calls.length === 1, 2000, 'the flush in flight');
      const before = Date.now();
      expect((await replicaA.token(key, { from: ATTACKER })).status).toBe(200); // covered meanwhile
      const after = Date.now();
      release();
      await inFlight;
      expect((await lastUse(key)).ip).toBe(OWNER);
      await replicaA.runtime.usage.flush();
      const recorded = await lastUse(key);
      expect(recorded.ip).toBe(ATTACKER);
      expect(recorded.atMs!).toBeGreaterThanOrEqual(before);
      expect(recorded.atMs!).toBeLessThanOrEqual(after);
    } finally {
      spy.mockRestore();
    }
  });

  it('held: IPv6 and IPv4-mapped forms across replicas: the owner on B does not hide the attacker on A, and no form is re-sent as news', async () => {
    const key = await replicaA.createKey(tenantId);
    await verify(replicaA, key, '2001:0db8:0000:0000:0000:0000:0000:0042'); // the attacker, long form
    await replicaA.runtime.usage.flush();
    expect((await lastUse(key)).ip).toBe('2001:db8::42');
    await verify(replicaB, key, '::ffff:127.0.0.82'); // the owner, IPv4-mapped
    await replicaB.runtime.usage.flush();
    expect((await lastUse(key)).ip).toBe(OWNER);

    const before = Date.now();
    await waitFor(
      async () => {
        await verify(replicaA, key, '2001:db8:0:0::42'); // the attacker again, another form
        await replicaA.runtime.usage.flush();
        return (await lastUse(key)).ip === '2001:db8::42';
      },
      5000,
      "the attacker's IPv6 use on record",
    );
    expect((await lastUse(key)).atMs!).toBeGreaterThanOrEqual(before);

    // A has heard its own announcement by now: the same address in any form is no news to it.
    await sleep(200);
    const sent = spyOnBatches(replicaA.runtime);
    try {
      for (const form of ['2001:db8::42', '2001:DB8:0:0:0:0:0:42', '2001:db8:0000::0042']) await verify(replicaA, key, form);
      await replicaA.runtime.usage.flush();
      expect(sent.sentOf(key)).toEqual([]);
    } finally {
      sent.restore();
    }
  });

  it("held: a replica's own announcements do not make it send its keys again", async () => {
    const keys = await Promise.all(Array.from({ length: 30 }, () => replicaA.createKey(tenantId)));
    for (const key of keys) expect((await replicaA.token(key, { from: ATTACKER })).status).toBe(200);
    await replicaA.runtime.usage.flush();
    await sleep(300); // its own announcements arrive
    const sent = spyOnBatches(replicaA.runtime);
    try {
      for (const key of keys) expect((await replicaA.token(key, { from: ATTACKER })).status).toBe(200);
      await replicaA.runtime.usage.flush();
      await sleep(300);
      await replicaA.runtime.usage.flush();
      expect(keys.flatMap((key) => sent.sentOf(key))).toEqual([]);
    } finally {
      sent.restore();
    }
  });
});

describe('attacker review 8: a replica over a Postgres of its own (feed faults, forged announcements)', () => {
  let postgres: OwnPostgres;
  let replica: FaultKeygate;
  let db: Db; // another replica's statements, and an operator's SQL
  let notifier: pg.Client;
  let tenantId: string;

  beforeAll(async () => {
    postgres = await startOwnPostgres();
    replica = await startFaultKeygate({ databaseUrl: postgres.url, redisUrl: inject('redisUrl')! });
    tenantId = (await replica.runtime.tenants.insert({ name: 'attack review 8' })).id;
    db = connectDatabase(postgres.url, 2);
    notifier = new pg.Client({ connectionString: postgres.url });
    await notifier.connect();
  }, 120_000);
  afterAll(async () => {
    await notifier?.end();
    await db?.destroy();
    await replica?.close();
    await postgres?.destroy();
  });

  const lastUse = (key: CreatedKey) => rowOf(replica.runtime, key);
  const tokenFrom = async (key: CreatedKey, from: string) => {
    const response = await send(replica.port, {
      path: '/oauth/token',
      headers: { authorization: basicAuth(key.key.client_id, key.client_secret) },
      form: { grant_type: 'client_credentials' },
      from,
    });
    expect(response.status).toBe(200);
  };
  /** What the replica's recorder hears from its feed (liveness, announcements), passed on to it. */
  const tap = () => {
    const { usage } = replica.runtime;
    const [hearAnnouncements, writtenElsewhere] = [usage.hearAnnouncements, usage.writtenElsewhere];
    const live: boolean[] = [];
    const heard: LastUseWrite[] = [];
    usage.hearAnnouncements = (value) => void (live.push(value), hearAnnouncements(value));
    usage.writtenElsewhere = (writes) => void (heard.push(...writes), writtenElsewhere(writes));
    return { live, heard, restore: () => Object.assign(usage, { hearAnnouncements, writtenElsewhere }) };
  };

  it('held: a write missed while the feed was down does not hide the attacker: the memory is cleared when the feed comes back', async () => {
    const key = await replica.createKey(tenantId);
    // The feed reconnects half a second after it drops; on a busy machine the owner's write can
    // come later than that and be heard after all. Then the attack did not happen as intended:
    // put the attacker back on record and drop the feed again, until the owner's write is missed.
    // (The replica's own announcement of the attacker's write may still arrive late: harmless.)
    let missed = false;
    for (let attempt = 1; attempt <= 5 && !missed; attempt++) {
      await tokenFrom(key, ATTACKER);
      await replica.runtime.usage.flush();
      expect((await lastUse(key)).ip).toBe(ATTACKER);
      const { live, heard, restore } = tap();
      try {
        // Only the feed's connection: its last query is its LISTEN or its heartbeat.
        const { rows } = await sql<{ pid: number }>`
          select pg_terminate_backend(pid) as pid from pg_stat_activity
          where pid <> pg_backend_pid() and query in ('select 1', ${`listen ${LAST_USE_CHANNEL}`})`.execute(db);
        expect(rows.length).toBeGreaterThanOrEqual(1);
        await waitFor(async () => live.includes(false), 5000, 'the feed down');
        // Another replica writes the owner's newer use now: the announcement is lost to this one.
        await recordKeyUsage(db, [{ clientId: key.key.client_id, at: new Date(), ip: OWNER }], TEN_MINUTES);
        expect((await lastUse(key)).ip).toBe(OWNER);
        await waitFor(async () => live.at(-1) === true, 10_000, 'the feed back');
        missed = !heard.some((w) => w.clientId === key.key.client_id && w.ip === OWNER);
      } finally {
        restore();
      }
    }
    expect(missed).toBe(true);

    const before = Date.now();
    await tokenFrom(key, ATTACKER);
    await replica.runtime.usage.flush();
    const recorded = await lastUse(key);
    expect(recorded.ip).toBe(ATTACKER);
    expect(recorded.atMs!).toBeGreaterThanOrEqual(before);
  });

  it('held: forged and malformed announcements (spaces, "-", huge and negative times, floods) never crash the replica nor write an address or time it did not see', async () => {
    const key = await replica.createKey(tenantId);
    const firstSeen = Date.now();
    await tokenFrom(key, ATTACKER);
    await replica.runtime.usage.flush();
    const written = await lastUse(key);
    expect(written.ip).toBe(ATTACKER);
    const sent = spyOnBatches(replica.runtime);
    const { heard, restore } = tap();
    const id = key.key.client_id;
    const payloads = [
      ' ',
      '\n\n\n',
      id,
      `${id} `,
      `${id}  123`,
      `${id} - NaN`,
      `${id} - Infinity`,
      `${id} ${OWNER} 1e400`,
      `${id} ${'9'.repeat(400)} ${'9'.repeat(400)}`,
      `${id} - -1`, // forgets and re-sends the attacker's own sighting: harmless
      `${id} ${OWNER} 1e300`,
      `${id} ${OWNER} -1e308 extra fields`,
      `${id} ${ATTACKER} 9999999999999`,
      `${id}\t${OWNER}\t0`,
      ` ${OWNER} 1`,
      `- - -`,
      `${id} 0x10 0x10`,
      `\u{1F600} \u00e9 1\n${id} ::ffff:${ATTACKER} 0`,
      Array.from({ length: 200 }, (_, i) => `forged-${i} ${OWNER} ${Date.now() + i}`).join('\n'),
      `${'x'.repeat(7900)}`,
    ];
    for (const payload of payloads) await notifier.query('select pg_notify($1, $2)', [LAST_USE_CHANNEL, payload]);
    // A flood: 300 payloads of 100 lines naming keys this replica never saw.
    const flood = Array.from({ length: 100 }, (_, i) => `flood-${i.toString().padStart(4, '0')} 2001:db8::${i.toString(16)} ${Date.now()}`).join('\n');
    for (let i = 0; i < 300; i++) await notifier.query('select pg_notify($1, $2)', [LAST_USE_CHANNEL, flood]);
    await waitFor(async () => heard.filter((w) => w.clientId === 'flood-0099').length === 300, 5000, 'the flood heard');
    restore();
    await tokenFrom(key, ATTACKER);
    await replica.runtime.usage.flush();
    await sleep(200);
    await replica.runtime.usage.flush();
    sent.restore();
    expect(replica.unhandledErrors()).toEqual([]);
    // Only real sightings were ever sent: the attacker's address, at a time it was really seen.
    for (const usage of sent.batches.flat()) {
      expect(usage.clientId).toBe(id);
      expect(usage.ip).toBe(ATTACKER);
      expect(usage.at.getTime()).toBeGreaterThanOrEqual(firstSeen);
      expect(usage.at.getTime()).toBeLessThanOrEqual(Date.now());
    }
    // The row is the attacker's own write: the same address within ten minutes is not rewritten.
    expect(await lastUse(key)).toEqual(written);
  });

  it("held: the longest announced ids (200 bytes) with the longest IPv6 text stay under Postgres' 8,000-byte limit: the write succeeds and every row is announced", async () => {
    const template = await replica.createKey(tenantId, { name: 'long id template' });
    const prefix = `z${'l'.repeat(195)}`; // 196 + 4 digits = 200 bytes: the longest id still announced
    await sql`
      insert into api_keys
      select (jsonb_populate_record(null::api_keys, to_jsonb(k) || jsonb_build_object('client_id', ${prefix} || lpad(g::text, 4, '0')))).*
      from api_keys k, generate_series(1, 400) g where k.client_id = ${template.key.client_id}`.execute(db);
    const ids = Array.from({ length: 400 }, (_, i) => `${prefix}${String(i + 1).padStart(4, '0')}`);
    const ipOf = (i: number) => `ffff:ffff:ffff:ffff:ffff:ffff:ffff:${(0xf000 + i).toString(16)}`;
    const listener = new pg.Client({ connectionString: postgres.url });
    await listener.connect();
    const payloads: string[] = [];
    listener.on('notification', (message) => {
      if (message.channel === LAST_USE_CHANNEL && message.payload) payloads.push(message.payload);
    });
    try {
      await listener.query(`listen ${LAST_USE_CHANNEL}`);
      const at = new Date();
      await replica.runtime.keys.recordUsage(
        ids.map((clientId, i) => ({ clientId, at, ip: ipOf(i) })),
        TEN_MINUTES,
      );
      const announced = new Map<string, LastUseWrite>();
      await waitFor(
        async () => {
          for (const write of payloads.flatMap(parseLastUseWrites)) announced.set(write.clientId, write);
          return ids.every((clientId) => announced.has(clientId));
        },
        5000,
        'every long-id row announced',
      );
      for (const payload of payloads) expect(Buffer.byteLength(payload)).toBeLessThan(8000);
      ids.forEach((clientId, i) => expect(announced.get(clientId)).toEqual({ clientId, ip: ipOf(i), atMs: at.getTime() }));
    } finally {
      await listener.end();
    }
  });
});

describe('attacker review 8: the recorder alone (fake clock)', () => {
  const recorderWith = () => {
    const batches: KeyUsage[][] = [];
    const recorder = createUsageRecorder(
      {
        recordUsage: async (batch) => {
          batches.push([...batch]);
          return [];
        },
      },
      silent,
      { intervalMs: 3_600_000 },
    );
    return { recorder, batches };
  };

  it('held: while the feed is down the memory lasts a minute, and when it comes back nothing remembered is trusted', async () => {
    const { recorder, batches } = recorderWith();
    vi.useFakeTimers({ toFake: ['Date'] });
    try {
      const start = Date.now();
      const sendsAfter = async (atMs: number) => {
        vi.setSystemTime(atMs);
        const before = batches.length;
        recorder.seen('k', ATTACKER);
        await recorder.flush();
        return batches.length - before;
      };
      recorder.hearAnnouncements(true);
      expect(await sendsAfter(start)).toBe(1);
      expect(await sendsAfter(start + 5 * 60_000)).toBe(0); // live: ten minutes
      recorder.hearAnnouncements(false);
      expect(await sendsAfter(start + 5 * 60_000 + 1)).toBe(1); // down: a minute, long past
      expect(await sendsAfter(start + 5 * 60_000 + 30_000)).toBe(0);
      expect(await sendsAfter(start + 6 * 60_000 + 2)).toBe(1);
      recorder.hearAnnouncements(true); // back: cleared
      expect(await sendsAfter(start + 6 * 60_000 + 3)).toBe(1);
      expect(await sendsAfter(start + 15 * 60_000)).toBe(0);
    } finally {
      vi.useRealTimers();
      await recorder.close();
    }
  });

  it('held: a flood of announcements (200,000 lines, unknown keys and every remembered key) queues at most the remembered keys, once each', async () => {
    const { recorder, batches } = recorderWith();
    recorder.hearAnnouncements(true);
    for (let i = 0; i < 2000; i++) recorder.seen(`key-${i}`, ATTACKER);
    await recorder.flush();
    for (let i = 0; i < 2000; i++) recorder.seen(`key-${i}`, ATTACKER); // covered: latest sightings
    for (let round = 0; round < 10; round++) {
      const writes: LastUseWrite[] = [];
      for (let i = 0; i < 20_000; i++) writes.push({ clientId: i % 2 ? `unknown-${round}-${i}` : `key-${i % 2000}`, ip: OWNER, atMs: 0 });
      recorder.writtenElsewhere(writes);
    }
    await recorder.flush();
    expect(batches).toHaveLength(2);
    expect(batches[1]!.length).toBe(1000); // the even keys named, each once, from its real address
    expect(new Set(batches[1]!.map((u) => u.clientId)).size).toBe(1000);
    for (const usage of batches[1]!) expect(usage.ip).toBe(ATTACKER);
    await recorder.close();
  });
});
