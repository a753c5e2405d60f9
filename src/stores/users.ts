import type { Selectable } from 'kysely';
import type { Db, UsersTable } from './db.ts';

export type User = Selectable<UsersTable>;
type Role = UsersTable['role'];

export function createUserStore(db: Db) {
  return {
    /** Undefined when the email is already taken in the tenant. */
    async insert(input: { tenantId: string; email: string; name?: string | null; role: Role }): Promise<User | undefined> {
      return db
        .insertInto('users')
        .values({ tenant_id: input.tenantId, email: input.email, name: input.name ?? null, role: input.role })
        .onConflict((oc) => oc.constraint('users_tenant_email_unique').doNothing())
        .returningAll()
        .executeTakeFirst();
    },
    async findById(id: string): Promise<User | undefined> {
      return db.selectFrom('users').selectAll().where('id', '=', id).executeTakeFirst();
    },
    /** Locks the user's row until the transaction ends: serialises changes that count their keys. */
    async lockById(id: string): Promise<User | undefined> {
      return db.selectFrom('users').selectAll().where('id', '=', id).forUpdate().executeTakeFirst();
    },
    async list(tenantIds: readonly string[]): Promise<User[]> {
      if (tenantIds.length === 0) return [];
      return db.selectFrom('users').selectAll().where('tenant_id', 'in', tenantIds).orderBy('created_at').orderBy('id').execute();
    },
    async update(id: string, patch: Partial<Pick<User, 'name' | 'role'>>): Promise<User | undefined> {
      return db
        .updateTable('users')
        .set({ ...patch, updated_at: new Date() })
        .where('id', '=', id)
        .returningAll()
        .executeTakeFirst();
    },
    async setStatus(id: string, status: 'active' | 'disabled'): Promise<void> {
      await db.updateTable('users').set({ status, updated_at: new Date() }).where('id', '=', id).execute();
    },
    /** Deletes the user; their user keys go with them (foreign key cascade). */
    async delete(id: string): Promise<void> {
      await db.deleteFrom('users').where('id', '=', id).execute();
    },
  };
}

export type UserStore = ReturnType<typeof createUserStore>;
