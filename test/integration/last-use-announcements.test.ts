// Last use across replicas, over real HTTP and Postgres: every row a last-use write changes is
// announced on the change feed, so a replica that remembers writing another address for the key
// stops trusting it at once. The attack: a leaked key used through replica A while its owner uses
// it through replica B; the owner's write must not hide the attacker's use for a minute (the
// replica's memory without announcements) or ten (its memory with them).
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it, inject } from 'vitest';
import type { CreatedKey } from '../../src/keys/types.ts';
import { LAST_USE_CHANNEL, parseLastUseWrites, type LastUseWrite } from '../../src/stores/key-changes.ts';
import { startKeygate, type TestKeygate } from '../support/keygate.ts';
import { waitFor } from '../support/processes.ts';

const ATTACKER = '127.0.0.21';
const OWNER = '127.0.0.22';

describe('last use announced across replicas', () => {
  let replicaA: TestKeygate;
  let replicaB: TestKeygate;
  let tenantId: string;

  beforeAll(async () => {
    replicaA = await startKeygate({ tokenStore: 'redis' });
    replicaB = await startKeygate({ tokenStore: 'redis' });
    tenantId = await replicaA.newTenant();
  });
  afterAll(async () => {
    await replicaB?.close();
    await replicaA?.close();
  });

  const lastUse = async (key: CreatedKey) => {
    const found = (await replicaA.runtime.keys.find(key.key.client_id))!;
    return { ip: found.last_used_ip, atMs: found.last_used_at?.getTime() ?? null };
  };
  const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

  it("the attacker's use through A, covered by A's earlier write, is on record once B writes the owner's older use", async () => {
    const key = await replicaA.createKey(tenantId);
    expect((await replicaA.token(key, { from: ATTACKER })).status).toBe(200);
    await replicaA.runtime.usage.flush();
    expect((await lastUse(key)).ip).toBe(ATTACKER);

    expect((await replicaB.token(key, { from: OWNER })).status).toBe(200); // waits on B
    await sleep(20);
    const beforeAttack = Date.now();
    expect((await replicaA.token(key, { from: ATTACKER })).status).toBe(200); // A sent this address: covered
    const afterAttack = Date.now();
    await replicaA.runtime.usage.flush();
    expect((await lastUse(key)).ip).toBe(ATTACKER);

    await replicaB.runtime.usage.flush(); // the owner's older sighting is written
    expect((await lastUse(key)).ip).toBe(OWNER);
    // A hears of it, queues the attacker's later sighting, and writes it at its next flush.
    await waitFor(
      async () => {
        await replicaA.runtime.usage.flush();
        return (await lastUse(key)).ip === ATTACKER;
      },
      5000,
      "the attacker's later use back on record",
    );
    const recorded = await lastUse(key);
    expect(recorded.atMs).toBeGreaterThanOrEqual(beforeAttack);
    expect(recorded.atMs).toBeLessThanOrEqual(afterAttack);
  });

  it("after the owner's write through B, the attacker's next use through A is on record at A's next flush", async () => {
    const key = await replicaA.createKey(tenantId);
    expect((await replicaA.token(key, { from: ATTACKER })).status).toBe(200);
    await replicaA.runtime.usage.flush();
    expect((await replicaB.token(key, { from: OWNER })).status).toBe(200);
    await replicaB.runtime.usage.flush();
    expect((await lastUse(key)).ip).toBe(OWNER);

    // Without announcements A would skip this address for a minute; with them it is written
    // as soon as A has heard of B's write (milliseconds).
    await waitFor(
      async () => {
        expect((await replicaA.token(key, { from: ATTACKER })).status).toBe(200);
        await replicaA.runtime.usage.flush();
        return (await lastUse(key)).ip === ATTACKER;
      },
      5000,
      "the attacker's next use on record",
    );
  });

  it("announcements stay under Postgres' payload limit: a batch of long addresses is announced whole, in several payloads", async () => {
    const keys = await Promise.all(Array.from({ length: 150 }, () => replicaA.createKey(tenantId)));
    const listener = new pg.Client({ connectionString: inject('databaseUrl') });
    await listener.connect();
    const payloads: string[] = [];
    listener.on('notification', (message) => {
      if (message.channel === LAST_USE_CHANNEL && message.payload) payloads.push(message.payload);
    });
    try {
      await listener.query(`listen ${LAST_USE_CHANNEL}`);
      const at = new Date();
      const ipOf = (i: number) => `2001:db8:ffff:ffff:ffff:ffff:ffff:${(0x1000 + i).toString(16)}`;
      await replicaA.runtime.keys.recordUsage(keys.map((key, i) => ({ clientId: key.key.client_id, at, ip: ipOf(i) })));
      const announced = new Map<string, LastUseWrite>();
      await waitFor(
        async () => {
          for (const write of payloads.flatMap(parseLastUseWrites)) announced.set(write.clientId, write);
          return keys.every((key) => announced.has(key.key.client_id));
        },
        5000,
        'every written row announced',
      );
      expect(payloads.length).toBeGreaterThan(1);
      for (const payload of payloads) expect(Buffer.byteLength(payload)).toBeLessThan(8000);
      keys.forEach((key, i) => expect(announced.get(key.key.client_id)).toEqual({ clientId: key.key.client_id, ip: ipOf(i), atMs: at.getTime() }));
    } finally {
      await listener.end();
    }
  });
});
