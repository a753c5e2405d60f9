import { sql, type ExpressionBuilder, type Selectable } from 'kysely';
import type { Database, Db, TenantsTable } from './db.ts';

export type Tenant = Selectable<TenantsTable>;
export type TenantSettings = Partial<
  Pick<Tenant, 'name' | 'allow_never_expiring_keys' | 'max_key_lifetime_days' | 'expiry_reminder_days' | 'require_two_factor'>
>;

/** The tenant `id` and every tenant below it, at any depth. */
const inSubtreeOf = (id: string) => (eb: ExpressionBuilder<Database, 'tenants'>) =>
  eb.or([eb('id', '=', id), eb('ancestors', '@>', sql<string[]>`array[${id}]::uuid[]`)]);

export function createTenantStore(db: Db) {
  return {
    async insert(input: { name: string; parentId?: string | null } & TenantSettings): Promise<Tenant> {
      const { parentId, ...settings } = input;
      return db
        .insertInto('tenants')
        .values({ ...settings, name: input.name, parent_id: parentId ?? null })
        .returningAll()
        .executeTakeFirstOrThrow();
    },
    async findById(id: string): Promise<Tenant | undefined> {
      return db.selectFrom('tenants').selectAll().where('id', '=', id).executeTakeFirst();
    },
    async findFirst(): Promise<Tenant | undefined> {
      return db.selectFrom('tenants').selectAll().where('parent_id', 'is', null).orderBy('created_at').limit(1).executeTakeFirst();
    },
    async list(ids: readonly string[]): Promise<Tenant[]> {
      if (ids.length === 0) return [];
      return db.selectFrom('tenants').selectAll().where('id', 'in', ids).orderBy('created_at').orderBy('id').execute();
    },
    async allIds(): Promise<string[]> {
      return (await db.selectFrom('tenants').select('id').execute()).map((row) => row.id);
    },
    /** Whether the tenant or any tenant below it requires two-factor of its admins and managers. */
    async subtreeRequiresTwoFactor(id: string): Promise<boolean> {
      const row = await db.selectFrom('tenants').select('id').where('require_two_factor', '=', true).where(inSubtreeOf(id)).limit(1).executeTakeFirst();
      return row !== undefined;
    },
    /** The tenant and every tenant below it, at any depth: what a tenant's admins may act on. */
    async subtreeIds(id: string): Promise<string[]> {
      const rows = await db.selectFrom('tenants').select('id').where(inSubtreeOf(id)).execute();
      return rows.map((row) => row.id);
    },
    /** The tenant and every tenant above it, root first (empty when it does not exist). */
    async pathTo(id: string): Promise<Tenant[]> {
      const tenant = await db.selectFrom('tenants').selectAll().where('id', '=', id).executeTakeFirst();
      if (!tenant) return [];
      if (tenant.ancestors.length === 0) return [tenant];
      const above = await db.selectFrom('tenants').selectAll().where('id', 'in', tenant.ancestors).execute();
      const byId = new Map(above.map((t) => [t.id, t]));
      return [...tenant.ancestors.map((ancestorId) => byId.get(ancestorId)!), tenant];
    },
    /** How many keys and users each tenant holds itself (not counting the tenants below it). */
    async memberCounts(ids: readonly string[]): Promise<Map<string, { keys: number; users: number }>> {
      const counts = new Map(ids.map((id) => [id, { keys: 0, users: 0 }]));
      if (ids.length === 0) return counts;
      const [keys, users] = await Promise.all([
        db
          .selectFrom('api_keys')
          .select(['tenant_id', (eb) => eb.fn.countAll<string>().as('n')])
          .where('tenant_id', 'in', ids)
          .groupBy('tenant_id')
          .execute(),
        db
          .selectFrom('users')
          .select(['tenant_id', (eb) => eb.fn.countAll<string>().as('n')])
          .where('tenant_id', 'in', ids)
          .groupBy('tenant_id')
          .execute(),
      ]);
      for (const row of keys) counts.get(row.tenant_id)!.keys = Number(row.n);
      for (const row of users) counts.get(row.tenant_id)!.users = Number(row.n);
      return counts;
    },
    async count(): Promise<number> {
      const row = await db
        .selectFrom('tenants')
        .select((eb) => eb.fn.countAll<string>().as('n'))
        .executeTakeFirstOrThrow();
      return Number(row.n);
    },
    async update(id: string, settings: TenantSettings): Promise<Tenant | undefined> {
      return db
        .updateTable('tenants')
        .set({ ...settings, updated_at: new Date() })
        .where('id', '=', id)
        .returningAll()
        .executeTakeFirst();
    },
    /** `disabledBy`: the tenant whose admins disabled it (null when enabling, or for the operator). */
    async setStatus(id: string, status: 'active' | 'disabled', disabledBy: string | null = null): Promise<void> {
      await db.updateTable('tenants').set({ status, disabled_by_tenant_id: disabledBy, updated_at: new Date() }).where('id', '=', id).execute();
    },
  };
}

export type TenantStore = ReturnType<typeof createTenantStore>;
