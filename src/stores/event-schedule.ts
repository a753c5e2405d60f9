// What scheduled events need: the (key, event, due time) triples that are due and not yet claimed,
// and the claims that make each fire once, whichever replica gets there first.
import { sql } from 'kysely';
import type { Db } from './db.ts';

export type ScheduledType = 'key.expiring' | 'key.expired' | 'key.rotation_grace_ending';

export interface DueEventRow {
  client_id: string;
  tenant_id: string;
  name: string;
  type: ScheduledType;
  due_at: Date;
  expires_at: Date | null;
  previous_secret_expires_at: Date | null;
  /** For `key.expiring`: which reminder (days before the expiry). */
  days_before: number | null;
}

export interface ScheduleRules {
  /** Reminder offsets, in days, for tenants that set none. */
  defaultReminderDays: readonly number[];
  /** How long before a rotated-out secret stops `key.rotation_grace_ending` is due. */
  noticeSeconds: number;
  /** An expiry older than this is never reported. */
  expiredLookbackSeconds: number;
}

export function createEventScheduleStore(db: Db) {
  return {
    /**
     * Every scheduled event due now and not yet claimed, for active keys. Of the reminders already
     * due for a key only the nearest to its expiry counts (a key created 5 days before its expiry
     * gets the 1-day reminder, not three at once).
     */
    async dueUnclaimed(rules: ScheduleRules, limit: number): Promise<DueEventRow[]> {
      const result = await sql<DueEventRow>`
        with near as (
          select k.client_id, k.tenant_id, k.name, k.expires_at, k.previous_secret_expires_at,
            coalesce(t.expiry_reminder_days, ${[...rules.defaultReminderDays]}::int[]) as days
          from api_keys k join tenants t on t.id = k.tenant_id
          where k.status = 'active' and (
            (k.expires_at > now() - make_interval(secs => ${rules.expiredLookbackSeconds})
              and k.expires_at <= now() + make_interval(days => (select max(d) from unnest(coalesce(t.expiry_reminder_days, ${[...rules.defaultReminderDays]}::int[])) d))
              -- The furthest reminder of any tenant: a bound known before the scan, so only the keys
              -- expiring inside it are read (through the expires_at index), not every key.
              and k.expires_at <= now() + make_interval(days => (
                select coalesce(max(d), 0) from tenants, unnest(coalesce(tenants.expiry_reminder_days, ${[...rules.defaultReminderDays]}::int[])) d)))
            or (k.previous_secret_expires_at > now() and k.previous_secret_expires_at <= now() + make_interval(secs => ${rules.noticeSeconds}))
          )
        ), reminders as (
          select near.*, (select min(d) from unnest(near.days) d where near.expires_at - make_interval(days => d) <= now()) as days_before
          from near where near.expires_at > now()
        ), due as (
          select client_id, tenant_id, name, 'key.expiring' as type, expires_at - make_interval(days => days_before) as due_at,
            expires_at, previous_secret_expires_at, days_before
          from reminders where days_before is not null
          union all
          select client_id, tenant_id, name, 'key.expired', expires_at, expires_at, previous_secret_expires_at, null
          from near where expires_at <= now()
          union all
          select client_id, tenant_id, name, 'key.rotation_grace_ending', previous_secret_expires_at, expires_at, previous_secret_expires_at, null
          from near where previous_secret_expires_at > now() and previous_secret_expires_at <= now() + make_interval(secs => ${rules.noticeSeconds})
        )
        select * from due
        where not exists (select 1 from event_schedule_claims c where c.client_id = due.client_id and c.type = due.type and c.due_at = due.due_at)
        order by due_at
        limit ${limit}`.execute(db);
      return result.rows;
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
