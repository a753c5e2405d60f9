// Fixed-window counters for abuse limits (SPEC §3): Redis when configured (shared by every
// replica; one key per command, so Redis Cluster is fine), process memory for the embedded default.
import type { Cluster, Redis } from 'ioredis';
import { StoreUnavailableError } from './unavailable.ts';

export interface WindowCount {
  count: number;
  /** Seconds until this window ends. */
  resetInSeconds: number;
}

export interface WindowCounters {
  /** Adds one to `name` in the current window of `windowSeconds` and returns the new count. */
  hit(name: string, windowSeconds: number): Promise<WindowCount>;
  close(): Promise<void>;
}

function window(windowSeconds: number, nowMs: number) {
  const index = Math.floor(nowMs / 1000 / windowSeconds);
  return { index, resetInSeconds: Math.max(1, Math.ceil((index + 1) * windowSeconds - nowMs / 1000)) };
}

export function createRedisCounters(redis: Redis | Cluster): WindowCounters {
  redis.on('error', () => {}); // surfaced by the failing command (as StoreUnavailableError) and /readyz
  return {
    async hit(name, windowSeconds) {
      const { index, resetInSeconds } = window(windowSeconds, Date.now());
      const key = `kg:rl:${name}:${index}`;
      try {
        const results = await redis.multi().incr(key).expire(key, windowSeconds + 1, 'NX').exec();
        const [error, count] = results?.[0] ?? [new Error('rate counter: no reply')];
        if (error) throw error;
        return { count: Number(count), resetInSeconds };
      } catch (error) {
        throw new StoreUnavailableError('redis', 'count', { cause: error });
      }
    },
    async close() {
      await redis.quit().catch(() => redis.disconnect());
    },
  };
}

export function createMemoryCounters(): WindowCounters {
  const counts = new Map<string, { index: number; count: number }>();
  return {
    async hit(name, windowSeconds) {
      const { index, resetInSeconds } = window(windowSeconds, Date.now());
      const current = counts.get(name);
      const count = current && current.index === index ? current.count + 1 : 1;
      counts.set(name, { index, count });
      if (counts.size > 100_000) counts.clear(); // bounded: an attacker cannot grow this forever
      return { count, resetInSeconds };
    },
    async close() {},
  };
}
