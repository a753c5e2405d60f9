// Per-key activity in Redis. Layout: `kg:u:{<client_id>}:<h|d>:<bucket>`, a hash of outcome →
// count that expires 30 days after its hour or day ends. One key's buckets share a slot (hash
// tag), so on a Cluster each key's writes or reads are one pipeline; on one node everything is.
import type { RedisClient } from './redis-connection.ts';
import { StoreUnavailableError } from '../shared/store-failures.ts';
import {
  bucketExpiresAtMs,
  dayOfHour,
  type ActivityCounts,
  type ActivityGrain,
  type ActivityIncrement,
  type ActivityOutcome,
  type KeyActivityStore,
} from './key-activity.ts';

export const activityKey = (clientId: string, grain: ActivityGrain, bucket: number) => `kg:u:{${clientId}}:${grain === 'hour' ? 'h' : 'd'}:${bucket}`;

type Pipeline = ReturnType<RedisClient['pipeline']>;

function groupByKey<T extends { clientId: string }>(items: readonly T[]): Map<string, T[]> {
  const groups = new Map<string, T[]>();
  for (const item of items) {
    const group = groups.get(item.clientId);
    if (group) group.push(item);
    else groups.set(item.clientId, [item]);
  }
  return groups;
}

function queueIncrements(pipeline: Pipeline, increments: readonly ActivityIncrement[]): void {
  const expiries = new Map<string, number>();
  for (const { clientId, hour, outcome, count } of increments) {
    const hourKey = activityKey(clientId, 'hour', hour);
    const dayKey = activityKey(clientId, 'day', dayOfHour(hour));
    pipeline.hincrby(hourKey, outcome, count).hincrby(dayKey, outcome, count);
    expiries.set(hourKey, bucketExpiresAtMs('hour', hour));
    expiries.set(dayKey, bucketExpiresAtMs('day', dayOfHour(hour)));
  }
  for (const [key, atMs] of expiries) pipeline.expireat(key, Math.ceil(atMs / 1000));
}

async function run(pipeline: Pipeline, operation: string): Promise<unknown[]> {
  let replies: [Error | null, unknown][] | null;
  try {
    replies = await pipeline.exec();
  } catch (error) {
    throw new StoreUnavailableError('redis', operation, { cause: error });
  }
  return (replies ?? []).map(([error, value]) => {
    if (error) throw new StoreUnavailableError('redis', operation, { cause: error });
    return value;
  });
}

function toCounts(hash: Record<string, string>): ActivityCounts {
  const counts: ActivityCounts = {};
  for (const [outcome, value] of Object.entries(hash)) counts[outcome as ActivityOutcome] = Number(value);
  return counts;
}

export function createRedisActivityStore(redis: RedisClient): KeyActivityStore {
  redis.on('error', () => {}); // surfaced by the failing command
  return {
    async add(increments) {
      if (increments.length === 0) return;
      if (!redis.isCluster) {
        const pipeline = redis.pipeline();
        queueIncrements(pipeline, increments);
        await run(pipeline, 'count_activity');
        return;
      }
      await Promise.all(
        [...groupByKey(increments).values()].map((group) => {
          const pipeline = redis.pipeline();
          queueIncrements(pipeline, group);
          return run(pipeline, 'count_activity');
        }),
      );
    },
    async read(clientIds, grain, first, last) {
      const buckets = Array.from({ length: Math.max(0, last - first + 1) }, (_, i) => first + i);
      const readKeys = async (ids: readonly string[]) => {
        const pipeline = redis.pipeline();
        for (const clientId of ids) for (const bucket of buckets) pipeline.hgetall(activityKey(clientId, grain, bucket));
        const replies = await run(pipeline, 'read_activity');
        return ids.map((_, k) => buckets.map((_, b) => toCounts(replies[k * buckets.length + b] as Record<string, string>)));
      };
      if (clientIds.length === 0 || buckets.length === 0) return clientIds.map(() => buckets.map(() => ({})));
      if (!redis.isCluster) return readKeys(clientIds);
      return (await Promise.all(clientIds.map((clientId) => readKeys([clientId])))).map((rows) => rows[0]!);
    },
    async close() {
      await redis.quit().catch(() => redis.disconnect());
    },
  };
}
