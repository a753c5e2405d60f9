// The transactional outbox: rows written in the transaction of the change they report, taken by
// whichever replica claims them first (FOR UPDATE SKIP LOCKED, so replicas never take the same
// row) and deleted only once handed on. A replica that dies holding rows loses nothing: its
// transaction rolls back, or its lease runs out and another replica takes them.
import { sql, type Selectable } from 'kysely';
import type { Db, OutboxTable } from './db.ts';

export type OutboxRow = Selectable<OutboxTable>;

export const WEBHOOKS_DESTINATION = 'webhooks';

export function createOutboxStore(db: Db) {
  return {
    /** An event for the subscribed webhooks; in the caller's transaction when `db` is one. */
    async addEvent(event: { type: string; tenantId: string | null; data: Record<string, unknown> }): Promise<void> {
      await db
        .insertInto('outbox')
        .values({ destination: WEBHOOKS_DESTINATION, type: event.type, tenant_id: event.tenantId, payload: JSON.stringify(event.data) })
        .execute();
    },

    /**
     * Up to `limit` due rows for `destination`, oldest first, locked for the rest of the caller's
     * transaction; rows another replica holds are skipped, never waited for.
     */
    async lockDue(destination: string, limit: number): Promise<OutboxRow[]> {
      return db
        .selectFrom('outbox')
        .selectAll()
        .where('destination', '=', destination)
        .where('next_attempt_at', '<=', sql<Date>`now()`)
        .orderBy('id')
        .limit(limit)
        .forUpdate()
        .skipLocked()
        .execute();
    },

    /** Leases up to `limit` due rows for `destination` to this replica for `leaseSeconds`. */
    async lease(destination: string, limit: number, leaseSeconds: number): Promise<OutboxRow[]> {
      const result = await sql<OutboxRow>`
        update outbox set lease_until = now() + make_interval(secs => ${leaseSeconds}), attempts = attempts + 1
        where id in (
          select id from outbox
          where destination = ${destination} and next_attempt_at <= now() and (lease_until is null or lease_until < now())
          order by id limit ${limit}
          for update skip locked
        )
        returning *`.execute(db);
      return result.rows.sort((a, b) => Number(a.id) - Number(b.id));
    },

    async remove(ids: readonly string[]): Promise<void> {
      if (ids.length > 0) await db.deleteFrom('outbox').where('id', 'in', ids).execute();
    },

    /** Gives leased rows back, to be tried again after `delayMs`. */
    async retryLater(ids: readonly string[], delayMs: number): Promise<void> {
      if (ids.length === 0) return;
      await db
        .updateTable('outbox')
        .set({ lease_until: null, next_attempt_at: sql<Date>`now() + make_interval(secs => ${delayMs / 1000})` })
        .where('id', 'in', ids)
        .execute();
    },

    /** Rows waiting, by destination (for the queue-depth metric). */
    async depth(): Promise<{ destination: string; count: number }[]> {
      const rows = await db
        .selectFrom('outbox')
        .select(['destination', (eb) => eb.fn.countAll<string>().as('n')])
        .groupBy('destination')
        .execute();
      return rows.map((row) => ({ destination: row.destination, count: Number(row.n) }));
    },
  };
}

export type OutboxStore = ReturnType<typeof createOutboxStore>;
