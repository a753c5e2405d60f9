// Per-key activity in Redis, compact: one hash per key per UTC day, `kg:u:{<client_id>}:<day>`,
// whose fields are `<hour of the day><outcome code>` (`13i`: issued between 13:00 and 14:00) →
// count, expiring 30 days after its day ends. A key used all day long costs one small hash a day
// (a listpack while it has at most 128 fields), not 24; a day's totals are the sum of its fields.
// One key's hashes share a slot (hash tag), so on a Cluster each key's writes or reads are one
// pipeline. On one node a flush is one script call per couple of hundred increments, each a line of
// one string argument, not two commands per hash: with many keys each used a few times per
// flush, per-command and per-argument work in this process would grow with the number of
// distinct keys rather than with requests. It rides on a connection it does not own (the abuse
// counters'): whoever made the connection closes it.
import { isWellFormedClientId } from '../crypto/credentials.ts';
import type { RedisClient } from './redis-connection.ts';
import { StoreUnavailableError } from '../shared/store-failures.ts';
import {
  ACTIVITY_OUTCOMES,
  bucketExpiresAtMs,
  dayOfHour,
  DAY_MS,
  HOUR_MS,
  type ActivityCounts,
  type ActivityIncrement,
  type ActivityOutcome,
  type KeyActivityStore,
} from './key-activity.ts';

/** The day hash of a key; COUNT_SCRIPT builds the same name. */
export const activityKey = (clientId: string, day: number) => `kg:u:{${clientId}}:${day}`;

/** One letter per outcome, in the hash's field names. */
const CODES: Readonly<Record<ActivityOutcome, string>> = {
  issued: 'i',
  denied_bad_secret: 's',
  denied_network: 'n',
  denied_expired: 'e',
  denied_disabled: 'd',
  denied_owner: 'o',
  denied_scope: 'c',
  denied_rate_limited: 'r',
  introspection_active: 'a',
  introspection_inactive: 'x',
};
const OUTCOME_OF = new Map(ACTIVITY_OUTCOMES.map((outcome) => [CODES[outcome], outcome]));
const HOURS_PER_DAY = DAY_MS / HOUR_MS;

/** A count's field in its day hash: the hour of the day, then the outcome's letter. */
const fieldOf = (hour: number, day: number, outcome: ActivityOutcome) => `${hour - day * HOURS_PER_DAY}${CODES[outcome]}`;
/** When a day's hash expires, unix seconds. */
const dayExpiresAt = (day: number) => Math.ceil(bucketExpiresAtMs('day', day) / 1000);

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
    const day = dayOfHour(hour);
    const key = activityKey(clientId, day);
    pipeline.hincrby(key, fieldOf(hour, day, outcome), count);
    expiries.set(key, dayExpiresAt(day));
  }
  for (const [key, at] of expiries) pipeline.expireat(key, at);
}

// No KEYS. ARGV, per UTC day: the day, its hashes' expiry (unix seconds), and the lines
// `<client id> <field> <increment>`. The script names each day hash itself, from the client ids,
// as activityKey does: Redis allows that on one node and under Sentinel, the only setups that
// take this path. A hash's expiry is set when one of its fields is created (the count then equals
// the increment), which every new hash is; a hash that already has the field has its expiry.
const COUNT_SCRIPT = `
local counted = 0
for g = 1, #ARGV, 3 do
  local suffix = '}:' .. ARGV[g]
  local expireAt = ARGV[g + 1]
  for clientId, field, count in string.gmatch(ARGV[g + 2], '(%S+) (%S+) (%d+)') do
    local key = 'kg:u:{' .. clientId .. suffix
    if redis.call('hincrby', key, field, count) == tonumber(count) then redis.call('expireat', key, expireAt) end
    counted = counted + 1
  end
end
return counted`;
/**
 * Increments per script call. A call holds Redis while it runs, and every token and introspection
 * waits behind it: so a call is kept small enough not to show in their latency tail
 * (docs/performance.md), and a big flush is many calls, sent one after another. Each call's
 * arguments are built just before it is sent, so a flush of 100,000 keys holds one call's worth at
 * a time, not a copy of the whole flush.
 */
const INCREMENTS_PER_CALL = 200;

type CountingClient = RedisClient & { keygateCountActivity(keyCount: number, ...args: (string | number)[]): Promise<number> };

function countingClient(redis: RedisClient): CountingClient {
  if (!('keygateCountActivity' in redis)) redis.defineCommand('keygateCountActivity', { lua: COUNT_SCRIPT });
  return redis as CountingClient;
}

/**
 * The increments of one flush as script calls. Each call takes, per UTC day its increments fall
 * in, the day, its hashes' expiry and one string of `<client id> <field> <count>` lines: three
 * arguments, not several per key, so what this process builds and sends per key is one line.
 * Client ids are `kg_` and base62 (credentials.ts), so a space ends one; an id that is not is no
 * key's, and is not counted.
 */
async function countInScripts(redis: CountingClient, increments: readonly ActivityIncrement[]): Promise<void> {
  for (let start = 0; start < increments.length; start += INCREMENTS_PER_CALL) {
    const lines = new Map<number, string>();
    for (let i = start; i < Math.min(increments.length, start + INCREMENTS_PER_CALL); i += 1) {
      const { clientId, hour, outcome, count } = increments[i]!;
      if (!isWellFormedClientId(clientId)) continue;
      const day = dayOfHour(hour);
      lines.set(day, `${lines.get(day) ?? ''}${clientId} ${fieldOf(hour, day, outcome)} ${count}\n`);
    }
    if (lines.size === 0) continue;
    const args: (string | number)[] = [];
    for (const [day, text] of lines) args.push(day, dayExpiresAt(day), text);
    try {
      await redis.keygateCountActivity(0, ...args);
    } catch (error) {
      throw new StoreUnavailableError('redis', 'count_activity', { cause: error });
    }
  }
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

/** A day's hash as counts per hour of the day (index 0–23). */
function hoursOf(hash: Record<string, string>): ActivityCounts[] {
  const hours: ActivityCounts[] = Array.from({ length: HOURS_PER_DAY }, () => ({}));
  for (const [field, value] of Object.entries(hash)) {
    const match = /^(\d{1,2})([a-z])$/.exec(field);
    const outcome = match && OUTCOME_OF.get(match[2]!);
    const counts = match && hours[Number(match[1])];
    if (outcome && counts) counts[outcome] = (counts[outcome] ?? 0) + Number(value);
  }
  return hours;
}

function sum(counts: readonly ActivityCounts[]): ActivityCounts {
  const total: ActivityCounts = {};
  for (const bucket of counts)
    for (const [outcome, n] of Object.entries(bucket)) total[outcome as ActivityOutcome] = (total[outcome as ActivityOutcome] ?? 0) + n;
  return total;
}

export function createRedisActivityStore(redis: RedisClient): KeyActivityStore {
  redis.on('error', () => {}); // surfaced by the failing command
  return {
    async add(increments) {
      if (increments.length === 0) return;
      if (!redis.isCluster) return countInScripts(countingClient(redis), increments);
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
      if (clientIds.length === 0 || buckets.length === 0) return clientIds.map(() => buckets.map(() => ({})));
      // The days the buckets fall in, oldest first.
      const firstDay = grain === 'day' ? first : dayOfHour(first);
      const lastDay = grain === 'day' ? last : dayOfHour(last);
      const days = Array.from({ length: lastDay - firstDay + 1 }, (_, i) => firstDay + i);
      const readKeys = async (ids: readonly string[]) => {
        const pipeline = redis.pipeline();
        for (const clientId of ids) for (const day of days) pipeline.hgetall(activityKey(clientId, day));
        const replies = await run(pipeline, 'read_activity');
        return ids.map((_, k) => {
          const perDay = days.map((_, d) => hoursOf(replies[k * days.length + d] as Record<string, string>));
          if (grain === 'day') return perDay.map(sum);
          return buckets.map((hour) => perDay[dayOfHour(hour) - firstDay]![hour - dayOfHour(hour) * HOURS_PER_DAY]!);
        });
      };
      if (!redis.isCluster) return readKeys(clientIds);
      return (await Promise.all(clientIds.map((clientId) => readKeys([clientId])))).map((rows) => rows[0]!);
    },
    async close() {},
  };
}
