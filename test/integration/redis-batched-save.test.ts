// Token saves of one event-loop turn share one script call (src/stores/redis-batched-save.ts):
// every token's index entry, index expiry and record are written, whatever else shares the batch,
// and a failed call fails every save in it. Counted by watching Redis (MONITOR) for commands
// naming this suite's keys, so other suites sharing the Redis do not count.
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { watchCommands, type CommandWatch } from '../support/redis-monitor.ts';
import { batchedSave, type TokenWrite } from '../../src/stores/redis-batched-save.ts';

const redisUrl = inject('redisUrl');

describe('batched token saves', () => {
  let redis: Redis;
  let watch: CommandWatch;
  const prefix = `test:batched-save:${process.pid}:`;
  const write = (i: number, ttlSeconds = 60): TokenWrite => ({
    index: `${prefix}i:{k${i % 3}}:1`,
    indexExpiresAt: Math.floor(Date.now() / 1000) + 3600,
    recordKey: `${prefix}t:${i}`,
    tokenHash: `hash${i}`,
    value: `record ${i}`,
    ttlSeconds,
  });
  beforeAll(async () => {
    if (!redisUrl) throw new Error('this suite needs Redis');
    redis = new Redis(redisUrl, { maxRetriesPerRequest: 1 });
    watch = await watchCommands(redis, prefix);
    await watch.commandsSent();
  });
  afterAll(async () => {
    watch?.close();
    await redis?.quit();
  });

  it('writes every token of one turn, index first, with one script call', async () => {
    const save = batchedSave(redis);
    await Promise.all([0, 1, 2, 3, 4].map((i) => save(write(i))));
    const sent = await watch.commandsSent();
    // One script call from the client; Redis reports the commands the script ran after it.
    expect(sent.filter((name) => name === 'evalsha' || name === 'eval')).toHaveLength(1);
    expect(sent.filter((name) => name === 'hset' || name === 'set' || name === 'expireat')).toHaveLength(15);
    expect(sent.slice(1, 4)).toEqual(['hset', 'expireat', 'set']);
    for (const i of [0, 1, 2, 3, 4]) {
      expect(await redis.get(`${prefix}t:${i}`)).toBe(`record ${i}`);
      expect(await redis.hexists(`${prefix}i:{k${i % 3}}:1`, `hash${i}`)).toBe(1);
      expect(await redis.ttl(`${prefix}t:${i}`)).toBeGreaterThan(50);
    }
    expect(await redis.ttl(`${prefix}i:{k0}:1`)).toBeGreaterThan(3500);
  });

  it('sends at most 200 tokens per script call', async () => {
    const save = batchedSave(redis);
    await Promise.all(Array.from({ length: 450 }, (_, i) => save(write(100 + i))));
    const calls = (await watch.commandsSent()).filter((name) => name === 'evalsha' || name === 'eval');
    expect(calls).toHaveLength(3);
    expect(await redis.get(`${prefix}t:549`)).toBe('record 549');
    expect(await redis.get(`${prefix}t:100`)).toBe('record 100');
  });

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
