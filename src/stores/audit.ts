// The audit log. Records carry ids, reasons and addresses; never secrets or tokens. With audit
// sinks configured, each record is also queued in the outbox for every sink, in the same
// statement: a record is streamed exactly when it is written.
import { sql } from 'kysely';
import type { Db } from './db.ts';

export interface AuditEventInput {
  action: string;
  outcome: 'success' | 'denied';
  reason?: string | null;
  tenantId?: string | null;
  actorKeyId?: string | null;
  actorUserId?: string | null;
  targetKeyId?: string | null;
  ip?: string | null;
  requestId?: string | null;
  details?: Record<string, unknown>;
}

export interface AuditEvent {
  id: string;
  at: string;
  action: string;
  outcome: 'success' | 'denied';
  reason: string | null;
  tenant_id: string | null;
  actor_key_id: string | null;
  actor_user_id: string | null;
  target_key_id: string | null;
  ip: string | null;
  request_id: string | null;
  details: Record<string, unknown>;
}

export interface AuditFilter {
  tenantIds?: readonly string[];
  targetKeyId?: string;
  actorKeyId?: string;
  actorUserId?: string;
  /** Only events a user took part in: done by them, or to one of their user keys. */
  concerningUserId?: string;
  action?: string;
  outcome?: 'success' | 'denied';
  requestId?: string;
  since?: Date;
  until?: Date;
  /** Cursor: only events with a smaller id (older). */
  beforeId?: string;
  limit?: number;
}

/** `sinks`: the outbox destinations (`sink:<name>`) every record is streamed to. */
export function createAuditStore(db: Db, sinks: readonly string[] = []) {
  return {
    async record(event: AuditEventInput): Promise<void> {
      const insert = db.insertInto('audit_events').values({
        action: event.action,
        outcome: event.outcome,
        reason: event.reason ?? null,
        tenant_id: event.tenantId ?? null,
        actor_key_id: event.actorKeyId ?? null,
        actor_user_id: event.actorUserId ?? null,
        target_key_id: event.targetKeyId ?? null,
        ip: event.ip ?? null,
        request_id: event.requestId ?? null,
        details: JSON.stringify(event.details ?? {}),
      });
      if (sinks.length === 0) {
        await insert.execute();
        return;
      }
      await sql`
        with written as (${insert.returningAll()})
        insert into outbox (destination, type, tenant_id, payload)
        select sink, 'audit', written.tenant_id, to_jsonb(written) from written cross join unnest(${[...sinks]}::text[]) as sink`.execute(db);
    },

    /** Newest first. */
    async list(filter: AuditFilter): Promise<AuditEvent[]> {
      let query = db
        .selectFrom('audit_events')
        .selectAll()
        .orderBy('id', 'desc')
        .limit(filter.limit ?? 100);
      if (filter.tenantIds) query = query.where('tenant_id', 'in', filter.tenantIds);
      if (filter.targetKeyId) query = query.where('target_key_id', '=', filter.targetKeyId);
      if (filter.actorKeyId) query = query.where('actor_key_id', '=', filter.actorKeyId);
      if (filter.actorUserId) query = query.where('actor_user_id', '=', filter.actorUserId);
      if (filter.concerningUserId) {
        const userId = filter.concerningUserId;
        query = query.where((eb) =>
          eb.or([eb('actor_user_id', '=', userId), eb('target_key_id', 'in', eb.selectFrom('api_keys').select('client_id').where('user_id', '=', userId))]),
        );
      }
      if (filter.action) query = query.where('action', '=', filter.action);
      if (filter.outcome) query = query.where('outcome', '=', filter.outcome);
      if (filter.requestId) query = query.where('request_id', '=', filter.requestId);
      if (filter.since) query = query.where('at', '>=', filter.since);
      if (filter.until) query = query.where('at', '<', filter.until);
      if (filter.beforeId) query = query.where('id', '<', filter.beforeId);
      const rows = await query.execute();
      return rows.map((row) => ({ ...row, id: String(row.id), at: row.at.toISOString() }));
    },
  };
}

export type AuditStore = ReturnType<typeof createAuditStore>;
