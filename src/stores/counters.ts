// Fixed-window counters for abuse limits: Redis when configured (shared by every replica; one key
// per command, so Redis Cluster is fine; each key expires on its own just after its window), process
// memory for the embedded default (bounded; each entry expires at its window's end).
import type { Cluster, Redis } from 'ioredis';
import { ExpiringMap } from './expiring-map.ts';
import { StoreUnavailableError } from '../shared/store-failures.ts';

export interface WindowCount {
  count: number;
  /** Seconds until this window ends. */
  resetInSeconds: number;
  /** When this window ends, in milliseconds since the epoch (always a whole second). */
  resetsAt: number;
}

export interface WindowCounters {
  /** Adds one to `name` in the current window of `windowSeconds` and returns the new count. */
  hit(name: string, windowSeconds: number): Promise<WindowCount>;
  close(): Promise<void>;
}

function window(windowSeconds: number, nowMs: number) {
  const index = Math.floor(nowMs / 1000 / windowSeconds);
  const endSeconds = (index + 1) * windowSeconds;
  return { index, resetsAt: endSeconds * 1000, resetInSeconds: Math.max(1, Math.ceil(endSeconds - nowMs / 1000)) };
}

export function createRedisCounters(redis: Redis | Cluster): WindowCounters {
  redis.on('error', () => {}); // surfaced by the failing command (as StoreUnavailableError) and /readyz
  return {
    async hit(name, windowSeconds) {
      const { index, resetInSeconds, resetsAt } = window(windowSeconds, Date.now());
      const key = `kg:rl:${name}:${index}`;
      try {
        const results = await redis
          .multi()
          .incr(key)
          .expire(key, windowSeconds + 1, 'NX')
          .exec();
        const [error, count] = results?.[0] ?? [new Error('rate counter: no reply')];
        if (error) throw error;
        return { count: Number(count), resetInSeconds, resetsAt };
      } catch (error) {
        throw new StoreUnavailableError('redis', 'count', { cause: error });
      }
    },
    async close() {
      await redis.quit().catch(() => redis.disconnect());
    },
  };
}

/** Counts kept in memory at most at once. */
export const MEMORY_COUNTERS_MAX_ENTRIES = 100_000;

export function createMemoryCounters(options: { maxEntries?: number; now?: () => number } = {}): WindowCounters {
  const now = options.now ?? Date.now;
  // Bounded so an attacker cannot grow it forever. A count is dropped early only once the map is
  // full of live ones, and then the least recently counted goes (abuse-limits.ts says what that costs).
  const counts = new ExpiringMap<number>(options.maxEntries ?? MEMORY_COUNTERS_MAX_ENTRIES, now);
  return {
    async hit(name, windowSeconds) {
      const { resetInSeconds, resetsAt } = window(windowSeconds, now());
      // An entry expires at its window's end, so a live one is this window's count. The window length
      // is part of the key so that one name counted over two lengths keeps two counts.
      const key = `${windowSeconds}:${name}`;
      const count = (counts.get(key) ?? 0) + 1;
      counts.set(key, count, resetsAt);
      return { count, resetInSeconds, resetsAt };
    },
    async close() {},
  };
}
