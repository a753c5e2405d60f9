// The Postgres connection and the table types. Nothing outside src/stores imports kysely or pg.
import { Kysely, PostgresDialect, type ColumnType, type Generated } from 'kysely';
import pg from 'pg';

type Timestamp = ColumnType<Date, Date | string | undefined, Date | string>;

export interface TenantsTable {
  id: Generated<string>;
  parent_id: string | null;
  /** Every tenant above this one, root first; set by the database on insert, never changed. */
  ancestors: Generated<string[]>;
  name: string;
  status: Generated<'active' | 'disabled'>;
  allow_never_expiring_keys: Generated<boolean>;
  /** The tenant whose admins disabled this one (null: enabled, or disabled by the operator). */
  disabled_by_tenant_id: Generated<string | null>;
  max_key_lifetime_days: number | null;
  /** Days before a key's expiry that reminders fire; null = the default (30, 7, 1). */
  expiry_reminder_days: Generated<number[] | null>;
  created_at: Generated<Date>;
  updated_at: Timestamp;
  /** Admins and managers of this tenant and every tenant below it must sign in with two-factor. */
  require_two_factor: Generated<boolean>;
}

export interface UsersTable {
  id: Generated<string>;
  tenant_id: string;
  email: string;
  name: string | null;
  role: 'admin' | 'manager' | 'member' | 'viewer';
  status: Generated<'active' | 'disabled'>;
  created_at: Generated<Date>;
  updated_at: Timestamp;
  /** identity/passwords.ts format; null until the user sets one through a set-up link (no sign-in). */
  password_hash: Generated<string | null>;
  last_sign_in_at: Generated<Date | null>;
}

/** One-time set-up links: only a hash of the token is kept, and the row goes when it is used. */
export interface UserSetupLinksTable {
  token_hash: string;
  user_id: string;
  expires_at: Date;
  created_at: Generated<Date>;
  /** The person or key that issued the link (null: the operator's CLI or the first start). */
  issued_by_user_id: string | null;
  issued_by_key_id: string | null;
}

/** A user's TOTP secret (sealed under the pepper); `enabled_at` null while enrolment waits for a first code. */
export interface UserTwoFactorTable {
  user_id: string;
  secret_encrypted: string;
  enabled_at: Date | null;
  /** The time step of the last accepted code: a code at or before it is refused. */
  last_used_step: ColumnType<string | null, number | null | undefined, number | null>;
  created_at: Generated<Date>;
}

/** Recovery codes, as peppered hashes; `used_at` set when one is spent. */
export interface UserRecoveryCodesTable {
  user_id: string;
  code_hash: string;
  used_at: Date | null;
}

/** Sign-ins waiting for their second factor, addressed by a hash of the challenge id. */
export interface SignInChallengesTable {
  id_hash: string;
  user_id: string;
  expires_at: Date;
  failures: Generated<number>;
  created_at: Generated<Date>;
}

export interface ApiKeysTable {
  client_id: string;
  tenant_id: string;
  kind: 'service' | 'user';
  user_id: string | null;
  name: string;
  description: string | null;
  scopes: string[];
  networks: string[];
  expires_at: Date | null;
  status: Generated<'active' | 'disabled'>;
  secret_hash: string;
  previous_secret_hash: string | null;
  previous_secret_expires_at: Date | null;
  secret_generation: Generated<number>;
  /** Bumped whenever the key's live tokens are ended; tokens carry the epoch they were minted in. */
  token_epoch: Generated<number>;
  token_ttl_seconds: number;
  rate_limit_per_minute: number | null;
  created_by_user_id: string | null;
  created_by_key_id: string | null;
  created_at: Generated<Date>;
  updated_at: Timestamp;
  auth_method: Generated<'client_secret' | 'private_key_jwt' | 'tls_client_auth' | 'self_signed_tls_client_auth'>;
  /** A public JWKS `{keys: [...]}`; jsonb. */
  public_jwks: { keys: Array<Record<string, unknown> & { kty: string }> } | null;
  tls_subject_dn: string | null;
  tls_san_dns: string | null;
  /** PEM. */
  tls_certificate: string | null;
  dpop_required: Generated<boolean>;
}

/**
 * A key's last use, one row per key from its creation on (made by an insert trigger on api_keys,
 * removed with the key): rewritten by every usage flush, so kept apart from the wide key row.
 */
export interface ApiKeyLastUseTable {
  client_id: string;
  last_used_at: Date | null;
  last_used_ip: string | null;
}

export interface AuditEventsTable {
  id: Generated<string>;
  at: Generated<Date>;
  action: string;
  outcome: 'success' | 'denied';
  reason: string | null;
  tenant_id: string | null;
  actor_key_id: string | null;
  actor_user_id: string | null;
  target_key_id: string | null;
  ip: string | null;
  request_id: string | null;
  details: ColumnType<Record<string, unknown>, string | undefined, string>;
}

/** One resource of a tenant's scope catalogue; its scopes are `<resource>:<action>`. */
export interface ScopeResourcesTable {
  tenant_id: string;
  resource: string;
  description: Generated<string>;
  actions: string[];
  created_at: Generated<Date>;
  updated_at: Timestamp;
}

export interface OutboxTable {
  id: Generated<string>;
  event_id: Generated<string>;
  /** `webhooks`, or `sink:<name>` for the audit stream. */
  destination: string;
  type: string;
  tenant_id: string | null;
  payload: ColumnType<Record<string, unknown>, string, string>;
  created_at: Generated<Date>;
  attempts: Generated<number>;
  next_attempt_at: Timestamp;
  lease_until: Date | null;
}

export interface WebhookEndpointsTable {
  id: Generated<string>;
  tenant_id: string;
  url: string;
  description: string | null;
  event_types: string[];
  secret_encrypted: string;
  status: Generated<'active' | 'disabled'>;
  disabled_reason: Generated<string | null>;
  consecutive_failures: Generated<number>;
  failing_since: Generated<Date | null>;
  created_by_key_id: string | null;
  created_at: Generated<Date>;
  updated_at: Timestamp;
}

export interface WebhookDeliveriesTable {
  id: Generated<string>;
  endpoint_id: string;
  event_id: string;
  type: string;
  body: string;
  status: Generated<'pending' | 'delivered' | 'failed'>;
  attempts: Generated<number>;
  retry_until: Date;
  next_attempt_at: Timestamp;
  lease_until: Date | null;
  created_at: Generated<Date>;
  delivered_at: Date | null;
}

export interface WebhookAttemptsTable {
  id: Generated<string>;
  delivery_id: string;
  at: Generated<Date>;
  status_code: number | null;
  latency_ms: number;
  error: string | null;
  response_excerpt: string | null;
}

export interface EventScheduleClaimsTable {
  client_id: string;
  type: string;
  due_at: Date;
  claimed_at: Generated<Date>;
}

export interface Database {
  tenants: TenantsTable;
  users: UsersTable;
  user_setup_links: UserSetupLinksTable;
  api_keys: ApiKeysTable;
  api_key_last_use: ApiKeyLastUseTable;
  audit_events: AuditEventsTable;
  scope_resources: ScopeResourcesTable;
  outbox: OutboxTable;
  webhook_endpoints: WebhookEndpointsTable;
  webhook_deliveries: WebhookDeliveriesTable;
  webhook_attempts: WebhookAttemptsTable;
  event_schedule_claims: EventScheduleClaimsTable;
  user_two_factor: UserTwoFactorTable;
  user_recovery_codes: UserRecoveryCodesTable;
  sign_in_challenges: SignInChallengesTable;
}

export type Db = Kysely<Database>;

/** Per-session limits: how long a statement waits for a lock, and how long a transaction may sit idle. */
export interface SessionLimits {
  lockTimeoutMs: number;
  idleInTransactionTimeoutMs: number;
}

export function connectDatabase(url: string, maxConnections = 10, limits?: SessionLimits): Db {
  const options = limits && `-c lock_timeout=${limits.lockTimeoutMs} -c idle_in_transaction_session_timeout=${limits.idleInTransactionTimeoutMs}`;
  const pool = new pg.Pool({ connectionString: url, max: maxConnections, ...(options ? { options } : {}) });
  // An idle client losing its server must not crash the process; the next query reports it.
  pool.on('error', () => {});
  // Nor may a client that loses it while checked out (a backend terminated or failed over
  // mid-query): its query fails for the caller, and the pool drops the client when released.
  pool.on('connect', (client) => client.on('error', () => {}));
  return new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
}

export async function pingDatabase(db: Db): Promise<void> {
  await db.selectNoFrom((eb) => eb.lit(1).as('one')).execute();
}
