// The scope catalogue: the resources a tenant's keys may be given scopes on, with their actions,
// inherited by every tenant below. And the indexes behind the key list's sorts: each order the
// list offers (ascending, or descending with keys lacking the value still last) is one index
// scan that stops after a page, instead of a sort of every visible key. Never edit once landed.
import { sql, type Kysely } from 'kysely';

export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('scope_resources')
    .addColumn('tenant_id', 'uuid', (c) => c.notNull().references('tenants.id').onDelete('restrict'))
    .addColumn('resource', 'text', (c) => c.notNull().check(sql`resource ~ '^[a-z][a-z0-9_.-]{0,63}$'`))
    .addColumn('description', 'text', (c) => c.notNull().defaultTo('').check(sql`char_length(description) <= 1024`))
    .addColumn('actions', sql`text[]`, (c) => c.notNull().check(sql`cardinality(actions) between 1 and 20`))
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('updated_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addPrimaryKeyConstraint('scope_resources_pkey', ['tenant_id', 'resource'])
    .execute();

  await sql`create index api_keys_name_idx on api_keys (lower(name), client_id)`.execute(db);
  await sql`create index api_keys_created_idx on api_keys (created_at, client_id)`.execute(db);
  // Read forwards: ascending, nulls last. Read backwards, the NULLS FIRST one: descending, nulls last.
  await sql`create index api_keys_expires_idx on api_keys (expires_at, client_id)`.execute(db);
  await sql`create index api_keys_expires_desc_idx on api_keys (expires_at nulls first, client_id)`.execute(db);
  await sql`create index api_keys_last_used_idx on api_keys (last_used_at, client_id)`.execute(db);
  await sql`create index api_keys_last_used_desc_idx on api_keys (last_used_at nulls first, client_id)`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  for (const index of ['last_used_desc', 'last_used', 'expires_desc', 'expires', 'created', 'name']) {
    await sql.raw(`drop index api_keys_${index}_idx`).execute(db);
  }
  await db.schema.dropTable('scope_resources').execute();
}
