// The embedded default's session store: one process only, bounded, each record expiring on its own.
// Each user's index maps their sessions' id hashes to when they expire; it is pruned whenever it is
// written or read, so expired, ended or evicted sessions do not pile up in it.
import { ExpiringMap } from './expiring-map.ts';
import type { IndexedSession, SessionRecord, SessionStore } from './sessions.ts';

/** Sessions one process keeps at most; beyond it the least recently saved one is dropped. */
const MAX_SESSIONS = 100_000;

export function createMemorySessionStore(now: () => number = Date.now): SessionStore {
  const sessions = new ExpiringMap<SessionRecord>(MAX_SESSIONS, now);
  const byUser = new Map<string, Map<string, number>>();

  /** Drops the index entries whose session has expired or is gone; forgets an empty index. */
  function prune(userId: string): Map<string, number> | undefined {
    const index = byUser.get(userId);
    if (!index) return undefined;
    const at = now();
    for (const [idHash, expiresAt] of index) if (expiresAt <= at || sessions.get(idHash) === undefined) index.delete(idHash);
    if (index.size === 0) byUser.delete(userId);
    return index.size === 0 ? undefined : index;
  }

  function index(idHash: string, record: SessionRecord, expiresAt: number): void {
    const entries = byUser.get(record.userId) ?? new Map<string, number>();
    entries.set(idHash, expiresAt);
    byUser.set(record.userId, entries);
    prune(record.userId);
  }

  return {
    kind: 'memory',
    async save(idHash, record, expiresAt) {
      if (expiresAt <= now()) return;
      sessions.set(idHash, { ...record }, expiresAt);
      index(idHash, record, expiresAt);
    },
    async refresh(idHash, record, expiresAt) {
      if (expiresAt <= now() || sessions.get(idHash) === undefined) return false;
      sessions.set(idHash, { ...record }, expiresAt);
      index(idHash, record, expiresAt);
      return true;
    },
    async find(idHash) {
      const record = sessions.get(idHash);
      return record && { ...record };
    },
    async destroy(idHash) {
      const record = sessions.get(idHash);
      sessions.delete(idHash);
      if (record) prune(record.userId);
      return record && { ...record };
    },
    async listForUser(userId) {
      const found: IndexedSession[] = [];
      for (const idHash of prune(userId)?.keys() ?? []) {
        const record = sessions.get(idHash);
        if (record) found.push({ idHash, record: { ...record } });
      }
      return found;
    },
    async close() {},
  };
}
