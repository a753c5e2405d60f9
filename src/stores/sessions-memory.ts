// The embedded default's session store: one process only, bounded, each record expiring on its own.
import { ExpiringMap } from './expiring-map.ts';
import type { SessionRecord, SessionStore } from './sessions.ts';

/** Sessions one process keeps at most; beyond it the least recently saved one is dropped. */
const MAX_SESSIONS = 100_000;

export function createMemorySessionStore(now: () => number = Date.now): SessionStore {
  const sessions = new ExpiringMap<SessionRecord>(MAX_SESSIONS, now);
  return {
    kind: 'memory',
    async save(idHash, record, expiresAt) {
      if (expiresAt > now()) sessions.set(idHash, { ...record }, expiresAt);
    },
    async refresh(idHash, record, expiresAt) {
      if (expiresAt <= now() || sessions.get(idHash) === undefined) return false;
      sessions.set(idHash, { ...record }, expiresAt);
      return true;
    },
    async find(idHash) {
      const record = sessions.get(idHash);
      return record && { ...record };
    },
    async destroy(idHash) {
      sessions.delete(idHash);
    },
    async close() {},
  };
}
