// Tenants (SPEC §1): a caller creates child tenants of its own, changes their settings, disables
// and enables them. Disabling stops every key of the tenant (and of its children) at once and
// drops their live tokens.
import { isUuid } from './ids.ts';
import { ApiError } from '../http/errors.ts';
import { auditChange, type Actor, type Transact, type TxStores } from '../keys/service.ts';
import type { KeyStore } from '../stores/keys.ts';
import type { Tenant, TenantSettings, TenantStore } from '../stores/tenants.ts';
import type { TokenStore } from '../stores/tokens.ts';

export interface TenantView {
  id: string;
  name: string;
  parent_id: string | null;
  status: 'active' | 'disabled';
  allow_never_expiring_keys: boolean;
  max_key_lifetime_days: number | null;
  created_at: string;
  updated_at: string;
}

export function toTenantView(t: Tenant): TenantView {
  return {
    id: t.id, name: t.name, parent_id: t.parent_id, status: t.status,
    allow_never_expiring_keys: t.allow_never_expiring_keys, max_key_lifetime_days: t.max_key_lifetime_days,
    created_at: t.created_at.toISOString(), updated_at: new Date(t.updated_at).toISOString(),
  };
}

export interface TenantActor extends Actor {
  /** The acting key's own tenant: children are created below it. */
  tenantId: string;
}

interface TenantServiceDeps {
  tenants: TenantStore;
  keys: KeyStore;
  tokens: TokenStore;
  transact: Transact;
  onKeysChanged?: (clientId: string) => void;
}

export function createTenantService(deps: TenantServiceDeps) {
  /** A change and its audit record in one transaction; key caches forget after commit. */
  async function change<T>(actor: Actor, action: string, work: (tx: TxStores) => Promise<{ result: T; tenantId: string; details?: Record<string, unknown> }>): Promise<T> {
    const result = await deps.transact(async (tx) => {
      const done = await work(tx);
      await auditChange(tx.audit, action, actor, done.tenantId, null, { tenant_id: done.tenantId, ...done.details });
      return done.result;
    });
    deps.onKeysChanged?.('*');
    return result;
  }

  async function requireTenant(id: string, actor: Actor): Promise<Tenant> {
    const tenant = isUuid(id) && (!actor.tenantIds || actor.tenantIds.includes(id)) ? await deps.tenants.findById(id) : undefined;
    if (!tenant) throw new ApiError('not_found', 'no such tenant');
    return tenant;
  }

  return {
    async create(input: { name: string } & TenantSettings, actor: TenantActor): Promise<TenantView> {
      return change(actor, 'tenant.create', async (tx) => {
        const tenant = await tx.tenants.insert({ ...input, parentId: actor.tenantId });
        return { result: toTenantView(tenant), tenantId: tenant.id, details: { parent_id: actor.tenantId, name: tenant.name } };
      });
    },
    async list(actor: Actor): Promise<TenantView[]> {
      return (await deps.tenants.list(actor.tenantIds ?? (await deps.tenants.allIds()))).map(toTenantView);
    },
    async show(id: string, actor: Actor): Promise<TenantView> {
      return toTenantView(await requireTenant(id, actor));
    },
    async update(id: string, settings: TenantSettings, actor: Actor): Promise<TenantView> {
      await requireTenant(id, actor);
      return change(actor, 'tenant.update', async (tx) => {
        const updated = await tx.tenants.update(id, settings);
        return { result: toTenantView(updated!), tenantId: id, details: { fields: Object.keys(settings) } };
      });
    },
    async setStatus(id: string, status: 'active' | 'disabled', actor: TenantActor): Promise<TenantView> {
      const tenant = await requireTenant(id, actor);
      if (tenant.id === actor.tenantId) throw new ApiError('conflict', 'a tenant cannot disable or enable itself; its parent can');
      return change(actor, status === 'disabled' ? 'tenant.disable' : 'tenant.enable', async (tx) => {
        await tx.tenants.setStatus(id, status);
        let dropped = 0;
        if (status === 'disabled') {
          // Introspection already refuses these tokens (it reads the tenant state); dropping them
          // keeps them dead if the tenant is enabled again.
          for (const clientId of await tx.keys.idsForTenants(await tx.tenants.withChildren(id))) {
            dropped += await deps.tokens.destroyAllForKey(clientId);
          }
        }
        return { result: toTenantView((await tx.tenants.findById(id))!), tenantId: id, details: status === 'disabled' ? { tokens_dropped: dropped } : {} };
      });
    },
  };
}

export type TenantService = ReturnType<typeof createTenantService>;
