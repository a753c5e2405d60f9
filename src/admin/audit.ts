// /admin/v1/audit — who did what to which key, from where and when.
import type { AuditStore } from '../stores/audit.ts';
import type { TenantStore } from '../stores/tenants.ts';
import { KeygateError } from '../shared/errors.ts';
import { route, type AdminRoute } from './router.ts';
import { AuditListSchema, AuditQuery, ErrorSchema } from './schemas.ts';

export function auditRoutes(deps: { audit: AuditStore; tenants: TenantStore }): AdminRoute[] {
  return [
    route({
      method: 'GET',
      path: '/audit',
      scope: 'admin:audit:read',
      summary: 'Audit events of the caller’s tenants, newest first',
      query: AuditQuery,
      responses: { 200: { description: 'a page of events', schema: AuditListSchema }, 400: { description: 'invalid query', schema: ErrorSchema } },
      async handle(_ctx, { query, caller }) {
        const limit = query.limit === undefined ? 50 : Math.min(200, Math.max(1, Number(query.limit)));
        const events = await deps.audit.list({
          // A user key (or a member signed in) sees only what concerns its own user, in its own tenant.
          tenantIds: caller.onlyUserId !== undefined ? [caller.tenantId] : await deps.tenants.subtreeIds(caller.tenantId),
          ...(caller.onlyUserId !== undefined ? { concerningUserId: caller.onlyUserId } : {}),
          targetKeyId: targetKeyOf(query),
          actorKeyId: query.actor_key_id,
          actorUserId: query.actor_user_id,
          action: query.action,
          outcome: query.outcome,
          since: query.since === undefined ? undefined : new Date(query.since),
          until: query.until === undefined ? undefined : new Date(query.until),
          beforeId: query.cursor,
          limit: limit + 1,
        });
        const data = events.slice(0, limit);
        return { status: 200, body: { data, next_cursor: events.length > limit ? data.at(-1)!.id : null } };
      },
    }),
  ];
}

/** `target_key_id`, or its older name `key_id`; both at once must agree. */
function targetKeyOf(query: { target_key_id?: string; key_id?: string }): string | undefined {
  if (query.target_key_id !== undefined && query.key_id !== undefined && query.target_key_id !== query.key_id) {
    throw new KeygateError('validation_failed', 'query is invalid', [{ field: 'key_id', message: 'names another key than target_key_id; give one of them' }]);
  }
  return query.target_key_id ?? query.key_id;
}
