// In-process cache of key snapshots (SPEC §8: introspection and issuance must not hit Postgres per
// request). Correctness comes first: entries are dropped on every change notification from the
// database (stores/key-changes.ts), the whole cache is bypassed while that feed is down, and a
// load that raced with a change is not kept. Time-based state (expiry, rotation grace) needs no
// invalidation: snapshots hold timestamps that policy compares with "now".
import type { KeySnapshot } from './model.ts';

export interface KeyCacheOptions {
  load(clientId: string): Promise<KeySnapshot | undefined>;
  /** Safety net on top of invalidation, ms. */
  ttlMs?: number;
  maxEntries?: number;
  onLookup?(result: 'hit' | 'miss' | 'bypass'): void;
}

interface Entry {
  snapshot: KeySnapshot | undefined;
  expiresAt: number;
}

export function createKeyCache(options: KeyCacheOptions) {
  const ttlMs = options.ttlMs ?? 60_000;
  const maxEntries = options.maxEntries ?? 250_000;
  const entries = new Map<string, Entry>();
  let trusted = false;
  // Bumped by every invalidation: a load that started before one must not be cached after it.
  let epoch = 0;

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
