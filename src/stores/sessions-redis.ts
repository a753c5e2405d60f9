// Console sessions in Redis: `kg:s:<id hash>` → the record, expiring at the session's end, and
// `kg:su:<user id>`, a sorted set of that user's session id hashes scored by when each expires.
// Every command touches one key (one script touches only the index), so Redis Cluster is fine.
// The index sheds expired members on every write and read, and ends when its last member does.
// It rides on a connection it does not own (the abuse counters'): whoever made it closes it.
import type { RedisClient } from './redis-connection.ts';
import { decodeSession, encodeSession, type IndexedSession, type SessionStore } from './sessions.ts';

const sessionKey = (idHash: string) => `kg:s:${idHash}`;
const indexKey = (userId: string) => `kg:su:${userId}`;

/** Adds or moves a member, drops the expired ones, and lets the index live as long as its last member. */
const INDEX_SCRIPT = `
redis.call('ZADD', KEYS[1], ARGV[1], ARGV[2])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[3])
local last = redis.call('ZRANGE', KEYS[1], -1, -1, 'WITHSCORES')
if last[2] then redis.call('PEXPIREAT', KEYS[1], last[2]) end
return 1`;

export function createRedisSessionStore(redis: RedisClient): SessionStore {
  const index = (userId: string, idHash: string, expiresAt: number) =>
    redis.eval(INDEX_SCRIPT, 1, indexKey(userId), String(expiresAt), idHash, String(Date.now()));

  return {
    kind: 'redis',
    async save(idHash, record, expiresAt) {
      const ms = expiresAt - Date.now();
      if (ms <= 0) return;
      await redis.set(sessionKey(idHash), encodeSession(record), 'PX', ms);
      await index(record.userId, idHash, expiresAt);
    },
    async refresh(idHash, record, expiresAt) {
      const ms = expiresAt - Date.now();
      if (ms <= 0) return false;
      // XX: only an existing key is written, so a DEL that landed after our read wins.
      if ((await redis.set(sessionKey(idHash), encodeSession(record), 'PX', ms, 'XX')) !== 'OK') return false;
      await index(record.userId, idHash, expiresAt);
      return true;
    },
    async find(idHash) {
      const text = await redis.get(sessionKey(idHash));
      return text === null ? undefined : decodeSession(text);
    },
    async destroy(idHash) {
      const text = await redis.getdel(sessionKey(idHash));
      const record = text === null ? undefined : decodeSession(text);
      if (record) await redis.zrem(indexKey(record.userId), idHash);
      return record;
    },
    async listForUser(userId) {
      const key = indexKey(userId);
      await redis.zremrangebyscore(key, '-inf', Date.now());
      const idHashes = await redis.zrange(key, 0, -1);
      const texts = await Promise.all(idHashes.map((idHash) => redis.get(sessionKey(idHash))));
      const found: IndexedSession[] = [];
      const gone: string[] = [];
      idHashes.forEach((idHash, i) => {
        const record = texts[i] == null ? undefined : decodeSession(texts[i]!);
        if (record && record.userId === userId) found.push({ idHash, record });
        else gone.push(idHash);
      });
      if (gone.length > 0) await redis.zrem(key, ...gone);
      return found;
    },
    async close() {},
  };
}
