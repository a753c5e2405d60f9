// last_used_at / last_used_ip without a database write per token request: sightings are kept
// in memory, newest per key, and written in one statement every few seconds and at shutdown.
// A key this replica wrote less than ten minutes ago, from the same address, is not written
// again: a client that fetches a token every few seconds costs one row update per ten minutes,
// and a new address is still on record at the next flush. The same holds across replicas: a row
// another replica recorded less than ten minutes before, from the same address, is not rewritten.
// Ten minutes, not one: each write is a new row version and an entry in every index of the
// table, so with a fleet of busy keys these advisory writes were a steady share of the database
// and, after a restart, one update per key in the middle of the storm.
import type { Logger } from 'pino';
import type { KeyStore } from '../stores/keys.ts';
import type { KeyUsage } from '../stores/key-last-use.ts';
import { RecentWrites } from './recent-writes.ts';

/** How old a key's recorded last use from the same address may grow before it is written again. */
export const LAST_USE_REWRITE_AFTER_MS = 10 * 60_000;

export interface UsageRecorder {
  seen(clientId: string, ip: string | null): void;
  flush(): Promise<void>;
  close(): Promise<void>;
}

export interface UsageOptions {
  /** How often sightings are written, ms (default 5 s). */
  intervalMs?: number;
  /** A key written this recently from the same address is not written again, ms (default 10 min). */
  rewriteAfterMs?: number;
}

export function createUsageRecorder(keys: Pick<KeyStore, 'recordUsage'>, log: Logger, options: UsageOptions = {}): UsageRecorder {
  const intervalMs = options.intervalMs ?? 5000;
  const rewriteAfterMs = options.rewriteAfterMs ?? LAST_USE_REWRITE_AFTER_MS;
  // The newest sighting per key since the last flush: a Map from client id to a position in
  // parallel arrays (no record and no Date per sighting; the batch is built at the flush).
  let pending = new Map<string, number>();
  let pendingAtMs: number[] = [];
  let pendingIps: (string | null)[] = [];
  // What this replica last wrote per key, oldest write first; writes older than rewriteAfterMs
  // are dropped at each flush, so this holds only the keys written within that window.
  const written = new RecentWrites();

  const flush = async () => {
    written.forgetOlderThan(Date.now(), rewriteAfterMs);
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
      if (written.wroteRecently(clientId, ip, nowMs, rewriteAfterMs)) return;
      const at = pending.get(clientId);
      if (at === undefined) {
        pending.set(clientId, pendingAtMs.length);
        pendingAtMs.push(nowMs);
        pendingIps.push(ip);
      } else {
        pendingAtMs[at] = nowMs;
        pendingIps[at] = ip;
      }
    },
    flush,
    async close() {
      clearInterval(timer);
      await flush();
    },
  };
}
