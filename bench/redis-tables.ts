// Redis' key tables, sized once for the whole bench. Tokens live an hour, so the bench's Redis only
// grows, by about a million keys a round per database. Redis doubles a table when its key count
// passes a power of two and then moves every entry across, a step per command, and a write during
// that move costs two to three times one outside it: a run that met a doubling measured Redis
// growing, which a store in service, its key count steady as tokens expire, does not go through.
// So before measuring, each database's tables are grown past what the run will reach with
// throwaway keys; enough of them stay that Redis never shrinks the tables back.
import { Redis } from 'ioredis';

/** Slots in each table after sizing: room for 8,388,608 keys per database before the next doubling. */
export const TABLE_SLOTS = 2 ** 23;
/** Redis shrinks a table below 10 % full; these filler keys stay, so it never does. */
const FILLERS_KEPT = Math.ceil(TABLE_SLOTS / 10) + 50_000;
const FILLER_PREFIX = 'bench:table-filler:';
const CHUNK = 100_000;
/** Long enough to outlast any run; set so that the expiry table grows along with the key table. */
const FILLER_TTL_SECONDS = 86_400;

const WRITE_FILLERS = `for i = tonumber(ARGV[2]), tonumber(ARGV[3]) do redis.call('SET', ARGV[1] .. i, '', 'EX', ARGV[4]) end return 0`;
const DELETE_FILLERS = `for i = tonumber(ARGV[2]), tonumber(ARGV[3]) do redis.call('UNLINK', ARGV[1] .. i) end return 0`;

/** Slot counts of a database's key and expiry tables (both halves while a table is being moved). */
export interface TableSlots {
  keys: number;
  expires: number;
}

/**
 * Grows the key and expiry tables of the database at `redisUrl` to {@link TABLE_SLOTS} slots.
 * Needs `DEBUG` (the bench's redis-server allows it from loopback).
 */
export async function sizeTablesForTheRun(redisUrl: string): Promise<TableSlots> {
  const redis = new Redis(redisUrl);
  try {
    const keys = await redis.dbsize();
    // One key past half the target makes Redis double to the target.
    const fillers = Math.max(FILLERS_KEPT, TABLE_SLOTS / 2 + 1 - keys);
    for (let from = 0; from < fillers; from += CHUNK) {
      await redis.eval(WRITE_FILLERS, 0, FILLER_PREFIX, from, Math.min(from + CHUNK, fillers) - 1, FILLER_TTL_SECONDS);
    }
    for (let from = FILLERS_KEPT; from < fillers; from += CHUNK) {
      await redis.eval(DELETE_FILLERS, 0, FILLER_PREFIX, from, Math.min(from + CHUNK, fillers) - 1);
    }
    // Let the move to the new tables finish before anything is measured.
    const started = performance.now();
    for (;;) {
      const slots = await tableSlots(redis);
      if (!slots.moving) return { keys: slots.keys, expires: slots.expires };
      if (performance.now() - started > 120_000) throw new Error('Redis was still moving its tables to their new size after 120 s');
      await new Promise((resolve) => setTimeout(resolve, 1000));
    }
  } finally {
    redis.disconnect();
  }
}

export async function tableSlotsOf(redisUrl: string): Promise<TableSlots> {
  const redis = new Redis(redisUrl);
  try {
    const { keys, expires } = await tableSlots(redis);
    return { keys, expires };
  } finally {
    redis.disconnect();
  }
}

async function tableSlots(redis: Redis): Promise<TableSlots & { moving: boolean }> {
  const db = Number(redis.options.db ?? 0);
  const stats = String(await redis.call('DEBUG', 'HTSTATS', String(db)));
  const [keysPart = '', expiresPart = ''] = stats.split('[Expires HT]');
  const sum = (part: string) => [...part.matchAll(/table size: (\d+)/g)].reduce((total, match) => total + Number(match[1]), 0);
  return { keys: sum(keysPart), expires: sum(expiresPart), moving: stats.includes('rehashing target') };
}
