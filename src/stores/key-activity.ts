// Per-key activity counts: how many tokens a key was issued, refused (by reason) and how its
// tokens fared at introspection, per hour and per day, kept 30 days. Redis when configured
// (key-activity-redis.ts), process memory for the embedded default (key-activity-memory.ts).
// The hot path never writes here directly: keys/activity.ts batches counts in memory.

export const ACTIVITY_OUTCOMES = [
  'issued',
  'denied_bad_secret',
  'denied_network',
  'denied_expired',
  'denied_disabled',
  'denied_owner',
  'denied_scope',
  'denied_rate_limited',
  'introspection_active',
  'introspection_inactive',
] as const;

export type ActivityOutcome = (typeof ACTIVITY_OUTCOMES)[number];

/** Counts of one bucket; an outcome that never happened is absent. */
export type ActivityCounts = Partial<Record<ActivityOutcome, number>>;

export interface ActivityIncrement {
  clientId: string;
  /** Hours since the epoch (UTC). */
  hour: number;
  outcome: ActivityOutcome;
  count: number;
}

/** Counts are read per hour or per UTC day (a day is the sum of its hours). */
export type ActivityGrain = 'hour' | 'day';

export const ACTIVITY_RETENTION_DAYS = 30;
export const HOUR_MS = 3_600_000;
export const DAY_MS = 86_400_000;

export const bucketMs = (grain: ActivityGrain): number => (grain === 'hour' ? HOUR_MS : DAY_MS);
export const bucketOf = (grain: ActivityGrain, ms: number): number => Math.floor(ms / bucketMs(grain));
export const dayOfHour = (hour: number): number => Math.floor((hour * HOUR_MS) / DAY_MS);
/** A bucket is kept for the retention period after it ends (ms since the epoch). */
export const bucketExpiresAtMs = (grain: ActivityGrain, bucket: number): number => (bucket + 1) * bucketMs(grain) + ACTIVITY_RETENTION_DAYS * DAY_MS;

export interface KeyActivityStore {
  /** Adds each increment to its key's count for that hour (and so for that day). */
  add(increments: readonly ActivityIncrement[]): Promise<void>;
  /** For each key, the counts of buckets first..last (inclusive), oldest first. */
  read(clientIds: readonly string[], grain: ActivityGrain, first: number, last: number): Promise<ActivityCounts[][]>;
  close(): Promise<void>;
}
