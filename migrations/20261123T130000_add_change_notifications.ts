// Every change that can alter a key's policy inputs notifies `keygate_key_changes` on commit, so
// each replica's in-process key cache drops it within milliseconds — whoever made the change
// (admin API, CLI, or an operator's SQL). Payload: a client_id, or '*' for "drop everything"
// (user and tenant changes, and keys that other keys depend on as creator).
import { sql, type Kysely } from 'kysely';

export async function up(db: Kysely<any>): Promise<void> {
  await db.schema.createIndex('api_keys_created_by_key_idx').on('api_keys').column('created_by_key_id')
    .where('created_by_key_id', 'is not', null).execute();

  await sql`
    create function keygate_notify_key_change() returns trigger language plpgsql as $$
    declare
      changed text := coalesce(new.client_id, old.client_id);
    begin
      if exists (select 1 from api_keys where created_by_key_id = changed) then
        perform pg_notify('keygate_key_changes', '*');
      else
        perform pg_notify('keygate_key_changes', changed);
      end if;
      return null;
    end $$`.execute(db);

  await sql`
    create function keygate_notify_all_keys() returns trigger language plpgsql as $$
    begin
      perform pg_notify('keygate_key_changes', '*');
      return null;
    end $$`.execute(db);

  // last_used_at / last_used_ip are not in the column list: usage batches never flush caches.
  await sql`
    create trigger api_keys_notify_change
    after insert or delete or update of tenant_id, kind, user_id, scopes, networks, expires_at, status,
      secret_hash, previous_secret_hash, previous_secret_expires_at, secret_generation, token_ttl_seconds,
      rate_limit_per_minute, created_by_user_id, created_by_key_id
    on api_keys for each row execute function keygate_notify_key_change()`.execute(db);
  await sql`
    create trigger users_notify_change after insert or update or delete on users
    for each statement execute function keygate_notify_all_keys()`.execute(db);
  await sql`
    create trigger tenants_notify_change after update or delete on tenants
    for each statement execute function keygate_notify_all_keys()`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`drop trigger tenants_notify_change on tenants`.execute(db);
  await sql`drop trigger users_notify_change on users`.execute(db);
  await sql`drop trigger api_keys_notify_change on api_keys`.execute(db);
  await sql`drop function keygate_notify_all_keys()`.execute(db);
  await sql`drop function keygate_notify_key_change()`.execute(db);
  await db.schema.dropIndex('api_keys_created_by_key_idx').execute();
}
