// Console sessions in Redis: `kg:s:<id hash>` → the record, expiring at the session's end (one key
// per command, so Redis Cluster is fine). It rides on a connection it does not own (the abuse
// counters'): whoever made the connection closes it.
import type { RedisClient } from './redis-connection.ts';
import { decodeSession, encodeSession, type SessionStore } from './sessions.ts';

const sessionKey = (idHash: string) => `kg:s:${idHash}`;

export function createRedisSessionStore(redis: RedisClient): SessionStore {
  return {
    kind: 'redis',
    async save(idHash, record, expiresAt) {
      const ms = expiresAt - Date.now();
      if (ms > 0) await redis.set(sessionKey(idHash), encodeSession(record), 'PX', ms);
    },
    async refresh(idHash, record, expiresAt) {
      const ms = expiresAt - Date.now();
      if (ms <= 0) return false;
      // XX: only an existing key is written, so a DEL that landed after our read wins.
      return (await redis.set(sessionKey(idHash), encodeSession(record), 'PX', ms, 'XX')) === 'OK';
    },
    async find(idHash) {
      const text = await redis.get(sessionKey(idHash));
      return text === null ? undefined : decodeSession(text);
    },
    async destroy(idHash) {
      await redis.del(sessionKey(idHash));
    },
    async close() {},
  };
}
