// SQL for the scope catalogue: each tenant's resources and their actions.
import { sql, type Selectable } from 'kysely';
import type { Db, ScopeResourcesTable } from './db.ts';

export type ScopeResourceRow = Selectable<ScopeResourcesTable>;

export function createScopeCatalogueStore(db: Db) {
  return {
    /** Every resource the given tenants define, by resource name. */
    async forTenants(tenantIds: readonly string[]): Promise<ScopeResourceRow[]> {
      if (tenantIds.length === 0) return [];
      return db.selectFrom('scope_resources').selectAll().where('tenant_id', 'in', tenantIds).orderBy('resource').orderBy('tenant_id').execute();
    },
    /** Creates or replaces one resource of a tenant; `created` says which. */
    async put(tenantId: string, resource: string, description: string, actions: string[]): Promise<{ row: ScopeResourceRow; created: boolean }> {
      const row = await db
        .insertInto('scope_resources')
        .values({ tenant_id: tenantId, resource, description, actions })
        .onConflict((oc) => oc.columns(['tenant_id', 'resource']).doUpdateSet({ description, actions, updated_at: sql<Date>`now()` }))
        .returningAll()
        .returning(sql<boolean>`xmax = 0`.as('inserted'))
        .executeTakeFirstOrThrow();
      const { inserted, ...stored } = row;
      return { row: stored, created: inserted };
    },
    /** The removed resource, or undefined when the tenant defines none by that name. */
    async delete(tenantId: string, resource: string): Promise<ScopeResourceRow | undefined> {
      return db.deleteFrom('scope_resources').where('tenant_id', '=', tenantId).where('resource', '=', resource).returningAll().executeTakeFirst();
    },
  };
}

export type ScopeCatalogueStore = ReturnType<typeof createScopeCatalogueStore>;
