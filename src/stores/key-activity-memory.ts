// Per-key activity for the embedded default: the same contract as Redis, one process only. Like
// Redis, one entry per key and UTC day holding its hours, expiring 30 days after the day ends;
// bounded (when full, the entry written longest ago goes first).
import { ExpiringMap } from './expiring-map.ts';
import { bucketExpiresAtMs, dayOfHour, DAY_MS, HOUR_MS, type ActivityCounts, type ActivityOutcome, type KeyActivityStore } from './key-activity.ts';

/** Key-days kept in memory at most at once. */
export const MEMORY_ACTIVITY_MAX_DAYS = 200_000;

const HOURS_PER_DAY = DAY_MS / HOUR_MS;

export function createMemoryActivityStore(options: { maxDays?: number; now?: () => number } = {}): KeyActivityStore {
  const days = new ExpiringMap<ActivityCounts[]>(options.maxDays ?? MEMORY_ACTIVITY_MAX_DAYS, options.now);
  const hoursOf = (clientId: string, day: number): ActivityCounts[] | undefined => days.get(`${clientId} ${day}`);
  return {
    async add(increments) {
      for (const { clientId, hour, outcome, count } of increments) {
        const day = dayOfHour(hour);
        const hours = hoursOf(clientId, day) ?? Array.from({ length: HOURS_PER_DAY }, (): ActivityCounts => ({}));
        const counts = hours[hour - day * HOURS_PER_DAY]!;
        counts[outcome] = (counts[outcome] ?? 0) + count;
        days.set(`${clientId} ${day}`, hours, bucketExpiresAtMs('day', day));
      }
    },
    async read(clientIds, grain, first, last) {
      const buckets = Array.from({ length: Math.max(0, last - first + 1) }, (_, i) => first + i);
      return clientIds.map((clientId) =>
        buckets.map((bucket) => {
          if (grain === 'hour') return { ...(hoursOf(clientId, dayOfHour(bucket))?.[bucket - dayOfHour(bucket) * HOURS_PER_DAY] ?? {}) };
          const total: ActivityCounts = {};
          for (const counts of hoursOf(clientId, bucket) ?? []) {
            for (const [outcome, n] of Object.entries(counts)) total[outcome as ActivityOutcome] = (total[outcome as ActivityOutcome] ?? 0) + n;
          }
          return total;
        }),
      );
    },
    async close() {},
  };
}
