// Webhook endpoints, their deliveries (one per endpoint and event) and each delivery's attempts.
import { sql, type Selectable } from 'kysely';
import type { Db, WebhookAttemptsTable, WebhookDeliveriesTable, WebhookEndpointsTable } from './db.ts';

export type WebhookEndpoint = Selectable<WebhookEndpointsTable>;
export type WebhookDelivery = Selectable<WebhookDeliveriesTable>;
export type WebhookAttempt = Selectable<WebhookAttemptsTable>;
export type EndpointPatch = Partial<Pick<WebhookEndpoint, 'url' | 'description' | 'event_types' | 'secret_encrypted'>>;

/** A delivery leased for sending, with what sending needs from its endpoint. */
export interface LeasedDelivery extends WebhookDelivery {
  url: string;
  secret_encrypted: string;
  tenant_id: string;
}

export function createWebhookStore(db: Db) {
  return {
    async insertEndpoint(row: {
      tenant_id: string;
      url: string;
      description: string | null;
      event_types: string[];
      secret_encrypted: string;
      created_by_key_id: string | null;
    }): Promise<WebhookEndpoint> {
      return db.insertInto('webhook_endpoints').values(row).returningAll().executeTakeFirstOrThrow();
    },
    async findEndpoint(id: string): Promise<WebhookEndpoint | undefined> {
      return db.selectFrom('webhook_endpoints').selectAll().where('id', '=', id).executeTakeFirst();
    },
    async listEndpoints(tenantIds: readonly string[]): Promise<WebhookEndpoint[]> {
      if (tenantIds.length === 0) return [];
      return db.selectFrom('webhook_endpoints').selectAll().where('tenant_id', 'in', tenantIds).orderBy('created_at').orderBy('id').execute();
    },
    async updateEndpoint(id: string, patch: EndpointPatch): Promise<WebhookEndpoint | undefined> {
      return db
        .updateTable('webhook_endpoints')
        .set({ ...patch, updated_at: new Date() })
        .where('id', '=', id)
        .returningAll()
        .executeTakeFirst();
    },
    async setEndpointStatus(id: string, status: 'active' | 'disabled', reason: string | null): Promise<WebhookEndpoint | undefined> {
      return db
        .updateTable('webhook_endpoints')
        .set({ status, disabled_reason: reason, consecutive_failures: 0, failing_since: null, updated_at: new Date() })
        .where('id', '=', id)
        .returningAll()
        .executeTakeFirst();
    },
    /** Disables an active endpoint; undefined when it was not active (nothing changed). */
    async disableIfActive(id: string, reason: string): Promise<WebhookEndpoint | undefined> {
      return db
        .updateTable('webhook_endpoints')
        .set({ status: 'disabled', disabled_reason: reason, updated_at: new Date() })
        .where('id', '=', id)
        .where('status', '=', 'active')
        .returningAll()
        .executeTakeFirst();
    },
    async deleteEndpoint(id: string): Promise<void> {
      await db.deleteFrom('webhook_endpoints').where('id', '=', id).execute();
    },

    /** Active endpoints of these tenants (an event's tenant and every tenant above it). */
    async activeEndpointsOf(tenantIds: readonly string[]): Promise<WebhookEndpoint[]> {
      if (tenantIds.length === 0) return [];
      return db.selectFrom('webhook_endpoints').selectAll().where('tenant_id', 'in', tenantIds).where('status', '=', 'active').execute();
    },

    /** New deliveries; an (endpoint, event) pair that already has one keeps it. */
    async insertDeliveries(rows: { endpoint_id: string; event_id: string; type: string; body: string; retry_until: Date }[]): Promise<void> {
      if (rows.length === 0) return;
      await db
        .insertInto('webhook_deliveries')
        .values(rows)
        .onConflict((oc) => oc.columns(['endpoint_id', 'event_id']).doNothing())
        .execute();
    },

    /** Leases up to `limit` due deliveries of active endpoints to this replica for `leaseSeconds`. */
    async leaseDue(limit: number, leaseSeconds: number): Promise<LeasedDelivery[]> {
      const result = await sql<LeasedDelivery>`
        with due as (
          select d.id from webhook_deliveries d join webhook_endpoints e on e.id = d.endpoint_id
          where d.status = 'pending' and d.next_attempt_at <= now() and (d.lease_until is null or d.lease_until < now())
            and e.status = 'active'
          order by d.next_attempt_at limit ${limit}
          for update of d skip locked
        ), leased as (
          update webhook_deliveries d set lease_until = now() + make_interval(secs => ${leaseSeconds}), attempts = d.attempts + 1
          from due where d.id = due.id
          returning d.*
        )
        select leased.*, e.url, e.secret_encrypted, e.tenant_id from leased join webhook_endpoints e on e.id = leased.endpoint_id`.execute(db);
      return result.rows;
    },

    async recordAttempt(attempt: {
      delivery_id: string;
      status_code: number | null;
      latency_ms: number;
      error: string | null;
      response_excerpt: string | null;
    }) {
      await db.insertInto('webhook_attempts').values(attempt).execute();
    },

    async markDelivered(deliveryId: string, endpointId: string): Promise<void> {
      await db
        .updateTable('webhook_deliveries')
        .set({ status: 'delivered', delivered_at: new Date(), lease_until: null })
        .where('id', '=', deliveryId)
        .execute();
      await db.updateTable('webhook_endpoints').set({ consecutive_failures: 0, failing_since: null }).where('id', '=', endpointId).execute();
    },

    /** Counts a failed attempt against the endpoint; returns its run of failures so far. */
    async countFailure(endpointId: string): Promise<{ consecutive_failures: number; failing_since: Date | null }> {
      return db
        .updateTable('webhook_endpoints')
        .set({ consecutive_failures: sql`consecutive_failures + 1`, failing_since: sql`coalesce(failing_since, now())` })
        .where('id', '=', endpointId)
        .returning(['consecutive_failures', 'failing_since'])
        .executeTakeFirstOrThrow();
    },

    /** Gives a failed delivery back: to be tried at `retryAt`, or failed for good. */
    async releaseFailed(deliveryId: string, next: { retryAt: Date } | 'give_up'): Promise<void> {
      await db
        .updateTable('webhook_deliveries')
        .set(next === 'give_up' ? { status: 'failed', lease_until: null } : { next_attempt_at: next.retryAt, lease_until: null })
        .where('id', '=', deliveryId)
        .execute();
    },

    /** Newest first, each with its attempts (oldest first). */
    async listDeliveries(endpointId: string, limit: number): Promise<(WebhookDelivery & { attempt_log: WebhookAttempt[] })[]> {
      const deliveries = await db
        .selectFrom('webhook_deliveries')
        .selectAll()
        .where('endpoint_id', '=', endpointId)
        .orderBy('created_at', 'desc')
        .orderBy('id')
        .limit(limit)
        .execute();
      if (deliveries.length === 0) return [];
      const attempts = await db
        .selectFrom('webhook_attempts')
        .selectAll()
        .where(
          'delivery_id',
          'in',
          deliveries.map((d) => d.id),
        )
        .orderBy('id')
        .execute();
      return deliveries.map((d) => ({ ...d, attempt_log: attempts.filter((a) => a.delivery_id === d.id) }));
    },

    async findDelivery(endpointId: string, deliveryId: string): Promise<WebhookDelivery | undefined> {
      return db.selectFrom('webhook_deliveries').selectAll().where('id', '=', deliveryId).where('endpoint_id', '=', endpointId).executeTakeFirst();
    },

    /** Sends the delivery again, as soon as possible, with a fresh retry window. */
    async redeliver(deliveryId: string, retryUntil: Date): Promise<WebhookDelivery | undefined> {
      return db
        .updateTable('webhook_deliveries')
        .set({ status: 'pending', next_attempt_at: new Date(), lease_until: null, retry_until: retryUntil, delivered_at: null })
        .where('id', '=', deliveryId)
        .returningAll()
        .executeTakeFirst();
    },

    /** Removes up to `limit` delivered or failed deliveries made before `cutoff` (their attempts go with them). */
    async removeFinishedBefore(cutoff: Date, limit = 5000): Promise<number> {
      const result = await sql`
        delete from webhook_deliveries where id in (
          select id from webhook_deliveries where status <> 'pending' and created_at < ${cutoff} limit ${limit}
        )`.execute(db);
      return Number(result.numAffectedRows ?? 0);
    },

    async pendingCount(): Promise<number> {
      const row = await db
        .selectFrom('webhook_deliveries')
        .select((eb) => eb.fn.countAll<string>().as('n'))
        .where('status', '=', 'pending')
        .executeTakeFirstOrThrow();
      return Number(row.n);
    },
  };
}

export type WebhookStore = ReturnType<typeof createWebhookStore>;
