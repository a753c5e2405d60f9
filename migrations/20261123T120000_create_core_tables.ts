// Tenants, users, API keys and the audit log (SPEC §1, §2, §5). Never edit once landed: add a new migration.
import { sql, type Kysely } from 'kysely';

export async function up(db: Kysely<any>): Promise<void> {
  await db.schema.createTable('tenants')
    .addColumn('id', 'uuid', (c) => c.primaryKey().defaultTo(sql`gen_random_uuid()`))
    .addColumn('parent_id', 'uuid', (c) => c.references('tenants.id').onDelete('restrict'))
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('status', 'text', (c) => c.notNull().defaultTo('active').check(sql`status in ('active', 'disabled')`))
    .addColumn('allow_never_expiring_keys', 'boolean', (c) => c.notNull().defaultTo(true))
    .addColumn('max_key_lifetime_days', 'integer', (c) => c.check(sql`max_key_lifetime_days > 0`))
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('updated_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .execute();

  await db.schema.createTable('users')
    .addColumn('id', 'uuid', (c) => c.primaryKey().defaultTo(sql`gen_random_uuid()`))
    .addColumn('tenant_id', 'uuid', (c) => c.notNull().references('tenants.id').onDelete('restrict'))
    .addColumn('email', 'text', (c) => c.notNull())
    .addColumn('name', 'text')
    .addColumn('role', 'text', (c) => c.notNull().check(sql`role in ('admin', 'manager', 'member', 'viewer')`))
    .addColumn('status', 'text', (c) => c.notNull().defaultTo('active').check(sql`status in ('active', 'disabled')`))
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('updated_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addUniqueConstraint('users_tenant_email_unique', ['tenant_id', 'email'])
    .execute();

  await db.schema.createTable('api_keys')
    .addColumn('client_id', 'text', (c) => c.primaryKey())
    .addColumn('tenant_id', 'uuid', (c) => c.notNull().references('tenants.id').onDelete('restrict'))
    .addColumn('kind', 'text', (c) => c.notNull().check(sql`kind in ('service', 'user')`))
    .addColumn('user_id', 'uuid', (c) => c.references('users.id').onDelete('cascade'))
    .addColumn('name', 'text', (c) => c.notNull().check(sql`char_length(name) between 1 and 255`))
    .addColumn('description', 'text', (c) => c.check(sql`char_length(description) <= 1024`))
    .addColumn('scopes', sql`text[]`, (c) => c.notNull().defaultTo(sql`'{}'`))
    .addColumn('networks', sql`text[]`, (c) => c.notNull().defaultTo(sql`'{}'`).check(sql`cardinality(networks) <= 10`))
    .addColumn('expires_at', 'timestamptz')
    .addColumn('status', 'text', (c) => c.notNull().defaultTo('active').check(sql`status in ('active', 'disabled')`))
    // Only HMACs of secrets ("<pepper version>$<mac>"); the secret itself is never stored.
    .addColumn('secret_hash', 'text', (c) => c.notNull())
    .addColumn('previous_secret_hash', 'text')
    .addColumn('previous_secret_expires_at', 'timestamptz')
    // Counts rotations; each token records the generation of the secret that minted it, so
    // tokens of a rotated-out secret end with its grace period (SPEC §2).
    .addColumn('secret_generation', 'integer', (c) => c.notNull().defaultTo(1))
    .addColumn('token_ttl_seconds', 'integer', (c) => c.notNull().check(sql`token_ttl_seconds between 60 and 86400`))
    .addColumn('rate_limit_per_minute', 'integer', (c) => c.check(sql`rate_limit_per_minute > 0`))
    // Creator ids are plain values, not foreign keys: a deleted creator must stay visible as
    // "missing" so the key stops working (SPEC §1, owner_not_authorized).
    .addColumn('created_by_user_id', 'uuid')
    .addColumn('created_by_key_id', 'text')
    // Millisecond precision: list cursors carry created_at through JavaScript dates.
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`date_trunc('milliseconds', now())`))
    .addColumn('updated_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('last_used_at', 'timestamptz')
    .addColumn('last_used_ip', 'text')
    .addCheckConstraint('api_keys_user_key_has_user', sql`(kind = 'user') = (user_id is not null)`)
    .execute();
  await db.schema.createIndex('api_keys_tenant_created_idx').on('api_keys').columns(['tenant_id', 'created_at', 'client_id']).execute();
  await db.schema.createIndex('api_keys_user_idx').on('api_keys').column('user_id').where('user_id', 'is not', null).execute();

  await db.schema.createTable('audit_events')
    .addColumn('id', 'bigserial', (c) => c.primaryKey())
    .addColumn('at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('action', 'text', (c) => c.notNull())
    .addColumn('outcome', 'text', (c) => c.notNull().check(sql`outcome in ('success', 'denied')`))
    .addColumn('reason', 'text')
    // Nullable: a request naming an unknown key belongs to no tenant.
    .addColumn('tenant_id', 'uuid', (c) => c.references('tenants.id').onDelete('restrict'))
    .addColumn('actor_key_id', 'text')
    .addColumn('actor_user_id', 'uuid')
    .addColumn('target_key_id', 'text')
    .addColumn('ip', 'text')
    .addColumn('request_id', 'text')
    .addColumn('details', 'jsonb', (c) => c.notNull().defaultTo(sql`'{}'::jsonb`))
    .execute();
  await db.schema.createIndex('audit_events_tenant_at_idx').on('audit_events').columns(['tenant_id', 'at']).execute();
  await db.schema.createIndex('audit_events_target_idx').on('audit_events').columns(['target_key_id', 'at']).execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('audit_events').execute();
  await db.schema.dropTable('api_keys').execute();
  await db.schema.dropTable('users').execute();
  await db.schema.dropTable('tenants').execute();
}
