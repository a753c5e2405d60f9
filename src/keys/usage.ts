// last_used_at / last_used_ip without a database write per token request: sightings are kept
// in memory, newest per key, and written in one statement every few seconds and at shutdown.
// The statement leaves a row alone that was recorded less than ten minutes before the sighting
// from the same address (by any replica): a client that fetches a token every few seconds costs
// one row update per ten minutes, and a new address is on record at the next flush. Ten minutes,
// not one: each write is a new row version and an entry in every index of the table, so with a
// fleet of busy keys these advisory writes were a steady share of the database and, after a
// restart, one update per key in the middle of the storm.
// A replica does not send a key again that it sent recently from the same address. Meanwhile
// another replica may record another address, and until this replica learns of it, a use from its
// own earlier address would stay hidden behind that one. Every changed row is announced on the
// database's change feed: a replica that hears of another address for a key it remembers forgets
// the key and, if it saw the key later than the announced write, sends that later sighting. A
// replica remembers only what is on record: not a sighting the statement left alone behind a use
// as new or newer from another address, nor one another replica's announcement overtook while
// the write was on its way. While it hears the announcements, its memory lasts as long as the
// statement's ten minutes; while the feed is down (or a replica has none), only a minute, after
// which it asks the database again.
import type { Logger } from 'pino';
import type { KeyStore } from '../stores/keys.ts';
import type { KeyUsage } from '../stores/key-last-use.ts';
import type { LastUseWrite } from '../stores/key-changes.ts';
import { oneAtATime } from '../shared/one-at-a-time.ts';
import { RecentWrites } from './recent-writes.ts';

/** How old a key's recorded last use from the same address may grow before it is written again. */
export const LAST_USE_REWRITE_AFTER_MS = 10 * 60_000;

/** How often a replica writes the sightings it holds, by default. */
export const LAST_USE_FLUSH_INTERVAL_MS = 5000;

/** How long a replica that hears no announcements takes its own sending of a key as still current. */
export const LAST_USE_RECHECK_AFTER_MS = 60_000;

export interface UsageRecorder {
  seen(clientId: string, ip: string | null): void;
  /** Rows some replica just changed (the change feed's announcements). */
  writtenElsewhere(writes: readonly LastUseWrite[]): void;
  /** Whether announcements are arriving: while they are, this replica's memory lasts rewriteAfterMs. */
  hearAnnouncements(live: boolean): void;
  flush(): Promise<void>;
  close(): Promise<void>;
}

export interface UsageOptions {
  /** How often sightings are written, ms (default 5 s). */
  intervalMs?: number;
  /** A row recorded this recently from the same address is not written again, ms (default 10 min). */
  rewriteAfterMs?: number;
  /** Without announcements, a key this replica sent this recently from the same address is not sent again, ms (default 1 min). */
  recheckAfterMs?: number;
}

export function createUsageRecorder(keys: Pick<KeyStore, 'recordUsage'>, log: Logger, options: UsageOptions = {}): UsageRecorder {
  const intervalMs = options.intervalMs ?? LAST_USE_FLUSH_INTERVAL_MS;
  const rewriteAfterMs = options.rewriteAfterMs ?? LAST_USE_REWRITE_AFTER_MS;
  const recheckAfterMs = options.recheckAfterMs ?? LAST_USE_RECHECK_AFTER_MS;
  // The newest sighting per key since the last flush: a Map from client id to a position in
  // parallel arrays (no record and no Date per sighting; the batch is built at the flush).
  let pending = new Map<string, number>();
  let pendingAtMs: number[] = [];
  let pendingIps: (string | null)[] = [];
  // What this replica last sent per key, oldest first; sendings older than the memory's span
  // are dropped at each flush.
  const written = new RecentWrites();
  let announced = false;
  const memoryMs = () => (announced ? Math.max(rewriteAfterMs, recheckAfterMs) : recheckAfterMs);

  const wait = (clientId: string, atMs: number, ip: string | null) => {
    const at = pending.get(clientId);
    if (at === undefined) {
      pending.set(clientId, pendingAtMs.length);
      pendingAtMs.push(atMs);
      pendingIps.push(ip);
    } else if (pendingAtMs[at]! < atMs) {
      pendingAtMs[at] = atMs;
      pendingIps[at] = ip;
    }
  };

  /**
   * The stored row now names `ip` at `atMs`. If this replica remembers the key from another
   * address, it forgets it, and a sighting from there later than the row's is sent after all.
   */
  const reconcile = (clientId: string, ip: string | null, atMs: number) => {
    const mine = written.latest(clientId);
    if (!mine || mine.ip === ip) return;
    written.forget(clientId);
    if (mine.seenMs > atMs) wait(clientId, mine.seenMs, mine.ip);
  };

  // Announcements heard while a write is on its way, newest per key: a row another replica
  // changed meanwhile may hold a newer use than the sighting this replica just sent.
  let writeOnItsWay = false;
  let heardMeanwhile = new Map<string, LastUseWrite>();

  const writeWaiting = async () => {
    written.forgetOlderThan(Date.now(), memoryMs());
    if (pending.size === 0) return;
    const batch: KeyUsage[] = [];
    for (const [clientId, at] of pending) batch.push({ clientId, at: new Date(pendingAtMs[at]!), ip: pendingIps[at] ?? null });
    pending = new Map();
    pendingAtMs = [];
    pendingIps = [];
    let superseded: ReadonlySet<string>;
    writeOnItsWay = true;
    try {
      superseded = new Set(await keys.recordUsage(batch, rewriteAfterMs));
    } catch (error) {
      // Last-use data is advisory: a failed write is logged, never fails a token request.
      log.warn({ err: error, keys: batch.length }, 'could not record key usage');
      return;
    } finally {
      writeOnItsWay = false;
    }
    const heard = heardMeanwhile;
    heardMeanwhile = new Map();
    for (const usage of batch) {
      const atMs = usage.at.getTime();
      const other = heard.get(usage.clientId);
      if (superseded.has(usage.clientId) || (other && other.ip !== usage.ip && other.atMs >= atMs)) {
        // Not on record: the row names a use from another address at least as new. Remembering
        // this write would cover this address's next sightings behind that one.
        const mine = written.latest(usage.clientId);
        written.forget(usage.clientId);
        if (mine && mine.ip !== usage.ip && mine.seenMs > atMs) wait(usage.clientId, mine.seenMs, mine.ip);
        continue;
      }
      // A sighting from the previously sent address, covered while this batch was on its way,
      // may be newer than the one just written.
      reconcile(usage.clientId, usage.ip, atMs);
      written.record(usage.clientId, atMs, usage.ip);
    }
  };
  // One write at a time: close() waits for the one on its way (its chunks are several
  // statements, and the database closes next), and the memory of what was written stays in order.
  const flush = oneAtATime(writeWaiting);
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
      if (written.covers(clientId, ip, nowMs, memoryMs())) return;
      pending.set(clientId, pendingAtMs.length);
      pendingAtMs.push(nowMs);
      pendingIps.push(ip);
    },
    writtenElsewhere(writes) {
      for (const write of writes) {
        reconcile(write.clientId, write.ip, write.atMs);
        if (!writeOnItsWay) continue;
        const known = heardMeanwhile.get(write.clientId);
        if (!known || known.atMs < write.atMs) heardMeanwhile.set(write.clientId, write);
      }
    },
    hearAnnouncements(live) {
      if (live === announced) return;
      announced = live;
      // Announcements may have been missed while none arrived: trust nothing remembered.
      if (live) written.clear();
    },
    flush,
    async close() {
      clearInterval(timer);
      await flush();
    },
  };
}
