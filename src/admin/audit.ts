// /admin/v1/audit — who did what to which key, from where and when; and its export.
import type { AuditStore } from '../stores/audit.ts';
import type { TenantStore } from '../stores/tenants.ts';
import { auditExportRoute } from './audit-export.ts';
import { labelEvents } from './audit-labels.ts';
import { visibleAudit } from './audit-visibility.ts';
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
        const visible = await visibleAudit(caller, query, deps.tenants);
        const events = await deps.audit.list({ ...visible.filter, beforeId: query.cursor, limit: limit + 1 });
        const page = events.slice(0, limit);
        const data = query.include === 'labels' ? await labelEvents(deps.audit, page, visible.labels) : page;
        return { status: 200, body: { data, next_cursor: events.length > limit ? page.at(-1)!.id : null } };
      },
    }),
    auditExportRoute(deps),
  ];
}
