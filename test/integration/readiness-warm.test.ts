// A starting replica is ready only once its key cache has taken its first pass over every key:
// a load balancer that follows /readyz then sends it clients it serves from memory, not one
// Postgres read per key. The suite owns its Postgres: it holds a lock on api_keys that would
// stall every other suite's reads.
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { CreatedKey } from '../../src/keys/types.ts';
import { connectDatabase } from '../../src/stores/db.ts';
import { pollUntil, startFaultKeygate, startOwnPostgres, type FaultKeygate, type OwnPostgres } from '../support/faults.ts';

async function cacheLookups(keygate: FaultKeygate, result: 'hit' | 'miss') {
  const metric = await keygate.runtime.metrics.registry.getSingleMetric('keygate_key_cache_lookups_total')!.get();
  return metric.values.find((v) => v.labels.result === result)?.value ?? 0;
}

describe('readiness of a starting replica', () => {
  let postgres: OwnPostgres;
  let keys: CreatedKey[];
  let keygate: FaultKeygate | undefined;

  beforeAll(async () => {
    postgres = await startOwnPostgres();
    const first = await startFaultKeygate({ databaseUrl: postgres.url, redisUrl: inject('redisUrl')! });
    try {
      const tenantId = (await first.runtime.tenants.insert({ name: 'readiness tenant' })).id;
      keys = [];
      for (let i = 0; i < 3; i++) keys.push(await first.createKey(tenantId, { name: `readiness key ${i}` }));
    } finally {
      await first.close();
    }
  });
  afterAll(async () => {
    await keygate?.close();
    await postgres?.destroy();
  });

  it('answers 503 "warming" until its key cache has read every key, then serves them from memory', async () => {
    // Hold the first pass back: while this transaction holds api_keys, the pass cannot read it.
    const locker = connectDatabase(postgres.url, 1);
    let release!: () => void;
    const released = new Promise<void>((resolve) => (release = resolve));
    let locked!: () => void;
    const lockTaken = new Promise<void>((resolve) => (locked = resolve));
    const holding = locker.transaction().execute(async (trx) => {
      await sql`lock table api_keys in access exclusive mode`.execute(trx);
      locked();
      await released;
    });
    try {
      await lockTaken;
      keygate = await startFaultKeygate({ databaseUrl: postgres.url, redisUrl: inject('redisUrl')! }, { awaitKeyCache: false });
      const warming = await keygate.send({ method: 'GET', path: '/readyz' });
      expect({ status: warming.status, body: warming.body }).toEqual({
        status: 503,
        body: { status: 'not_ready', checks: { postgres: 'ok', tokens: 'ok', key_cache: 'warming' } },
      });
      // Liveness is another question: a warming replica must not be restarted for it.
      expect((await keygate.send({ method: 'GET', path: '/healthz' })).status).toBe(200);
    } finally {
      release();
      await holding;
      await locker.destroy();
    }
    const { response } = await pollUntil(
      () => keygate!.send({ method: 'GET', path: '/readyz' }),
      (r) => r.status === 200,
      10_000,
      'ready after the pass',
    );
    expect(response.body).toEqual({ status: 'ready', checks: { postgres: 'ok', tokens: 'ok', key_cache: 'ok' } });

    const missesBefore = await cacheLookups(keygate!, 'miss');
    for (const key of keys) expect((await keygate!.token(key)).status).toBe(200);
    expect(await cacheLookups(keygate!, 'miss')).toBe(missesBefore); // every key came from the pass
    expect(await cacheLookups(keygate!, 'hit')).toBeGreaterThanOrEqual(keys.length);
  });
});
