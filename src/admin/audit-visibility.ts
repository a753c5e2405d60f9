// Which audit events a caller may read, stated once for the list and the export: the caller's
// tenant and every tenant below it; a user key, or a member signed in, only events about its own
// user, in its own tenant. The query's filters only ever narrow that set.
import type { AuditFilter, LabelScope } from '../stores/audit.ts';
import type { TenantStore } from '../stores/tenants.ts';
import { KeygateError } from '../shared/errors.ts';
import type { AdminCaller } from './auth.ts';

export interface AuditFilterQuery {
  target_key_id?: string;
  key_id?: string;
  actor_key_id?: string;
  actor_user_id?: string;
  action?: string;
  outcome?: 'success' | 'denied';
  since?: string;
  until?: string;
  tenant_id?: string;
}

export interface VisibleAudit {
  /** The caller's filters within what the caller may read; no paging. */
  filter: AuditFilter;
  /** Whose names the caller may learn from the events' ids. */
  labels: LabelScope;
}

export async function visibleAudit(caller: AdminCaller, query: AuditFilterQuery, tenants: TenantStore): Promise<VisibleAudit> {
  const ownOnly = caller.onlyUserId !== undefined;
  const readable = ownOnly ? [caller.tenantId] : await tenants.subtreeIds(caller.tenantId);
  // A tenant filter outside what the caller reads matches nothing: never a way out of the subtree.
  const tenantIds = query.tenant_id === undefined ? readable : readable.filter((id) => id === query.tenant_id);
  return {
    filter: {
      tenantIds,
      ...(ownOnly ? { concerningUserId: caller.onlyUserId } : {}),
      targetKeyId: targetKeyOf(query),
      actorKeyId: query.actor_key_id,
      actorUserId: query.actor_user_id,
      action: query.action,
      outcome: query.outcome,
      since: query.since === undefined ? undefined : new Date(query.since),
      until: query.until === undefined ? undefined : new Date(query.until),
    },
    labels: { tenantIds: readable, ...(ownOnly ? { onlyUserId: caller.onlyUserId } : {}) },
  };
}

/** `target_key_id`, or its older name `key_id`; both at once must agree. */
function targetKeyOf(query: { target_key_id?: string; key_id?: string }): string | undefined {
  if (query.target_key_id !== undefined && query.key_id !== undefined && query.target_key_id !== query.key_id) {
    throw new KeygateError('validation_failed', 'query is invalid', [{ field: 'key_id', message: 'names another key than target_key_id; give one of them' }]);
  }
  return query.target_key_id ?? query.key_id;
}
