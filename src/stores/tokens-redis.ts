// Token state in Redis. Every command touches one key, so the store works unchanged on a
// Redis Cluster: the token record and its key's index may live in different slots.
import { Redis } from 'ioredis';
import { decodeRecord, encodeRecord, MAX_TOKEN_TTL_SECONDS, secondsLeft, type TokenStore } from './tokens.ts';

const tokenKey = (tokenHash: string) => `kg:t:${tokenHash}`;
const indexKey = (clientId: string) => `kg:i:${clientId}`;

export function createRedisTokenStore(url: string): TokenStore {
  const redis = new Redis(url, { lazyConnect: false, maxRetriesPerRequest: 1, enableOfflineQueue: true });
  redis.on('error', () => {}); // surfaced by the failing command and by /readyz
  return {
    kind: 'redis',
    async save(tokenHash, record) {
      const ttl = secondsLeft(record, Date.now());
      if (ttl <= 0) return;
      // Index first: a token is never live without being reachable from its key's index.
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
      let removed = 0;
      if (hashes.length > 0) {
        const pipeline = redis.pipeline();
        for (const hash of hashes) pipeline.del(tokenKey(hash));
        for (const [error, count] of (await pipeline.exec()) ?? []) {
          if (error) throw error;
          removed += Number(count);
        }
      }
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
