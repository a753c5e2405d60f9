// Redis' own stalls during a paced run, from its latency monitor and its slow log (the bench's
// redis-server runs with both thresholds at a millisecond): every event (a command, an expiry
// cycle, …) that took at least that long, with its longest time, and the slowest commands by name.
// Redis shares the servers' core, so a stall there holds Keygate's answers without showing in
// Keygate's own event loop.
import { Redis } from 'ioredis';

/** Events at least this long are recorded, ms (Redis' `latency-monitor-threshold`). */
export const REDIS_LATENCY_THRESHOLD_MS = 1;

export interface RedisStalls {
  /** The longest time of each event that crossed the threshold, ms, by event name. */
  events: Record<string, number>;
  /** The slowest commands (name, ms), slowest first, at most SLOW_COMMANDS_KEPT. */
  slowest: { command: string; ms: number }[];
}

const SLOW_COMMANDS_KEPT = 5;

async function withRedis<T>(url: string, work: (redis: Redis) => Promise<T>): Promise<T> {
  const redis = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 1 });
  await redis.connect();
  try {
    return await work(redis);
  } finally {
    redis.disconnect();
  }
}

export function resetRedisLatency(url: string): Promise<void> {
  return withRedis(url, async (redis) => {
    await redis.call('LATENCY', 'RESET');
    await redis.call('SLOWLOG', 'RESET');
  });
}

export function readRedisLatency(url: string): Promise<RedisStalls> {
  return withRedis(url, async (redis) => {
    // Each entry: [event, time of the latest, latest ms, longest ms].
    const entries = (await redis.call('LATENCY', 'LATEST')) as [string, number, number, number][];
    // Each entry: [id, time, µs, [command, args…], …]; only the command's name is kept.
    const logged = (await redis.call('SLOWLOG', 'GET', '128')) as [number, number, number, string[]][];
    const slowest = logged
      .map(([, , micros, args]) => ({ command: String(args[0] ?? '?').toUpperCase(), ms: Number(micros) / 1000 }))
      .sort((a, b) => b.ms - a.ms)
      .slice(0, SLOW_COMMANDS_KEPT);
    return { events: Object.fromEntries(entries.map(([event, , , longest]) => [event, Number(longest)])), slowest };
  });
}
