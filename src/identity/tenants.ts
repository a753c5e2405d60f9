// Tenants (SPEC §1): a caller creates child tenants of its own, changes their settings, disables
// and enables them. Disabling stops every key of the tenant (and of its children) at once and
// drops their live tokens.
import { ApiError } from '../http/errors.ts';
import type { Actor } from '../keys/service.ts';
import type { AuditStore } from '../stores/audit.ts';
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

export function createTenantService(deps: { tenants: TenantStore; keys: KeyStore; tokens: TokenStore; audit: AuditStore; onKeysChanged?: (clientId: string) => void }) {
  async function record(action: string, actor: Actor, tenantId: string, details: Record<string, unknown> = {}) {
    deps.onKeysChanged?.('*');
    await deps.audit.record({
      action, outcome: 'success', tenantId, actorKeyId: actor.keyId, actorUserId: actor.userId,
      ip: actor.ip ?? null, requestId: actor.requestId ?? null, details: { via: actor.via, tenant_id: tenantId, ...details },
    });
  }

  async function requireTenant(id: string, actor: Actor): Promise<Tenant> {
    const tenant = /^[0-9a-f-]{36}$/i.test(id) && (!actor.tenantIds || actor.tenantIds.includes(id)) ? await deps.tenants.findById(id) : undefined;
    if (!tenant) throw new ApiError('not_found', 'no such tenant');
    return tenant;
  }

  return {
    async create(input: { name: string } & TenantSettings, actor: TenantActor): Promise<TenantView> {
      const tenant = await deps.tenants.insert({ ...input, parentId: actor.tenantId });
      await record('tenant.create', actor, tenant.id, { parent_id: actor.tenantId, name: tenant.name });
      return toTenantView(tenant);
    },
    async list(actor: Actor): Promise<TenantView[]> {
      return (await deps.tenants.list(actor.tenantIds ?? (await deps.tenants.allIds()))).map(toTenantView);
    },
    async show(id: string, actor: Actor): Promise<TenantView> {
      return toTenantView(await requireTenant(id, actor));
    },
    async update(id: string, settings: TenantSettings, actor: Actor): Promise<TenantView> {
      await requireTenant(id, actor);
      const updated = await deps.tenants.update(id, settings);
      await record('tenant.update', actor, id, { fields: Object.keys(settings) });
      return toTenantView(updated!);
    },
    async setStatus(id: string, status: 'active' | 'disabled', actor: TenantActor): Promise<TenantView> {
      const tenant = await requireTenant(id, actor);
      if (tenant.id === actor.tenantId) throw new ApiError('conflict', 'a tenant cannot disable or enable itself; its parent can');
      await deps.tenants.setStatus(id, status);
      let dropped = 0;
      if (status === 'disabled') {
        // Introspection already refuses these tokens (it reads the tenant state); dropping them
        // keeps them dead if the tenant is enabled again.
        for (const clientId of await deps.keys.idsForTenants(await deps.tenants.withChildren(id))) {
          dropped += await deps.tokens.destroyAllForKey(clientId);
        }
      }
      await record(status === 'disabled' ? 'tenant.disable' : 'tenant.enable', actor, id, status === 'disabled' ? { tokens_dropped: dropped } : {});
      return toTenantView((await deps.tenants.findById(id))!);
    },
  };
}

export type TenantService = ReturnType<typeof createTenantService>;
