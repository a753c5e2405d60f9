// Token state in Redis: a single node, Sentinel or Cluster (redis-connection.ts). Every command
// touches one key, so the store works on a Redis Cluster: the token record and its key's index
// may live in different slots, and nothing ever batches keys of different slots together.
import { connectRedis } from './redis-connection.ts';
import { decodeRecord, encodeRecord, MAX_TOKEN_TTL_SECONDS, secondsLeft, type TokenStore } from './tokens.ts';

const tokenKey = (tokenHash: string) => `kg:t:${tokenHash}`;
const indexKey = (clientId: string) => `kg:i:${clientId}`;

export function createRedisTokenStore(url: string): TokenStore {
  const redis = connectRedis(url);
  redis.on('error', () => {}); // surfaced by the failing command and by /readyz

  /** Deletes the keys; returns how many existed. */
  const deleteKeys = redis.isCluster
    // A cluster pipeline may not span slots owned by different nodes, and token records are
    // spread over every slot: send the DELs concurrently, each routed to its own node (and
    // following MOVED/ASK on its own).
    ? async (keys: string[]) => (await Promise.all(keys.map((key) => redis.del(key)))).reduce((sum, n) => sum + n, 0)
    // One node: one round trip.
    : async (keys: string[]) => {
      const pipeline = redis.pipeline();
      for (const key of keys) pipeline.del(key);
      let removed = 0;
      for (const [error, count] of (await pipeline.exec()) ?? []) {
        if (error) throw error;
        removed += Number(count);
      }
      return removed;
    };

  return {
    kind: 'redis',
    async save(tokenHash, record) {
      const ttl = secondsLeft(record, Date.now());
      if (ttl <= 0) return;
      // Index first: a token is never live without being reachable from its key's index.
      // The transaction touches the index key only (one slot).
      await redis.multi()
        .sadd(indexKey(record.clientId), tokenHash)
        .expire(indexKey(record.clientId), MAX_TOKEN_TTL_SECONDS)
        .exec();
      await redis.set(tokenKey(tokenHash), encodeRecord(record), 'EX', ttl);
    },
    async find(tokenHash) {
      const text = await redis.get(tokenKey(tokenHash));
      return text === null ? undefined : decodeRecord(text);
    },
    async destroy(tokenHash) {
      const text = await redis.get(tokenKey(tokenHash));
      await redis.del(tokenKey(tokenHash));
      const record = text === null ? undefined : decodeRecord(text);
      if (record) await redis.srem(indexKey(record.clientId), tokenHash);
    },
    async destroyAllForKey(clientId) {
      const hashes = await redis.smembers(indexKey(clientId));
      const removed = hashes.length > 0 ? await deleteKeys(hashes.map(tokenKey)) : 0;
      await redis.del(indexKey(clientId));
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
