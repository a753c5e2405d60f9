// Which tenants an admin caller acts in: its own (or the account it switched into) and every tenant
// below it. A tenant that requires two-factor of a role binds whoever works there, its own people
// and a parent's admin alike: a person of that role who has not set two-factor up does not reach
// it, nor anything below it, by naming it from an account that does not require it.
import type { TenantStore } from '../stores/tenants.ts';
import type { AdminCaller } from './auth.ts';

export async function reachableTenantIds(caller: Pick<AdminCaller, 'tenantId' | 'twoFactorMissing'>, tenants: TenantStore): Promise<string[]> {
  const ids = await tenants.subtreeIds(caller.tenantId);
  if (!caller.twoFactorMissing) return ids;
  const subtree = await tenants.list(ids);
  const requiring = new Set(subtree.filter((tenant) => tenant.require_two_factor).map((tenant) => tenant.id));
  return subtree.filter((tenant) => !requiring.has(tenant.id) && !tenant.ancestors.some((id) => requiring.has(id))).map((tenant) => tenant.id);
}
