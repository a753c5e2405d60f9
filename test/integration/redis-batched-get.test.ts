// Token record reads of one event-loop turn share one MGET (src/stores/redis-batched-get.ts):
// each read gets its own key's value, whatever else shares its batch, and a failed batch fails
// every read in it. Counted by watching Redis (MONITOR) for commands naming this suite's keys, so
// other suites sharing the Redis do not count.
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { watchCommands, type CommandWatch } from '../support/redis-monitor.ts';
import { batchedGet } from '../../src/stores/redis-batched-get.ts';

const redisUrl = inject('redisUrl');

describe('batched token record reads', () => {
  let redis: Redis;
  let watch: CommandWatch;
  const prefix = `test:batched-get:${process.pid}:`;
  beforeAll(async () => {
    if (!redisUrl) throw new Error('this suite needs Redis');
    redis = new Redis(redisUrl, { maxRetriesPerRequest: 1 });
    watch = await watchCommands(redis, prefix);
    const pipeline = redis.pipeline();
    for (let i = 0; i < 1200; i += 1) pipeline.set(`${prefix}${i}`, `value ${i}`, 'EX', 60);
    await pipeline.exec();
    await watch.commandsSent();
  });
  afterAll(async () => {
    watch?.close();
    await redis?.quit();
  });

  it('answers each read of one turn with its own value, in one MGET', async () => {
    const get = batchedGet(redis);
    // Shuffled, with a repeated key and a missing one, all in the same turn.
    const keys = [7, 3, 3, 250, 0, 99, 1199, -1].map((i) => `${prefix}${i}`);
    const values = await Promise.all(keys.map((key) => get(key)));
    expect(values).toEqual(['value 7', 'value 3', 'value 3', 'value 250', 'value 0', 'value 99', 'value 1199', null]);
    expect(await watch.commandsSent()).toEqual(['mget']);
  });

  it('sends at most 500 keys per MGET and still answers every read with its own value', async () => {
    const get = batchedGet(redis);
    const indexes = Array.from({ length: 1200 }, (_, i) => (i * 7919) % 1200);
    const values = await Promise.all(indexes.map((i) => get(`${prefix}${i}`)));
    expect(values).toEqual(indexes.map((i) => `value ${i}`));
    expect(await watch.commandsSent()).toEqual(['mget', 'mget', 'mget']);
  });

  it('reads of later turns go in batches of their own', async () => {
    const get = batchedGet(redis);
    expect(await get(`${prefix}1`)).toBe('value 1');
    expect(await get(`${prefix}2`)).toBe('value 2');
    expect(await watch.commandsSent()).toEqual(['mget', 'mget']);
  });

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
