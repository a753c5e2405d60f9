// Console sessions in Redis: `kg:s:<id hash>` → the record, expiring at the session's end (one key
// per command, so Redis Cluster is fine).
import { connectRedis } from './redis-connection.ts';
import { decodeSession, encodeSession, type SessionStore } from './sessions.ts';

const sessionKey = (idHash: string) => `kg:s:${idHash}`;

export function createRedisSessionStore(url: string): SessionStore {
  const redis = connectRedis(url);
  redis.on('error', () => {}); // surfaced by the failing command
  return {
    kind: 'redis',
    async save(idHash, record, expiresAt) {
      const ms = expiresAt - Date.now();
      if (ms > 0) await redis.set(sessionKey(idHash), encodeSession(record), 'PX', ms);
    },
    async find(idHash) {
      const text = await redis.get(sessionKey(idHash));
      return text === null ? undefined : decodeSession(text);
    },
    async destroy(idHash) {
      await redis.del(sessionKey(idHash));
    },
    async close() {
      await redis.quit().catch(() => redis.disconnect());
    },
  };
}
