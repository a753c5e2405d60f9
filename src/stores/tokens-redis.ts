// Token state in Redis: a single node, Sentinel or Cluster (redis-connection.ts). On a Cluster a
// token record and its key's index live in different slots, so nothing ever batches the two
// into one multi-key command; the index buckets of one key share a slot (hash tag) and may.
import type { Redis } from 'ioredis';
import { batchedGet, type BatchedGet } from './redis-batched-get.ts';
import { batchedSave } from './redis-batched-save.ts';
import { connectRedis } from './redis-connection.ts';
import { decodeRecord, encodeRecord, MAX_TOKEN_TTL_SECONDS, secondsLeft, type TokenStore } from './tokens.ts';

/**
 * The Redis layout, in one place (the bench's bulk writer uses it too):
 * - `kg:t:<token hash>`: the record (tokens.ts encodeRecord), expiring with the token.
 * - `kg:i:{<client_id>}:<hour>`: the key's index for tokens expiring in that hour, a hash of
 *   token hash → ''. A hash, not a set: Redis before 7.2 stores even a small set of strings as a
 *   hashtable (about 60 bytes a member) but a small hash as a listpack (about 25). Bucketing by
 *   expiry hour lets each bucket expire on its own after its last token, so the index of a key
 *   that mints all day long never grows past its live tokens.
 */
export const REDIS_LAYOUT = {
  tokenKey: (tokenHash: string) => `kg:t:${tokenHash}`,
  indexKey: (clientId: string, bucket: number) => `kg:i:{${clientId}}:${bucket}`,
  bucketOf: (expSeconds: number) => Math.floor(expSeconds / INDEX_BUCKET_SECONDS),
  /** A bucket outlives the last token that can expire in it by a minute. */
  bucketExpiresAt: (bucket: number) => (bucket + 1) * INDEX_BUCKET_SECONDS + 60,
  /** Every bucket that can hold a live token now. */
  liveBuckets(nowSeconds: number): number[] {
    const first = REDIS_LAYOUT.bucketOf(nowSeconds);
    const last = REDIS_LAYOUT.bucketOf(nowSeconds + MAX_TOKEN_TTL_SECONDS);
    return Array.from({ length: last - first + 1 }, (_, i) => first + i);
  },
};

const INDEX_BUCKET_SECONDS = 3600;

export function createRedisTokenStore(url: string): TokenStore {
  const { tokenKey, indexKey, bucketOf, bucketExpiresAt, liveBuckets } = REDIS_LAYOUT;
  const redis = connectRedis(url);
  redis.on('error', () => {}); // surfaced by the failing command and by /readyz
  // The reads of one turn as one MGET on a single node; on a Cluster the records of one batch
  // would live in different slots, so each is its own GET there.
  const readRecord: BatchedGet = redis.isCluster ? (key) => redis.get(key) : batchedGet(redis as Redis);
  const saveOnNode = redis.isCluster ? undefined : batchedSave(redis as Redis);

  /** Deletes the keys; returns how many existed. */
  const deleteKeys = redis.isCluster
    ? // A cluster pipeline may not span slots owned by different nodes, and token records are
      // spread over every slot: send the DELs concurrently, each routed to its own node (and
      // following MOVED/ASK on its own).
      async (keys: string[]) => (await Promise.all(keys.map((key) => redis.del(key)))).reduce((sum, n) => sum + n, 0)
    : // One node: one round trip.
      async (keys: string[]) => {
        const pipeline = redis.pipeline();
        for (const key of keys) pipeline.del(key);
        return sumOf(await pipeline.exec());
      };

  return {
    kind: 'redis',
    async save(tokenHash, record) {
      const ttl = secondsLeft(record, Date.now());
      if (ttl <= 0) return;
      const bucket = bucketOf(record.exp);
      const index = indexKey(record.clientId, bucket);
      const value = encodeRecord(record);
      // Index first: a token is never live without being reachable from its key's index.
      if (saveOnNode) {
        // One node: one script call for the saves of this turn, instead of three commands each.
        await saveOnNode({ index, indexExpiresAt: bucketExpiresAt(bucket), recordKey: tokenKey(tokenHash), tokenHash, value, ttlSeconds: ttl });
        return;
      }
      // On a Cluster the record and the index live in different slots, maybe on different nodes:
      // in turn.
      await Promise.all([redis.hset(index, tokenHash, ''), redis.expireat(index, bucketExpiresAt(bucket))]);
      await redis.set(tokenKey(tokenHash), value, 'EX', ttl);
    },
    async find(tokenHash) {
      const text = await readRecord(tokenKey(tokenHash));
      return text === null ? undefined : decodeRecord(text);
    },
    async destroy(tokenHash) {
      const text = await redis.get(tokenKey(tokenHash));
      await redis.del(tokenKey(tokenHash));
      const record = text === null ? undefined : decodeRecord(text);
      if (record) await redis.hdel(indexKey(record.clientId, bucketOf(record.exp)), tokenHash);
    },
    async destroyAllForKey(clientId) {
      // The buckets share one slot (hash tag): one pipeline and one DEL, on a Cluster too.
      const buckets = liveBuckets(Math.floor(Date.now() / 1000)).map((bucket) => indexKey(clientId, bucket));
      const listing = redis.pipeline();
      for (const bucket of buckets) listing.hkeys(bucket);
      const hashes: string[] = [];
      for (const [error, fields] of (await listing.exec()) ?? []) {
        if (error) throw error;
        hashes.push(...(fields as string[]));
      }
      const removed = hashes.length > 0 ? await deleteKeys(hashes.map(tokenKey)) : 0;
      await redis.del(...buckets);
      return removed;
    },
    async ping() {
      await redis.ping();
    },
    async close() {
      await redis.quit().catch(() => redis.disconnect());
    },
  };
}

function sumOf(replies: [Error | null, unknown][] | null): number {
  let sum = 0;
  for (const [error, count] of replies ?? []) {
    if (error) throw error;
    sum += Number(count);
  }
  return sum;
}
