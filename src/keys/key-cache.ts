// In-process cache of key snapshots (introspection and issuance must not hit Postgres per
// request). Correctness comes first: entries are dropped on every change notification from the
// database (stores/key-changes.ts), the whole cache is bypassed while that feed is down, and a
// load that raced with a change is not kept. Time-based state (expiry, rotation grace) needs no
// invalidation: snapshots hold timestamps that policy compares with "now".
// warm() loads every key ahead of need (at start, and again before entries expire), so a fleet
// of 100,000 keys is served from memory too, and a restart storm does not become one
// Postgres query per client. A key that has not changed keeps the snapshot object it had
// (same-snapshot.ts).
import type { KeySnapshot } from './model.ts';
import { sameSnapshot } from './same-snapshot.ts';

/** Keys one replica holds at most (beyond that, keys load on demand). */
export const KEY_CACHE_MAX_ENTRIES = 250_000;

export interface KeyCacheOptions {
  load(clientId: string): Promise<KeySnapshot | undefined>;
  /** Every key in client_id order, a page at a time, for warm(). */
  loadPage?(afterClientId: string | undefined, limit: number): Promise<KeySnapshot[]>;
  /** Safety net on top of invalidation, ms (default 10 min; warm() renews what it loads). */
  ttlMs?: number;
  maxEntries?: number;
  onLookup?(result: 'hit' | 'miss' | 'bypass'): void;
}

interface Entry {
  snapshot: KeySnapshot | undefined;
  expiresAt: number;
}

export function createKeyCache(options: KeyCacheOptions) {
  const ttlMs = options.ttlMs ?? 600_000;
  const maxEntries = options.maxEntries ?? KEY_CACHE_MAX_ENTRIES;
  const entries = new Map<string, Entry>();
  let trusted = false;
  // Bumped by every invalidation: a load that started before one must not be cached after it.
  let epoch = 0;
  let passesEnded = 0;

  /** One warm pass: every page of keys into the cache; returns how many snapshots were cached. */
  async function warmPages(loadPage: NonNullable<KeyCacheOptions['loadPage']>, pageSize: number): Promise<number> {
    let after: string | undefined;
    let cached = 0;
    while (trusted) {
      const startedAt = epoch;
      const page = await loadPage(after, pageSize);
      if (trusted && startedAt === epoch) {
        const expiresAt = Date.now() + ttlMs;
        for (const fresh of page) {
          const held = entries.get(fresh.clientId);
          // A held key is re-inserted last (the newest is evicted last); a new one needs room.
          if (held) entries.delete(fresh.clientId);
          else if (entries.size >= maxEntries) return cached;
          const snapshot = held?.snapshot && sameSnapshot(held.snapshot, fresh) ? held.snapshot : fresh;
          entries.set(fresh.clientId, { snapshot, expiresAt });
          cached += 1;
        }
      }
      if (page.length < pageSize) break;
      after = page.at(-1)!.clientId;
    }
    return cached;
  }

  return {
    async get(clientId: string): Promise<KeySnapshot | undefined> {
      if (!trusted) {
        options.onLookup?.('bypass');
        return options.load(clientId);
      }
      const entry = entries.get(clientId);
      if (entry && entry.expiresAt > Date.now()) {
        options.onLookup?.('hit');
        return entry.snapshot;
      }
      options.onLookup?.('miss');
      const startedAt = epoch;
      const snapshot = await options.load(clientId);
      if (trusted && startedAt === epoch) {
        if (entries.size >= maxEntries) entries.delete(entries.keys().next().value!); // oldest insertion first
        entries.set(clientId, { snapshot, expiresAt: Date.now() + ttlMs });
      }
      return snapshot;
    },

    /**
     * Loads every key (up to maxEntries), a page at a time, while the cache is trusted. A page
     * that raced with an invalidation is not kept: its keys load on demand. Returns how many
     * snapshots were cached.
     */
    async warm(pageSize = 2000): Promise<number> {
      if (!options.loadPage) return 0;
      try {
        return await warmPages(options.loadPage, pageSize);
      } finally {
        passesEnded += 1;
      }
    },

    /**
     * How many warm passes have ended. What is worked out from several snapshots together (a
     * key's creator chain) is worked out again after each: a pass keeps an unchanged key's
     * snapshot, so only a new count says that the keys around it were read again.
     */
    get passesEnded(): number {
      return passesEnded;
    },

    /** A client_id, or '*' for everything. */
    invalidate(clientId: string): void {
      epoch += 1;
      if (clientId === '*') entries.clear();
      else entries.delete(clientId);
    },

    /** Only a live change feed makes cached entries trustworthy; losing it forgets everything. */
    setTrusted(value: boolean): void {
      epoch += 1;
      trusted = value;
      entries.clear();
    },

    get size(): number {
      return entries.size;
    },
  };
}

export type KeyCache = ReturnType<typeof createKeyCache>;
