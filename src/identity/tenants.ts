// Tenants: a caller creates child tenants of its own, changes their settings, disables and enables
// them. Every rule holds for the whole subtree: a caller sees and manages every tenant below its
// own; disabling a tenant stops every key below it at once and drops their live tokens; a
// tenant's key policy is set from above (only a root sets its own) and a child may only be stricter.
import { isUuid } from './ids.ts';
import { KeygateError, failOnFieldErrors } from '../shared/errors.ts';
import { auditedChange, type Actor, type Transact, type TxStores } from '../keys/audited-change.ts';
import type { KeyStore } from '../stores/keys.ts';
import type { Tenant, TenantSettings, TenantStore } from '../stores/tenants.ts';
import { endLiveTokens } from '../keys/end-tokens.ts';
import { fieldChanges } from '../keys/field-changes.ts';
import { effectivePolicy, loosenings, MAX_TENANT_DEPTH, UNRESTRICTED, type KeyExpiryPolicy } from './tenant-policy.ts';
import type { TokenStore } from '../stores/tokens.ts';

export interface TenantView {
  id: string;
  name: string;
  parent_id: string | null;
  status: 'active' | 'disabled';
  allow_never_expiring_keys: boolean;
  max_key_lifetime_days: number | null;
  /** Days before a key's expiry that `key.expiring` fires; null = the default (30, 7, 1). */
  expiry_reminder_days: number[] | null;
  require_two_factor: boolean;
  created_at: string;
  updated_at: string;
}

export function toTenantView(t: Tenant): TenantView {
  return {
    id: t.id,
    name: t.name,
    parent_id: t.parent_id,
    status: t.status,
    allow_never_expiring_keys: t.allow_never_expiring_keys,
    max_key_lifetime_days: t.max_key_lifetime_days,
    expiry_reminder_days: t.expiry_reminder_days,
    require_two_factor: t.require_two_factor,
    created_at: t.created_at.toISOString(),
    updated_at: new Date(t.updated_at).toISOString(),
  };
}

/** A tenant in a list, with how many keys and users it holds itself. */
export interface ListedTenantView extends TenantView {
  key_count: number;
  user_count: number;
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
  /** A change to a tenant and its audit record, in one transaction. */
  function change<T>(
    actor: Actor,
    action: string,
    work: (tx: TxStores) => Promise<{ result: T; tenantId: string; details?: Record<string, unknown> }>,
  ): Promise<T> {
    return auditedChange(deps, actor, async (tx, record) => {
      const done = await work(tx);
      await record({ action, tenantId: done.tenantId, details: { tenant_id: done.tenantId, ...done.details } });
      return done.result;
    });
  }

  async function requireTenant(id: string, actor: Actor): Promise<Tenant> {
    const tenant = isUuid(id) && (!actor.tenantIds || actor.tenantIds.includes(id)) ? await deps.tenants.findById(id) : undefined;
    if (!tenant) throw new KeygateError('not_found', 'no such tenant');
    return tenant;
  }

  /** The policy that binds a tenant from above: the strictest along its parent's path. */
  async function boundFromAbove(tenant: Tenant): Promise<KeyExpiryPolicy> {
    return tenant.parent_id === null ? UNRESTRICTED : effectivePolicy(await deps.tenants.pathTo(tenant.parent_id));
  }

  return {
    async create(input: { name: string } & TenantSettings, actor: TenantActor): Promise<TenantView> {
      const parentPath = await deps.tenants.pathTo(actor.tenantId);
      if (parentPath.length >= MAX_TENANT_DEPTH) {
        throw new KeygateError('conflict', `tenants nest at most ${MAX_TENANT_DEPTH} deep; this tenant cannot have children`);
      }
      // A new child starts as strict as its parent is bound, and may only be stricter.
      const bound = effectivePolicy(parentPath);
      failOnFieldErrors(loosenings(bound, input));
      const settings = { ...bound, ...input };
      return change(actor, 'tenant.create', async (tx) => {
        const tenant = await tx.tenants.insert({ ...settings, parentId: actor.tenantId });
        return { result: toTenantView(tenant), tenantId: tenant.id, details: { parent_id: actor.tenantId, name: tenant.name } };
      });
    },
    /** A tenant with no parent: only the operator's bootstrap makes one, and it is audited too. */
    async createRoot(name: string, actor: Actor): Promise<TenantView> {
      return change(actor, 'tenant.create', async (tx) => {
        const tenant = await tx.tenants.insert({ name });
        return { result: toTenantView(tenant), tenantId: tenant.id, details: { parent_id: null, name: tenant.name } };
      });
    },
    async list(actor: Actor): Promise<ListedTenantView[]> {
      const tenants = await deps.tenants.list(actor.tenantIds ?? (await deps.tenants.allIds()));
      const counts = await deps.tenants.memberCounts(tenants.map((t) => t.id));
      return tenants.map((t) => ({ ...toTenantView(t), key_count: counts.get(t.id)!.keys, user_count: counts.get(t.id)!.users }));
    },
    async show(id: string, actor: Actor): Promise<TenantView> {
      return toTenantView(await requireTenant(id, actor));
    },
    async update(id: string, settings: TenantSettings, actor: TenantActor): Promise<TenantView> {
      const tenant = await requireTenant(id, actor);
      // Reminders are the tenant's own business, like its name; key policy is set from above.
      const policyFields = Object.keys(settings).filter((field) => field !== 'name' && field !== 'expiry_reminder_days');
      if (policyFields.length > 0 && tenant.id === actor.tenantId && tenant.parent_id !== null) {
        throw new KeygateError('forbidden', "a tenant's key policy is set by its parent");
      }
      failOnFieldErrors(loosenings(await boundFromAbove(tenant), settings));
      return change(actor, 'tenant.update', async (tx) => {
        const updated = await tx.tenants.update(id, settings);
        const changes = fieldChanges(tenant, updated!, ['name', 'allow_never_expiring_keys', 'max_key_lifetime_days', 'expiry_reminder_days']);
        return { result: toTenantView(updated!), tenantId: id, details: { fields: Object.keys(settings), changes } };
      });
    },
    async setStatus(id: string, status: 'active' | 'disabled', actor: TenantActor): Promise<TenantView> {
      const tenant = await requireTenant(id, actor);
      if (tenant.id === actor.tenantId) throw new KeygateError('conflict', 'a tenant cannot disable or enable itself; its parent can');
      // A tenant disabled from higher up stays disabled until a tenant that high enables it.
      const disabler = tenant.disabled_by_tenant_id;
      if (status === 'active' && disabler !== null && actor.tenantIds && !actor.tenantIds.includes(disabler)) {
        throw new KeygateError('forbidden', 'a tenant above this caller disabled it; only that tenant or one above it can enable it');
      }
      return change(actor, status === 'disabled' ? 'tenant.disable' : 'tenant.enable', async (tx) => {
        await tx.tenants.setStatus(id, status, status === 'disabled' ? actor.tenantId : null);
        // Introspection already refuses these tokens (it reads the state of every tenant above the
        // key); ending them keeps them dead if the tenant is enabled again.
        const dropped = status === 'disabled' ? await endLiveTokens(tx, deps.tokens, await tx.keys.idsForTenants(await tx.tenants.subtreeIds(id))) : 0;
        return { result: toTenantView((await tx.tenants.findById(id))!), tenantId: id, details: status === 'disabled' ? { tokens_dropped: dropped } : {} };
      });
    },
  };
}

export type TenantService = ReturnType<typeof createTenantService>;
