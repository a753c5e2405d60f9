// People sign in to the console with an email and a password. A user gets a password hash (null
// until they follow a set-up link: such a user cannot sign in) and the time of their last sign-in.
// Set-up links are stored as a hash of their token, one row per link, deleted when used. The users
// trigger now fires only for the columns key policy reads (tenant, role, status): a sign-in or a
// password change must not flush every key cache. Never edit once landed.
import { sql, type Kysely } from 'kysely';

export async function up(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('users').addColumn('password_hash', 'text').addColumn('last_sign_in_at', 'timestamptz').execute();
  await sql`create index users_email_lower_idx on users (lower(email))`.execute(db);
  await db.schema
    .createTable('user_setup_links')
    .addColumn('token_hash', 'text', (c) => c.primaryKey())
    .addColumn('user_id', 'uuid', (c) => c.notNull().references('users.id').onDelete('cascade'))
    .addColumn('expires_at', 'timestamptz', (c) => c.notNull())
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .execute();
  await db.schema.createIndex('user_setup_links_user_idx').on('user_setup_links').column('user_id').execute();
  await sql`drop trigger users_notify_change on users`.execute(db);
  await sql`
    create trigger users_notify_change after insert or delete or update of tenant_id, role, status on users
    for each statement execute function keygate_notify_all_keys()`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`drop trigger users_notify_change on users`.execute(db);
  await sql`
    create trigger users_notify_change after insert or update or delete on users
    for each statement execute function keygate_notify_all_keys()`.execute(db);
  await db.schema.dropTable('user_setup_links').execute();
  await sql`drop index users_email_lower_idx`.execute(db);
  await db.schema.alterTable('users').dropColumn('last_sign_in_at').dropColumn('password_hash').execute();
}
