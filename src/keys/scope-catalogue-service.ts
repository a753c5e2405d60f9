// Reading and changing the scope catalogue. Like the key-expiry policy, a tenant's catalogue is
// set from above: admins of a tenant's parent (or higher) write it; only a root tenant writes its
// own. Every tenant reads its own catalogue with every entry inherited from above. A resource a
// tenant above already defines cannot be defined again below: the parent's definition binds.
import { z } from 'zod';
import { KeygateError } from '../shared/errors.ts';
import { parseInput } from '../shared/validation.ts';
import type { ScopeResourceRow } from '../stores/scope-catalogue.ts';
import { auditedChange, type Actor, type AuditedChangeDeps, type TxStores } from './audited-change.ts';
import { catalogueFor, ResourceName, ScopeResourceSchema, type ScopeResourceInput } from './scope-catalogue.ts';

export interface ScopeResourceView {
  resource: string;
  description: string;
  actions: string[];
  tenant_id: string;
  /** Defined by a tenant above the one asked about. */
  inherited: boolean;
}

/** The acting principal and its own tenant (whose catalogue is set from above). */
export interface CatalogueActor extends Actor {
  tenantId: string;
}

const ResourcePath = z.object({ resource: ResourceName });

function toView(row: ScopeResourceRow, tenantId: string): ScopeResourceView {
  return { resource: row.resource, description: row.description, actions: row.actions, tenant_id: row.tenant_id, inherited: row.tenant_id !== tenantId };
}

export function createScopeCatalogueService(deps: AuditedChangeDeps & Pick<TxStores, 'tenants' | 'scopeCatalogue'>) {
  /** The tenant asked about: the actor's own by default, else one it sees (404 otherwise). */
  async function targetTenant(tenantId: string | undefined, actor: CatalogueActor): Promise<string> {
    const id = tenantId ?? actor.tenantId;
    const visible = !actor.tenantIds || actor.tenantIds.includes(id);
    if (!visible || (await deps.tenants.pathTo(id)).length === 0) throw new KeygateError('not_found', 'no such tenant');
    return id;
  }

  /** The writer must stand above the tenant, unless the tenant is a root writing its own. */
  async function assertSetFromAbove(tenantId: string, actor: CatalogueActor): Promise<string[]> {
    const path = (await deps.tenants.pathTo(tenantId)).map((tenant) => tenant.id);
    if (tenantId === actor.tenantId && path.length > 1) {
      throw new KeygateError('forbidden', "a tenant's scope catalogue is set by its parent");
    }
    return path;
  }

  function resourceName(resource: string): string {
    return parseInput(ResourcePath, { resource }, 'path').resource;
  }

  return {
    async list(tenantId: string | undefined, actor: CatalogueActor): Promise<ScopeResourceView[]> {
      const id = await targetTenant(tenantId, actor);
      return (await catalogueFor(deps, id)).entries.map((row) => toView(row, id));
    },

    async put(resource: string, input: ScopeResourceInput, tenantId: string | undefined, actor: CatalogueActor): Promise<ScopeResourceView> {
      const name = resourceName(resource);
      const body = parseInput(ScopeResourceSchema, input);
      const id = await targetTenant(tenantId, actor);
      const path = await assertSetFromAbove(id, actor);
      const above = (await deps.scopeCatalogue.forTenants(path.slice(0, -1))).find((row) => row.resource === name);
      if (above) throw new KeygateError('conflict', `'${name}' is defined by a tenant above this one (${above.tenant_id})`);
      return auditedChange(deps, actor, async (tx, record) => {
        const { row, created } = await tx.scopeCatalogue.put(id, name, body.description ?? '', body.actions);
        await record({ action: 'scope.put', tenantId: id, details: { resource: name, actions: row.actions, created } });
        return toView(row, id);
      });
    },

    async remove(resource: string, tenantId: string | undefined, actor: CatalogueActor): Promise<void> {
      const name = resourceName(resource);
      const id = await targetTenant(tenantId, actor);
      await assertSetFromAbove(id, actor);
      await auditedChange(deps, actor, async (tx, record) => {
        const removed = await tx.scopeCatalogue.delete(id, name);
        if (!removed) throw new KeygateError('not_found', 'this tenant defines no such resource');
        await record({ action: 'scope.delete', tenantId: id, details: { resource: name, actions: removed.actions } });
      });
    },
  };
}

export type ScopeCatalogueService = ReturnType<typeof createScopeCatalogueService>;
