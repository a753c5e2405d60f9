import { sql, type Selectable } from 'kysely';
import type { Db, UsersTable } from './db.ts';

export type User = Selectable<UsersTable>;
type Role = UsersTable['role'];

/** One email may belong to users of several tenants; a sign-in tries at most this many of them. */
export const MAX_SIGN_IN_CANDIDATES = 5;

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
    /** Users of any tenant who have this email (in any letter case) and a password: who may sign in with it. */
    async findSignInCandidates(email: string): Promise<User[]> {
      return db
        .selectFrom('users')
        .selectAll()
        .where(sql<string>`lower(email)`, '=', email.toLowerCase())
        .where('password_hash', 'is not', null)
        .orderBy('created_at')
        .orderBy('id')
        .limit(MAX_SIGN_IN_CANDIDATES)
        .execute();
    },
    async findByEmail(tenantId: string, email: string): Promise<User | undefined> {
      return db.selectFrom('users').selectAll().where('tenant_id', '=', tenantId).where('email', '=', email).executeTakeFirst();
    },
    async setPasswordHash(id: string, passwordHash: string): Promise<void> {
      await db.updateTable('users').set({ password_hash: passwordHash, updated_at: new Date() }).where('id', '=', id).execute();
    },
    async recordSignIn(id: string, at: Date): Promise<void> {
      await db.updateTable('users').set({ last_sign_in_at: at }).where('id', '=', id).execute();
    },
    async list(tenantIds: readonly string[]): Promise<User[]> {
      if (tenantIds.length === 0) return [];
      return db.selectFrom('users').selectAll().where('tenant_id', 'in', tenantIds).orderBy('created_at').orderBy('id').execute();
    },
    /** How many user keys act for each of the given users (users with none are left out). */
    async keyCounts(userIds: readonly string[]): Promise<Map<string, number>> {
      if (userIds.length === 0) return new Map();
      const rows = await db
        .selectFrom('api_keys')
        .select((eb) => ['user_id', eb.fn.countAll<string>().as('n')])
        .where('user_id', 'in', [...userIds])
        .groupBy('user_id')
        .execute();
      return new Map(rows.map((row) => [row.user_id!, Number(row.n)]));
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
