// Working in a child account: a person whose role manages a tenant's keys (admin, manager) may
// switch their console session into any active tenant below their own and act there with their
// own role, as if that tenant were theirs. Never above or beside their own tenant: those do not
// exist for them. The session remembers the choice; it is checked again on every request, so an
// account disabled, moved out of reach or a role lowered meanwhile sends the session home.
import type { Tenant, TenantStore } from '../stores/tenants.ts';
import type { User } from '../stores/users.ts';
import { isUuid } from './ids.ts';
import type { Role } from './roles.ts';

export function maySwitchAccounts(role: Role): boolean {
  return role === 'admin' || role === 'manager';
}

export type AccountReach = { ok: true; path: Tenant[] } | { ok: false; reason: 'not_found' | 'disabled' };

/**
 * The tenants from the user's own down to `tenantId` (own first), when `tenantId` is the user's
 * own tenant or one below it and every tenant on the way is active. Anything outside the user's
 * subtree, existing or not, is `not_found` alike.
 */
export async function reachAccount(tenants: TenantStore, user: Pick<User, 'tenant_id'>, tenantId: string): Promise<AccountReach> {
  const path = isUuid(tenantId) ? await tenants.pathTo(tenantId) : [];
  const own = path.findIndex((tenant) => tenant.id === user.tenant_id);
  if (own < 0) return { ok: false, reason: 'not_found' };
  if (path.some((tenant) => tenant.status !== 'active')) return { ok: false, reason: 'disabled' };
  return { ok: true, path: path.slice(own) };
}
