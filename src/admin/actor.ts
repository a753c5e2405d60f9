import { currentRequestScope } from '../http/request-scope.ts';
import type { Actor } from '../keys/audited-change.ts';
import type { TenantStore } from '../stores/tenants.ts';
import type { AdminCaller } from './auth.ts';

/**
 * The service-layer actor for an admin caller: its own tenant and every tenant below it; a user
 * key (or a member signed in) only its own user's keys in its own tenant. Its authority bounds
 * what it may grant and manage.
 */
export async function actorFor(caller: AdminCaller, tenants: TenantStore): Promise<Actor> {
  const scope = currentRequestScope();
  const own = caller.onlyUserId;
  return {
    keyId: caller.keyId,
    userId: caller.userId,
    via: caller.via,
    tenantIds: own !== undefined ? [caller.tenantId] : await tenants.subtreeIds(caller.tenantId),
    ...(own !== undefined ? { onlyUserId: own } : {}),
    ...(caller.actingInTenantId !== undefined ? { actingInTenantId: caller.actingInTenantId } : {}),
    authority: caller.authority,
    ip: scope?.clientIpText ?? null,
    requestId: scope?.requestId ?? null,
  };
}
