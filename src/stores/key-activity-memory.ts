// Per-key activity for the embedded default: the same contract as Redis, one process only,
// bounded (the oldest bucket written goes first when full), each bucket expiring on its own.
import { ExpiringMap } from './expiring-map.ts';
import { bucketExpiresAtMs, dayOfHour, type ActivityCounts, type ActivityGrain, type KeyActivityStore } from './key-activity.ts';

/** Buckets kept in memory at most at once. */
export const MEMORY_ACTIVITY_MAX_BUCKETS = 200_000;

export function createMemoryActivityStore(options: { maxBuckets?: number; now?: () => number } = {}): KeyActivityStore {
  const buckets = new ExpiringMap<ActivityCounts>(options.maxBuckets ?? MEMORY_ACTIVITY_MAX_BUCKETS, options.now);
  const name = (clientId: string, grain: ActivityGrain, bucket: number) => `${clientId} ${grain} ${bucket}`;
  const bump = (clientId: string, grain: ActivityGrain, bucket: number, outcome: keyof ActivityCounts, count: number) => {
    const key = name(clientId, grain, bucket);
    const counts = buckets.get(key) ?? {};
    counts[outcome] = (counts[outcome] ?? 0) + count;
    buckets.set(key, counts, bucketExpiresAtMs(grain, bucket));
  };
  return {
    async add(increments) {
      for (const { clientId, hour, outcome, count } of increments) {
        bump(clientId, 'hour', hour, outcome, count);
        bump(clientId, 'day', dayOfHour(hour), outcome, count);
      }
    },
    async read(clientIds, grain, first, last) {
      return clientIds.map((clientId) =>
        Array.from({ length: Math.max(0, last - first + 1) }, (_, i) => ({ ...(buckets.get(name(clientId, grain, first + i)) ?? {}) })),
      );
    },
    async close() {},
  };
}
