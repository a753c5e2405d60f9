// Events due at a time rather than raised by a change: a key's expiry reminders (by default 30, 7
// and 1 days before; each tenant may set its own), its expiry, and the end of a rotation's grace
// period (a notice before it). Every replica looks, every `intervalMs`; the claim (key, event, due
// time) is inserted in the same transaction as the event, so exactly one replica raises each. A
// new expiry or a new rotation makes new due times, and so new events. Which events are due is
// decided in one place, the query (stores/event-schedule.ts), so a replica reads only what is due.
import type { Transact } from '../keys/audited-change.ts';
import type { DueEventRow, EventScheduleStore } from '../stores/event-schedule.ts';

export const DEFAULT_REMINDER_DAYS: readonly number[] = [30, 7, 1];
/** An expiry older than this when first seen (Keygate was down, or events were just enabled) is not reported. */
const EXPIRED_LOOKBACK_SECONDS = 7 * 86_400;
const BATCH = 500;

function dataOf(row: DueEventRow): Record<string, unknown> {
  const data: Record<string, unknown> = { tenant_id: row.tenant_id, client_id: row.client_id, name: row.name };
  if (row.type === 'key.rotation_grace_ending') data.previous_secret_expires_at = row.previous_secret_expires_at?.toISOString();
  else data.expires_at = row.expires_at?.toISOString();
  if (row.type === 'key.expiring') data.days_before = row.days_before;
  return { ...data, due_at: row.due_at.toISOString() };
}

export function createScheduledEvents(deps: { schedule: EventScheduleStore; transact: Transact; noticeSeconds: number; intervalMs: number }) {
  const rules = { defaultReminderDays: DEFAULT_REMINDER_DAYS, noticeSeconds: deps.noticeSeconds, expiredLookbackSeconds: EXPIRED_LOOKBACK_SECONDS };
  let nextRun = 0;
  return {
    /** Raises the events due now that no replica raised yet (at most one batch); returns how many this call raised. */
    async once(now = Date.now()): Promise<number> {
      if (now < nextRun) return 0;
      const due = await deps.schedule.dueUnclaimed(rules, BATCH);
      // A full batch means more is due: look again at once instead of after the interval.
      nextRun = due.length < BATCH ? now + deps.intervalMs : 0;
      let raised = 0;
      for (const row of due) {
        const won = await deps.transact(async (tx) => {
          if (!(await tx.schedule.claim(row.client_id, row.type, row.due_at))) return false;
          await tx.outbox.addEvent({ type: row.type, tenantId: row.tenant_id, data: dataOf(row) });
          return true;
        });
        if (won) raised += 1;
      }
      return raised;
    },
  };
}
