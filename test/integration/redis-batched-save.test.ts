// Token saves of one event-loop turn share one script call (src/stores/redis-batched-save.ts):
// every token's index entry, index expiry and record are written, whatever else shares the batch,
// and a failed call fails every save in it. Commands are counted on a redis-server of the suite's
// own.
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { batchedSave, type TokenWrite } from '../../src/stores/redis-batched-save.ts';
import { startCountedRedis, type CountedRedis } from '../support/redis-command-count.ts';

describe('batched token saves', () => {
  let counted: CountedRedis;
  const write = (i: number, ttlSeconds = 60): TokenWrite => ({
    index: `test:i:{k${i % 3}}:1`,
    indexExpiresAt: Math.floor(Date.now() / 1000) + 3600,
    recordKey: `test:t:${i}`,
    tokenHash: `hash${i}`,
    value: `record ${i}`,
    ttlSeconds,
  });
  beforeAll(async () => {
    counted = await startCountedRedis();
    // Loads the script, so every call below is one EVALSHA.
    await batchedSave(counted.redis)(write(-1));
    await counted.commandsSent();
  });
  afterAll(async () => {
    await counted?.close();
  });

  it('writes every token of one turn, with its index entry and both expiries, in one script call', async () => {
    const save = batchedSave(counted.redis);
    await Promise.all([0, 1, 2, 3, 4].map((i) => save(write(i))));
    // The commands the script ran are counted too: three per token.
    expect(await counted.commandsSent()).toEqual({ evalsha: 1, hset: 5, expireat: 5, set: 5 });
    const { redis } = counted;
    for (const i of [0, 1, 2, 3, 4]) {
      expect(await redis.get(`test:t:${i}`)).toBe(`record ${i}`);
      expect(await redis.hexists(`test:i:{k${i % 3}}:1`, `hash${i}`)).toBe(1);
      expect(await redis.ttl(`test:t:${i}`)).toBeGreaterThan(50);
    }
    expect(await redis.ttl('test:i:{k0}:1')).toBeGreaterThan(3500);
  });

  it('sends at most 200 tokens per script call', async () => {
    const save = batchedSave(counted.redis);
    await Promise.all(Array.from({ length: 450 }, (_, i) => save(write(100 + i))));
    expect((await counted.commandsSent()).evalsha).toBe(3);
    expect(await counted.redis.get('test:t:549')).toBe('record 549');
    expect(await counted.redis.get('test:t:100')).toBe('record 100');
  });

  it("sends a batch's script call at once on Keygate's connection, not through ioredis auto-pipelining", () =>
    counted.withKeygateConnection(async (redis) => {
      const save = batchedSave(redis);
      const saved = save(write(800));
      // The batch went out when this turn's immediates ran, just before this one.
      await new Promise((resolve) => setImmediate(resolve));
      // Auto-pipelined, the call would wait here in a Pipeline of its own for one more turn.
      expect(redis.autoPipelineQueueSize).toBe(0);
      await saved;
      expect(await redis.get('test:t:800')).toBe('record 800');
    }));

  it('fails every save of a batch whose call fails, with the error of the batch', async () => {
    const unreachable = new Redis({ port: 1, host: '127.0.0.1', lazyConnect: true, enableOfflineQueue: false, maxRetriesPerRequest: 0 });
    unreachable.on('error', () => {});
    try {
      const save = batchedSave(unreachable);
      const outcomes = await Promise.allSettled([save(write(900)), save(write(901))]);
      expect(outcomes.map((o) => o.status)).toEqual(['rejected', 'rejected']);
      const reasons = outcomes.map((o) => (o as PromiseRejectedResult).reason as Error);
      expect(reasons[0]).toBeInstanceOf(Error);
      expect(reasons[0]).toBe(reasons[1]);
    } finally {
      unreachable.disconnect();
    }
  });
});
