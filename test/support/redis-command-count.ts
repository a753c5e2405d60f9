// A redis-server of a suite's own, to count the commands it serves: the run's shared Redis serves
// every other suite at the same time, so its command statistics would count theirs too.
import { Redis } from 'ioredis';
import { connectRedis } from '../../src/stores/redis-connection.ts';
import { ensureInstalled, startRedis, type RedisServer } from './processes.ts';

export interface CountedRedis {
  redis: Redis;
  /** Runs `use` on a connection made as Keygate makes its own (connectRedis), then closes it and forgets what it sent. */
  withKeygateConnection(use: (redis: Redis) => Promise<void>): Promise<void>;
  /** Calls of each command (lower case) served since the last call, other than the counting itself. */
  commandsSent(): Promise<Record<string, number>>;
  close(): Promise<void>;
}

async function callsByCommand(redis: Redis): Promise<Record<string, number>> {
  const calls: Record<string, number> = {};
  for (const [, name, count] of (await redis.info('commandstats')).matchAll(/^cmdstat_([a-z|]+):calls=(\d+)/gm)) calls[name!] = Number(count);
  return calls;
}

export async function startCountedRedis(): Promise<CountedRedis> {
  const server: RedisServer = await startRedis(ensureInstalled('redis-server', 'redis-server'));
  const redis = new Redis(server.url, { maxRetriesPerRequest: 1 });
  let before = await callsByCommand(redis);
  const commandsSent = async () => {
    const now = await callsByCommand(redis);
    const sent: Record<string, number> = {};
    for (const [name, count] of Object.entries(now)) {
      const more = count - (before[name] ?? 0) - (name === 'info' ? 1 : 0);
      if (more > 0) sent[name] = more;
    }
    before = await callsByCommand(redis);
    return sent;
  };
  return {
    redis,
    commandsSent,
    async withKeygateConnection(use) {
      const own = connectRedis(server.url) as Redis;
      try {
        await use(own);
      } finally {
        own.disconnect();
        await commandsSent();
      }
    },
    async close() {
      await redis.quit().catch(() => redis.disconnect());
      await server.stop();
    },
  };
}
