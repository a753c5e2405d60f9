// last_used_at / last_used_ip without a database write per token request: sightings are kept
// in memory, newest per key, and written in one statement every few seconds and at shutdown.
// The statement leaves a row alone that was recorded less than ten minutes before the sighting
// from the same address (by any replica): a client that fetches a token every few seconds costs
// one row update per ten minutes, and a new address is on record at the next flush. Ten minutes,
// not one: each write is a new row version and an entry in every index of the table, so with a
// fleet of busy keys these advisory writes were a steady share of the database and, after a
// restart, one update per key in the middle of the storm.
// A replica does not send a key again that it sent less than a minute ago from the same address,
// so the statement is not asked about every key at every flush. Only a minute: meanwhile another
// replica may have recorded another address, and until this replica asks again, a use from its
// own earlier address stays hidden behind that one.
import type { Logger } from 'pino';
import type { KeyStore } from '../stores/keys.ts';
import type { KeyUsage } from '../stores/key-last-use.ts';
import { RecentWrites } from './recent-writes.ts';

/** How old a key's recorded last use from the same address may grow before it is written again. */
export const LAST_USE_REWRITE_AFTER_MS = 10 * 60_000;

/** How long a replica takes its own sending of a key from an address as still current. */
export const LAST_USE_RECHECK_AFTER_MS = 60_000;

export interface UsageRecorder {
  seen(clientId: string, ip: string | null): void;
  flush(): Promise<void>;
  close(): Promise<void>;
}

export interface UsageOptions {
  /** How often sightings are written, ms (default 5 s). */
  intervalMs?: number;
  /** A row recorded this recently from the same address is not written again, ms (default 10 min). */
  rewriteAfterMs?: number;
  /** A key this replica sent this recently from the same address is not sent again, ms (default 1 min). */
  recheckAfterMs?: number;
}

export function createUsageRecorder(keys: Pick<KeyStore, 'recordUsage'>, log: Logger, options: UsageOptions = {}): UsageRecorder {
  const intervalMs = options.intervalMs ?? 5000;
  const rewriteAfterMs = options.rewriteAfterMs ?? LAST_USE_REWRITE_AFTER_MS;
  const recheckAfterMs = options.recheckAfterMs ?? LAST_USE_RECHECK_AFTER_MS;
  // The newest sighting per key since the last flush: a Map from client id to a position in
  // parallel arrays (no record and no Date per sighting; the batch is built at the flush).
  let pending = new Map<string, number>();
  let pendingAtMs: number[] = [];
  let pendingIps: (string | null)[] = [];
  // What this replica last sent per key, oldest first; sendings older than recheckAfterMs are
  // dropped at each flush, so this holds only the keys sent in the last minute.
  const written = new RecentWrites();

  const flush = async () => {
    written.forgetOlderThan(Date.now(), recheckAfterMs);
    if (pending.size === 0) return;
    const batch: KeyUsage[] = [];
    for (const [clientId, at] of pending) batch.push({ clientId, at: new Date(pendingAtMs[at]!), ip: pendingIps[at] ?? null });
    pending = new Map();
    pendingAtMs = [];
    pendingIps = [];
    try {
      await keys.recordUsage(batch, rewriteAfterMs);
    } catch (error) {
      // Last-use data is advisory: a failed write is logged, never fails a token request.
      log.warn({ err: error, keys: batch.length }, 'could not record key usage');
      return;
    }
    for (const usage of batch) written.record(usage.clientId, usage.at.getTime(), usage.ip);
  };
  const timer = setInterval(() => void flush(), intervalMs);
  timer.unref();
  return {
    seen(clientId, ip) {
      const nowMs = Date.now();
      const at = pending.get(clientId);
      if (at !== undefined) {
        // Already waiting: the newest sighting replaces it, even from an address this replica
        // sent a moment ago (the waiting one may be from another address, and is older).
        pendingAtMs[at] = nowMs;
        pendingIps[at] = ip;
        return;
      }
      if (written.wroteRecently(clientId, ip, nowMs, recheckAfterMs)) return;
      pending.set(clientId, pendingAtMs.length);
      pendingAtMs.push(nowMs);
      pendingIps.push(ip);
    },
    flush,
    async close() {
      clearInterval(timer);
      await flush();
    },
  };
}
