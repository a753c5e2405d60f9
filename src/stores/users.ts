import type { Selectable } from 'kysely';
import type { Db, UsersTable } from './db.ts';

export type User = Selectable<UsersTable>;
export type Role = UsersTable['role'];

export function createUserStore(db: Db) {
  return {
    async insert(input: { tenantId: string; email: string; name?: string | null; role: Role }): Promise<User> {
      return db.insertInto('users')
        .values({ tenant_id: input.tenantId, email: input.email, name: input.name ?? null, role: input.role })
        .returningAll().executeTakeFirstOrThrow();
    },
    async findById(id: string): Promise<User | undefined> {
      return db.selectFrom('users').selectAll().where('id', '=', id).executeTakeFirst();
    },
    async setStatus(id: string, status: 'active' | 'disabled'): Promise<void> {
      await db.updateTable('users').set({ status, updated_at: new Date() }).where('id', '=', id).execute();
    },
    async delete(id: string): Promise<void> {
      await db.deleteFrom('users').where('id', '=', id).execute();
    },
  };
}

export type UserStore = ReturnType<typeof createUserStore>;
