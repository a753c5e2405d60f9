// A key's last use (when, from where) moves out of api_keys into a narrow table of its own. Last
// use is rewritten by every usage flush, while the rest of a key changes rarely: each rewrite of
// an api_keys row copied a wide row (hashes, JWKS, certificates) and added an entry to every one
// of its indexes. Here a rewrite copies a row of three columns and touches three indexes. Every
// key has its row from its creation on (an insert trigger makes it, whoever inserts the key), so
// the key list can join it and read its sort indexes in order; a key's row goes with the key.
// Free space is left on each page so a rewritten row can stay on its page. The copy, the drops and
// the trigger commit together: kysely's migrator applies pending migrations in one transaction on
// Postgres. Never edit once landed.
import { sql, type Kysely } from 'kysely';

export async function up(db: Kysely<any>): Promise<void> {
  await sql`
    create table api_key_last_use (
      client_id text primary key references api_keys (client_id) on delete cascade,
      last_used_at timestamptz,
      last_used_ip text
    ) with (fillfactor = 70)`.execute(db);
  await sql`
    insert into api_key_last_use (client_id, last_used_at, last_used_ip)
    select client_id, last_used_at, last_used_ip from api_keys`.execute(db);
  // The key list's orders by last use, as before: read forwards, ascending with never-used keys
  // last; the NULLS FIRST one read backwards, descending with never-used keys last.
  await sql`create index api_key_last_use_at_idx on api_key_last_use (last_used_at, client_id)`.execute(db);
  await sql`create index api_key_last_use_at_desc_idx on api_key_last_use (last_used_at nulls first, client_id)`.execute(db);
  await sql`
    create function keygate_key_last_use_row() returns trigger language plpgsql as $$
    begin
      insert into api_key_last_use (client_id) values (new.client_id);
      return null;
    end $$`.execute(db);
  await sql`
    create trigger api_keys_last_use_row after insert on api_keys
    for each row execute function keygate_key_last_use_row()`.execute(db);
  await sql`drop index api_keys_last_used_desc_idx`.execute(db);
  await sql`drop index api_keys_last_used_idx`.execute(db);
  await db.schema.alterTable('api_keys').dropColumn('last_used_at').dropColumn('last_used_ip').execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('api_keys').addColumn('last_used_at', 'timestamptz').addColumn('last_used_ip', 'text').execute();
  await sql`
    update api_keys k set last_used_at = u.last_used_at, last_used_ip = u.last_used_ip
    from api_key_last_use u where u.client_id = k.client_id and u.last_used_at is not null`.execute(db);
  await sql`create index api_keys_last_used_idx on api_keys (last_used_at, client_id)`.execute(db);
  await sql`create index api_keys_last_used_desc_idx on api_keys (last_used_at nulls first, client_id)`.execute(db);
  await sql`drop trigger api_keys_last_use_row on api_keys`.execute(db);
  await sql`drop function keygate_key_last_use_row()`.execute(db);
  await db.schema.dropTable('api_key_last_use').execute();
}
