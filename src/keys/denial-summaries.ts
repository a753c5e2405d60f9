// `key.denials`: how often a key was refused, per window, as one event per key and window, never
// one per failed request. Counting is a map update in this process (the token path pays nothing
// more); each window's counts are flushed to the outbox when it ends. Each replica sends its own
// summary for the keys it saw, and counts of a replica that dies before its flush are lost: these
// are signals, the audit log stays the complete record.
import type { OutboxStore } from '../stores/outbox.ts';

export type DenialCategory = 'network_denied' | 'locked_out' | 'rate_limited';

interface Tally {
  tenantId: string;
  counts: Record<DenialCategory, number>;
}

/** Keys one window remembers at most: beyond that, denials of new keys are not summarised. */
const MAX_KEYS_PER_WINDOW = 50_000;

export function createDenialSummaries(deps: { outbox: OutboxStore; windowSeconds: number; onError: (error: unknown) => void }) {
  let windowStart = new Date();
  let tallies = new Map<string, Tally>();

  async function flush(): Promise<void> {
    const ended = tallies;
    const start = windowStart;
    tallies = new Map();
    windowStart = new Date();
    for (const [clientId, tally] of ended) {
      await deps.outbox.addEvent({
        type: 'key.denials',
        tenantId: tally.tenantId,
        data: {
          tenant_id: tally.tenantId,
          client_id: clientId,
          window_start: start.toISOString(),
          window_end: windowStart.toISOString(),
          counts: tally.counts,
        },
      });
    }
  }

  const timer = setInterval(() => flush().catch(deps.onError), deps.windowSeconds * 1000);
  timer.unref();

  return {
    /** Counts one denial of a known key. */
    note(key: { clientId: string; tenantId: string }, category: DenialCategory): void {
      let tally = tallies.get(key.clientId);
      if (!tally) {
        if (tallies.size >= MAX_KEYS_PER_WINDOW) return;
        tally = { tenantId: key.tenantId, counts: { network_denied: 0, locked_out: 0, rate_limited: 0 } };
        tallies.set(key.clientId, tally);
      }
      tally.counts[category] += 1;
    },
    flush,
    async close(): Promise<void> {
      clearInterval(timer);
      await flush();
    },
  };
}

export type DenialSummaries = ReturnType<typeof createDenialSummaries>;
