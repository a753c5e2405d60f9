// Token record reads of one event-loop turn share one MGET (src/stores/redis-batched-get.ts):
// each read gets its own key's value, whatever else shares its batch, and a failed batch fails
// every read in it. Commands are counted on a redis-server of the suite's own.
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { batchedGet } from '../../src/stores/redis-batched-get.ts';
import { startCountedRedis, type CountedRedis } from '../support/redis-command-count.ts';

describe('batched token record reads', () => {
  let counted: CountedRedis;
  const key = (i: number) => `test:batched-get:${i}`;
  beforeAll(async () => {
    counted = await startCountedRedis();
    const pipeline = counted.redis.pipeline();
    for (let i = 0; i < 1200; i += 1) pipeline.set(key(i), `value ${i}`, 'EX', 60);
    await pipeline.exec();
    await counted.commandsSent();
  });
  afterAll(async () => {
    await counted?.close();
  });

  it('answers each read of one turn with its own value, in one MGET', async () => {
    const get = batchedGet(counted.redis);
    // Shuffled, with a repeated key and a missing one, all in the same turn.
    const keys = [7, 3, 3, 250, 0, 99, 1199, -1].map(key);
    const values = await Promise.all(keys.map((k) => get(k)));
    expect(values).toEqual(['value 7', 'value 3', 'value 3', 'value 250', 'value 0', 'value 99', 'value 1199', null]);
    expect(await counted.commandsSent()).toEqual({ mget: 1 });
  });

  it('sends at most 500 keys per MGET and still answers every read with its own value', async () => {
    const get = batchedGet(counted.redis);
    const indexes = Array.from({ length: 1200 }, (_, i) => (i * 7919) % 1200);
    const values = await Promise.all(indexes.map((i) => get(key(i))));
    expect(values).toEqual(indexes.map((i) => `value ${i}`));
    expect(await counted.commandsSent()).toEqual({ mget: 3 });
  });

  it('reads of later turns go in batches of their own', async () => {
    const get = batchedGet(counted.redis);
    expect(await get(key(1))).toBe('value 1');
    expect(await get(key(2))).toBe('value 2');
    expect(await counted.commandsSent()).toEqual({ mget: 2 });
  });

  it("sends a batch's MGET at once on Keygate's connection, not through ioredis auto-pipelining", () =>
    counted.withKeygateConnection(async (redis) => {
      const get = batchedGet(redis);
      const value = get(key(5));
      // The batch went out when this turn's immediates ran, just before this one.
      await new Promise((resolve) => setImmediate(resolve));
      // Auto-pipelined, the MGET would wait here in a Pipeline of its own for one more turn.
      expect(redis.autoPipelineQueueSize).toBe(0);
      expect(await value).toBe('value 5');
    }));

  it('fails every read of a batch whose MGET fails, with the error of the batch', async () => {
    // Nothing listens on port 1; without an offline queue each command fails at once.
    const unreachable = new Redis({ port: 1, host: '127.0.0.1', lazyConnect: true, enableOfflineQueue: false, maxRetriesPerRequest: 0 });
    unreachable.on('error', () => {});
    try {
      const get = batchedGet(unreachable);
      const outcomes = await Promise.allSettled([get('a'), get('b'), get('c')]);
      expect(outcomes.map((o) => o.status)).toEqual(['rejected', 'rejected', 'rejected']);
      const reasons = outcomes.map((o) => (o as PromiseRejectedResult).reason as Error);
      expect(reasons[0]).toBeInstanceOf(Error);
      expect(new Set(reasons).size).toBe(1);
    } finally {
      unreachable.disconnect();
    }
  });
});
