// Keeps the delivery log and the schedule claims from growing forever: finished deliveries (and
// their attempts) older than the retention are removed, and so are claims far older than any due
// time a key could still produce. Every replica runs it, at most every few minutes; deleting the
// same old rows twice is harmless.
import type { EventScheduleStore } from '../stores/event-schedule.ts';
import type { WebhookStore } from '../stores/webhooks.ts';

const DAY_MS = 86_400_000;
const EVERY_MS = 10 * 60_000;
/** Longer than the longest reminder offset (365 days) plus the expiry lookback (7 days). */
const CLAIM_RETENTION_DAYS = 400;

export function createEventRetention(deps: { webhooks: WebhookStore; schedule: EventScheduleStore; retentionDays: number }) {
  let nextRun = 0;
  return {
    /** Removes what is past its retention, when due; returns how many deliveries went. */
    async once(now = Date.now()): Promise<number> {
      if (now < nextRun) return 0;
      nextRun = now + EVERY_MS;
      await deps.schedule.removeClaimsBefore(new Date(now - CLAIM_RETENTION_DAYS * DAY_MS));
      return deps.webhooks.removeFinishedBefore(new Date(now - deps.retentionDays * DAY_MS));
    },
  };
}
