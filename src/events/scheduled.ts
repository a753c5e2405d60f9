// Events due at a time rather than raised by a change: a key's expiry reminders (by default 30, 7
// and 1 days before; each tenant may set its own), its expiry, and the end of a rotation's grace
// period (a notice before it). Every replica looks; the claim (key, event, due time) is inserted in
// the same transaction as the event, so exactly one replica raises each. A new expiry or a new
// rotation makes new due times, and so new events.
import type { Transact } from '../keys/audited-change.ts';
import type { EventType } from '../keys/events.ts';
import type { EventScheduleStore, ScheduleCandidate } from '../stores/event-schedule.ts';

export const DEFAULT_REMINDER_DAYS: readonly number[] = [30, 7, 1];
const DAY_MS = 86_400_000;
/** An expiry older than this when first seen (Keygate was down, or events were just enabled) is not reported. */
const EXPIRED_LOOKBACK_SECONDS = 7 * 86_400;

export interface DueEvent {
  clientId: string;
  tenantId: string;
  type: EventType;
  dueAt: Date;
  data: Record<string, unknown>;
}

/**
 * What is due for one key at `now`. Of the reminders already due only the nearest to the expiry
 * fires: a key created 5 days before its expiry gets the 1-day reminder later, not three at once.
 */
export function dueEvents(key: ScheduleCandidate, now: Date, noticeSeconds: number): DueEvent[] {
  const due: DueEvent[] = [];
  const base = { clientId: key.client_id, tenantId: key.tenant_id };
  const about = { tenant_id: key.tenant_id, client_id: key.client_id, name: key.name };
  const expiresAt = key.expires_at;
  if (expiresAt && expiresAt <= now) {
    due.push({ ...base, type: 'key.expired', dueAt: expiresAt, data: { ...about, expires_at: expiresAt.toISOString() } });
  } else if (expiresAt) {
    const days = [...(key.expiry_reminder_days ?? DEFAULT_REMINDER_DAYS)].sort((a, b) => a - b);
    const nearest = days.find((d) => expiresAt.getTime() - d * DAY_MS <= now.getTime());
    if (nearest !== undefined) {
      due.push({
        ...base,
        type: 'key.expiring',
        dueAt: new Date(expiresAt.getTime() - nearest * DAY_MS),
        data: { ...about, expires_at: expiresAt.toISOString(), days_before: nearest },
      });
    }
  }
  const graceEnds = key.previous_secret_expires_at;
  if (graceEnds && graceEnds > now && graceEnds.getTime() - noticeSeconds * 1000 <= now.getTime()) {
    due.push({ ...base, type: 'key.rotation_grace_ending', dueAt: graceEnds, data: { ...about, previous_secret_expires_at: graceEnds.toISOString() } });
  }
  return due;
}

export function createScheduledEvents(deps: { schedule: EventScheduleStore; transact: Transact; noticeSeconds: number }) {
  return {
    /** Raises every event due now that no replica raised yet; returns how many this call raised. */
    async raiseDue(now = new Date()): Promise<number> {
      const candidates = await deps.schedule.candidates(DEFAULT_REMINDER_DAYS, deps.noticeSeconds, EXPIRED_LOOKBACK_SECONDS);
      const claimed = await deps.schedule.claimed(candidates.map((key) => key.client_id));
      const pending = candidates
        .flatMap((key) => dueEvents(key, now, deps.noticeSeconds))
        .filter((event) => !claimed.has(`${event.clientId}|${event.type}|${event.dueAt.getTime()}`));
      let raised = 0;
      for (const event of pending) {
        const won = await deps.transact(async (tx) => {
          if (!(await tx.schedule.claim(event.clientId, event.type, event.dueAt))) return false;
          await tx.outbox.addEvent({ type: event.type, tenantId: event.tenantId, data: { ...event.data, due_at: event.dueAt.toISOString() } });
          return true;
        });
        if (won) raised += 1;
      }
      return raised;
    },
  };
}
