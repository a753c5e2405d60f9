// The audit log. Records carry ids, reasons and addresses; never secrets or tokens. With audit
// sinks configured, each record is also queued in the outbox for every sink, in the same
// statement: a record is streamed exactly when it is written.
import { sql } from 'kysely';
import type { Db } from './db.ts';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

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
  /** Only events with this id or a smaller one: an export's fixed upper bound. */
  atMostId?: string;
  limit?: number;
}

/** Whose names a lookup may reveal: users and keys of these tenants (and only one user's own, when set). */
export interface LabelScope {
  tenantIds: readonly string[];
  onlyUserId?: string;
}

/** Names for the ids events carry: user id → email, key client_id → key name. */
export interface AuditLabels {
  users: Map<string, string>;
  keys: Map<string, string>;
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
      if (filter.tenantIds?.length === 0) return [];
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
      if (filter.atMostId) query = query.where('id', '<=', filter.atMostId);
      const rows = await query.execute();
      return rows.map((row) => ({ ...row, id: String(row.id), at: row.at.toISOString() }));
    },

    /** The newest event's id now (0 when the log is empty): where an export stops. */
    async newestId(): Promise<string> {
      const row = await db
        .selectFrom('audit_events')
        .select((eb) => eb.fn.max('id').as('id'))
        .executeTakeFirst();
      return String(row?.id ?? 0);
    },

    /**
     * Labels for the users and keys a batch of events names, in two queries whatever the batch
     * size. Only names inside `scope` are resolved: an id from elsewhere stays a bare id.
     */
    async labels(userIds: Iterable<string>, keyIds: Iterable<string>, scope: LabelScope): Promise<AuditLabels> {
      const users = [...new Set(userIds)].filter((id) => UUID.test(id));
      const keys = [...new Set(keyIds)];
      const labels: AuditLabels = { users: new Map(), keys: new Map() };
      if (scope.tenantIds.length === 0) return labels;
      if (users.length > 0) {
        let query = db.selectFrom('users').select(['id', 'email']).where('id', 'in', users).where('tenant_id', 'in', scope.tenantIds);
        if (scope.onlyUserId !== undefined) query = query.where('id', '=', scope.onlyUserId);
        for (const row of await query.execute()) labels.users.set(row.id, row.email);
      }
      if (keys.length > 0) {
        let query = db.selectFrom('api_keys').select(['client_id', 'name']).where('client_id', 'in', keys).where('tenant_id', 'in', scope.tenantIds);
        if (scope.onlyUserId !== undefined) query = query.where('user_id', '=', scope.onlyUserId);
        for (const row of await query.execute()) labels.keys.set(row.client_id, row.name);
      }
      return labels;
    },
  };
}

export type AuditStore = ReturnType<typeof createAuditStore>;
