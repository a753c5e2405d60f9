// A key's token epoch, bumped in the same transaction as any change that ends its live tokens
// (disable, delete, narrowing, its creator or user losing rights, its tenant disabled). Every token
// records the epoch it was minted in and is honoured only while the key's epoch still matches, so
// a token minted from a stale cached copy of the key while the change committed is dead too, on
// every replica. Tenants remember which tenant disabled them: only that tenant or one above it may
// enable them again. Never edit once landed.
import { sql, type Kysely } from 'kysely';

const KEY_COLUMNS = `tenant_id, kind, user_id, scopes, networks, expires_at, status, secret_hash,
  previous_secret_hash, previous_secret_expires_at, secret_generation, token_ttl_seconds,
  rate_limit_per_minute, created_by_user_id, created_by_key_id`;

async function notifyOn(db: Kysely<any>, columns: string): Promise<void> {
  await sql`drop trigger api_keys_notify_change on api_keys`.execute(db);
  // last_used_at / last_used_ip are not in the column list: usage batches never flush caches.
  await sql.raw(`
    create trigger api_keys_notify_change
    after insert or delete or update of ${columns}
    on api_keys for each row execute function keygate_notify_key_change()`).execute(db);
}

export async function up(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('api_keys').addColumn('token_epoch', 'integer', (c) => c.notNull().defaultTo(0)).execute();
  await db.schema.alterTable('tenants').addColumn('disabled_by_tenant_id', 'uuid').execute();
  await notifyOn(db, `${KEY_COLUMNS}, token_epoch`);
}

export async function down(db: Kysely<any>): Promise<void> {
  await notifyOn(db, KEY_COLUMNS);
  await db.schema.alterTable('tenants').dropColumn('disabled_by_tenant_id').execute();
  await db.schema.alterTable('api_keys').dropColumn('token_epoch').execute();
}
