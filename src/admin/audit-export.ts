// GET /admin/v1/audit/export: the events a caller may read (audit-visibility.ts), with the list's
// filters, as CSV or JSON Lines, newest first. The response is streamed: events are read in
// keyset-paged batches and the next batch is read only when the client has taken the last one,
// so an export of any size holds one batch in memory. Its upper bound is fixed when it starts:
// events written during a long download are not in it.
//
// Once the first byte is sent the status is 200 and cannot change: a failure after that aborts
// the connection without the chunked encoding's final chunk, so every HTTP client reports the
// transfer as incomplete; a complete export always ends with a newline after its last record.
import { Readable } from 'node:stream';
import type { AuditFilter, AuditStore, LabelScope } from '../stores/audit.ts';
import type { TenantStore } from '../stores/tenants.ts';
import { csvLine } from '../shared/csv.ts';
import { labelEvents, type LabelledAuditEvent } from './audit-labels.ts';
import { visibleAudit } from './audit-visibility.ts';
import { route, type AdminRoute } from './router.ts';
import { AuditExportQuery, ErrorSchema } from './schemas.ts';

/** Events read per query: big enough to keep round trips few, small enough to hold at once. */
const BATCH = 1000;

export const AUDIT_CSV_COLUMNS = [
  'id',
  'at',
  'action',
  'outcome',
  'reason',
  'tenant_id',
  'actor_user_id',
  'actor_user_email',
  'actor_key_id',
  'actor_key_name',
  'target_key_id',
  'target_key_name',
  'target_user_email',
  'ip',
  'request_id',
  'details',
] as const satisfies readonly (keyof LabelledAuditEvent)[];

const FORMATS = {
  csv: {
    type: 'text/csv; charset=utf-8; header=present',
    header: csvLine(AUDIT_CSV_COLUMNS),
    line: (event: LabelledAuditEvent) => csvLine(AUDIT_CSV_COLUMNS.map((column) => (column === 'details' ? JSON.stringify(event.details) : event[column]))),
  },
  jsonl: {
    type: 'application/jsonl; charset=utf-8',
    header: '',
    line: (event: LabelledAuditEvent) => `${JSON.stringify(event)}\n`,
  },
} as const;

export function auditExportRoute(deps: { audit: AuditStore; tenants: TenantStore }): AdminRoute {
  return route({
    method: 'GET',
    path: '/audit/export',
    scope: 'admin:audit:read',
    summary: 'The audit events the list would show, all of them, as a CSV or JSON Lines download (streamed, newest first)',
    query: AuditExportQuery,
    responses: {
      200: { description: 'the events, streamed; an aborted transfer means the export failed part-way', mediaTypes: ['text/csv', 'application/jsonl'] },
      400: { description: 'invalid query', schema: ErrorSchema },
    },
    async handle(ctx, { query, caller }) {
      const visible = await visibleAudit(caller, query, deps.tenants);
      const atMostId = await deps.audit.newestId();
      const name = query.format ?? 'csv';
      const format = FORMATS[name];
      ctx.set('Content-Type', format.type);
      ctx.set('Content-Disposition', `attachment; filename="keygate-audit-${fileStamp(new Date())}.${name}"`);
      const chunks = exportChunks(deps.audit, visible.filter, visible.labels, atMostId, format);
      return { status: 200, body: Readable.from(chunks, { objectMode: false, highWaterMark: 64 * 1024 }) };
    },
  });
}

async function* exportChunks(
  audit: AuditStore,
  filter: AuditFilter,
  labels: LabelScope,
  atMostId: string,
  format: (typeof FORMATS)[keyof typeof FORMATS],
): AsyncGenerator<string> {
  if (format.header) yield format.header;
  let beforeId: string | undefined;
  for (;;) {
    const batch = await audit.list({ ...filter, atMostId, beforeId, limit: BATCH });
    if (batch.length === 0) return;
    yield (await labelEvents(audit, batch, labels)).map(format.line).join('');
    if (batch.length < BATCH) return;
    beforeId = batch.at(-1)!.id;
  }
}

/** `20261203T101500Z`: sortable, and safe in a file name on every system. */
function fileStamp(at: Date): string {
  return at
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d+Z$/, 'Z');
}
