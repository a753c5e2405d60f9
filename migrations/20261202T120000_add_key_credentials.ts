// How a key proves who it is. Every key so far holds a secret (`client_secret`); a key may instead
// hold a public JWKS (`private_key_jwt`), a certificate subject issued by a trusted CA
// (`tls_client_auth`) or a registered self-signed certificate (`self_signed_tls_client_auth`), and
// may require DPoP-bound tokens. These columns take part in the key change feed, so every replica
// forgets a cached key when its credentials change. Never edit once landed.
import { sql, type Kysely } from 'kysely';

const KEY_COLUMNS = `tenant_id, kind, user_id, scopes, networks, expires_at, status, secret_hash,
  previous_secret_hash, previous_secret_expires_at, secret_generation, token_ttl_seconds,
  rate_limit_per_minute, created_by_user_id, created_by_key_id, token_epoch`;
const CREDENTIAL_COLUMNS = 'auth_method, public_jwks, tls_subject_dn, tls_san_dns, tls_certificate, dpop_required';

async function notifyOn(db: Kysely<any>, columns: string): Promise<void> {
  await sql`drop trigger api_keys_notify_change on api_keys`.execute(db);
  await sql.raw(`
    create trigger api_keys_notify_change
    after insert or delete or update of ${columns}
    on api_keys for each row execute function keygate_notify_key_change()`).execute(db);
}

export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .alterTable('api_keys')
    .addColumn('auth_method', 'text', (c) =>
      c
        .notNull()
        .defaultTo('client_secret')
        .check(sql`auth_method in ('client_secret', 'private_key_jwt', 'tls_client_auth', 'self_signed_tls_client_auth')`),
    )
    .addColumn('public_jwks', 'jsonb')
    .addColumn('tls_subject_dn', 'text')
    .addColumn('tls_san_dns', 'text')
    .addColumn('tls_certificate', 'text')
    .addColumn('dpop_required', 'boolean', (c) => c.notNull().defaultTo(false))
    .execute();
  await notifyOn(db, `${KEY_COLUMNS}, ${CREDENTIAL_COLUMNS}`);
}

export async function down(db: Kysely<any>): Promise<void> {
  await notifyOn(db, KEY_COLUMNS);
  for (const column of CREDENTIAL_COLUMNS.split(', ')) await db.schema.alterTable('api_keys').dropColumn(column).execute();
}
