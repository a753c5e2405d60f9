// A key's activity as the admin API shows it: a series over a window (24 hours by the hour, 7 or
// 30 days by the day), and the 7-day issuance totals behind a list's sparkline.
import { bucketMs, bucketOf, type ActivityCounts, type ActivityGrain, type KeyActivityStore } from '../stores/key-activity.ts';

export const USAGE_WINDOWS = {
  '24h': { grain: 'hour', buckets: 24 },
  '7d': { grain: 'day', buckets: 7 },
  '30d': { grain: 'day', buckets: 30 },
} as const satisfies Record<string, { grain: ActivityGrain; buckets: number }>;
export type UsageWindow = keyof typeof USAGE_WINDOWS;

export interface UsagePoint {
  at: string;
  issued: number;
  denied: { bad_secret: number; network: number; expired: number; disabled: number; owner: number; scope: number; rate_limited: number };
  introspection: { active: number; inactive: number };
}

export interface UsageSeries {
  window: UsageWindow;
  bucket: ActivityGrain;
  series: UsagePoint[];
}

function point(at: number, c: ActivityCounts): UsagePoint {
  return {
    at: new Date(at).toISOString(),
    issued: c.issued ?? 0,
    denied: {
      bad_secret: c.denied_bad_secret ?? 0,
      network: c.denied_network ?? 0,
      expired: c.denied_expired ?? 0,
      disabled: c.denied_disabled ?? 0,
      owner: c.denied_owner ?? 0,
      scope: c.denied_scope ?? 0,
      rate_limited: c.denied_rate_limited ?? 0,
    },
    introspection: { active: c.introspection_active ?? 0, inactive: c.introspection_inactive ?? 0 },
  };
}

/** The window's buckets, oldest first, the current (partial) hour or day last. */
export async function usageSeries(store: Pick<KeyActivityStore, 'read'>, clientId: string, window: UsageWindow, now: Date): Promise<UsageSeries> {
  const { grain, buckets } = USAGE_WINDOWS[window];
  const last = bucketOf(grain, now.getTime());
  const first = last - buckets + 1;
  const [rows = []] = await store.read([clientId], grain, first, last);
  return { window, bucket: grain, series: rows.map((counts, i) => point((first + i) * bucketMs(grain), counts)) };
}

/** Tokens issued per UTC day over the last 7 days (today last), for each key, in one read. */
export async function issuedLast7Days(store: Pick<KeyActivityStore, 'read'>, clientIds: readonly string[], now: Date): Promise<number[][]> {
  const last = bucketOf('day', now.getTime());
  const rows = await store.read(clientIds, 'day', last - 6, last);
  return rows.map((days) => days.map((counts) => counts.issued ?? 0));
}
