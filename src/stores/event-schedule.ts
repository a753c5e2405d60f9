// What scheduled events need: keys whose expiry or rotation grace is near, and the claims that
// make each (key, event, due time) fire once, whichever replica gets there first.
import { sql } from 'kysely';
import type { Db } from './db.ts';

export interface ScheduleCandidate {
  client_id: string;
  tenant_id: string;
  name: string;
  expires_at: Date | null;
  previous_secret_expires_at: Date | null;
  /** The key's tenant's reminder offsets in days; null = the default. */
  expiry_reminder_days: number[] | null;
}

export function createEventScheduleStore(db: Db) {
  return {
    /**
     * Active keys with a reminder, an expiry (within `expiredLookbackSeconds`) or a grace end
     * (within `noticeSeconds`) that may be due now.
     */
    async candidates(defaultReminderDays: readonly number[], noticeSeconds: number, expiredLookbackSeconds: number): Promise<ScheduleCandidate[]> {
      const result = await sql<ScheduleCandidate>`
        select k.client_id, k.tenant_id, k.name, k.expires_at, k.previous_secret_expires_at, t.expiry_reminder_days
        from api_keys k join tenants t on t.id = k.tenant_id
        where k.status = 'active' and (
          (k.expires_at > now() - make_interval(secs => ${expiredLookbackSeconds})
            and k.expires_at <= now() + make_interval(days => (select max(d) from unnest(coalesce(t.expiry_reminder_days, ${[...defaultReminderDays]}::int[])) d)))
          or (k.previous_secret_expires_at > now() and k.previous_secret_expires_at <= now() + make_interval(secs => ${noticeSeconds}))
        )`.execute(db);
      return result.rows;
    },

    /** Claims already made for these keys, as `client_id|type|due ms`. */
    async claimed(clientIds: readonly string[]): Promise<Set<string>> {
      if (clientIds.length === 0) return new Set();
      const rows = await db.selectFrom('event_schedule_claims').selectAll().where('client_id', 'in', clientIds).execute();
      return new Set(rows.map((row) => `${row.client_id}|${row.type}|${row.due_at.getTime()}`));
    },

    async removeClaimsBefore(cutoff: Date): Promise<void> {
      await db.deleteFrom('event_schedule_claims').where('due_at', '<', cutoff).execute();
    },

    /** True when this call made the claim; false when it existed (another replica, or earlier). */
    async claim(clientId: string, type: string, dueAt: Date): Promise<boolean> {
      const row = await db
        .insertInto('event_schedule_claims')
        .values({ client_id: clientId, type, due_at: dueAt })
        .onConflict((oc) => oc.doNothing())
        .returning('client_id')
        .executeTakeFirst();
      return row !== undefined;
    },
  };
}

export type EventScheduleStore = ReturnType<typeof createEventScheduleStore>;
