// What the admin API and the session routes answer, as the console reads them.
export type Role = 'admin' | 'manager' | 'member' | 'viewer';

export interface SessionUser {
  id: string;
  email: string;
  name: string | null;
  role: Role;
  tenant_id: string;
  tenant_name?: string;
}

export interface Session {
  user: SessionUser;
  /** The account the session works in: the user's own tenant, or one below it they switched into. */
  account?: ActiveAccount;
  csrf_token: string;
  idle_expires_at?: string;
  expires_at?: string;
  /** The tenant requires two-factor of this person and they have none: only enrolment is open. */
  two_factor_enrolment_required?: boolean;
}

export interface CreatedBy {
  kind: 'user' | 'key';
  id: string;
  label: string;
}

export interface Key {
  client_id: string;
  name: string;
  description: string | null;
  kind: 'service' | 'user';
  tenant_id: string;
  user_id: string | null;
  user_email?: string | null;
  scopes: string[];
  networks: string[];
  expires_at: string | null;
  status: 'active' | 'disabled' | 'expired';
  token_ttl_seconds: number;
  rate_limit_per_minute: number | null;
  created_by: CreatedBy | string | null;
  created_at: string;
  updated_at: string;
  last_used_at: string | null;
  last_used_ip: string | null;
  usage_7d?: number[];
}

export interface KeyCounts {
  total: number;
  active: number;
  disabled: number;
  expired: number;
  expiring_30d: number;
}

export interface KeyPage {
  data: Key[];
  next_cursor: string | null;
  counts: KeyCounts;
}

export interface KeyFile {
  client_id: string;
  client_secret: string;
  api_key: string;
  token_url: string;
  issuer: string;
  scopes: string[];
  expires_at: string | null;
}

export interface CreatedKey {
  key: Key;
  client_secret: string;
  api_key: string;
  key_file: KeyFile;
  previous_secret_expires_at?: string | null;
}

export interface ScopeResource {
  resource: string;
  description: string | null;
  actions: string[];
  tenant_id: string;
  inherited: boolean;
}

export interface UsagePoint {
  at: string;
  issued: number;
  denied: Record<string, number>;
  introspection: { active: number; inactive: number };
}

export interface Usage {
  window: '24h' | '7d' | '30d';
  bucket: 'hour' | 'day';
  series: UsagePoint[];
}

export interface AuditEvent {
  id: string;
  at: string;
  action: string;
  outcome: string;
  reason: string | null;
  actor_key_id: string | null;
  actor_user_id: string | null;
  target_key_id: string | null;
  ip: string | null;
  details: Record<string, unknown> | null;
}

export interface User {
  id: string;
  email: string;
  name: string | null;
  role: Role;
  status: string;
}

export interface Tenant {
  id: string;
  name: string;
  allow_never_expiring_keys: boolean;
  max_key_lifetime_days: number | null;
  /** Admins and managers here and below must use two-factor (a tenant above may require it too). */
  require_two_factor?: boolean;
  parent_id?: string | null;
}

export interface Webhook {
  id: string;
  tenant_id: string;
  url: string;
  description: string | null;
  event_types: string[];
  status: 'active' | 'disabled';
  disabled_reason: string | null;
  consecutive_failures: number;
  failing_since: string | null;
  created_at: string;
  updated_at: string;
}

export interface CreatedWebhook {
  webhook: Webhook;
  secret: string;
}

export interface DeliveryAttempt {
  at: string;
  status_code: number | null;
  latency_ms: number;
  error: string | null;
  response_excerpt: string | null;
}

export interface WebhookDelivery {
  id: string;
  event_id: string;
  type: string;
  status: 'pending' | 'delivered' | 'failed';
  attempts: number;
  next_attempt_at: string | null;
  delivered_at: string | null;
  created_at: string;
  attempt_log: DeliveryAttempt[];
}

/** A user as the Users page lists them. */
export interface ListedUser extends User {
  tenant_id: string;
  created_at: string;
  last_sign_in_at: string | null;
  has_password: boolean;
  key_count?: number;
}

export interface KeyName {
  client_id: string;
  name: string;
}

/** What a change to a user would do to keys, as the server computes it. */
export interface UserImpact {
  user_keys: KeyName[];
  delete: { deleted_keys: KeyName[]; stopped_keys: KeyName[] };
  disable: { stopped_keys: KeyName[] };
  role_change?: { role: Role; narrowed_keys: (KeyName & { scopes_lost: string[] })[]; stopped_keys: KeyName[] };
}

/** One console session: the handle names it for ending it and is no credential. */
export interface ConsoleSessionInfo {
  handle: string;
  created_at: string;
  last_seen_at: string;
  expires_at: string;
  ip: string | null;
  user_agent: string | null;
  current: boolean;
}

export interface SetupLink {
  url: string;
  expires_at: string;
}

/** One step of the way from the user's own tenant down to an account. */
export interface AccountStep {
  id: string;
  name: string;
}

export interface ActiveAccount {
  id: string;
  name: string;
  path: AccountStep[];
}

export interface SwitchableAccount extends ActiveAccount {
  parent_id: string | null;
  status: 'active' | 'disabled';
}

export interface ChildAccount {
  id: string;
  name: string;
  parent_id: string | null;
  status: 'active' | 'disabled';
  allow_never_expiring_keys: boolean;
  max_key_lifetime_days: number | null;
  key_count: number;
  user_count: number;
}

/** An audit event with the names behind its ids (`include=labels`): null where the caller may not see them. */
export interface LabelledAuditEvent extends AuditEvent {
  tenant_id: string | null;
  request_id: string | null;
  actor_user_email: string | null;
  actor_key_name: string | null;
  target_key_name: string | null;
  target_user_email: string | null;
}

export interface AuditPage {
  data: LabelledAuditEvent[];
  next_cursor: string | null;
}

/** The person's own two-factor sign-in (/console/api/two-factor). */
export interface TwoFactorStatus {
  enabled: boolean;
  enabled_at: string | null;
  recovery_codes_left: number;
  /** Their tenant (or one above it) requires it of their role. */
  required: boolean;
}

export interface TwoFactorEnrolment {
  /** Base32, for typing into an authenticator app by hand. */
  secret: string;
  /** The QR code's dark modules as one SVG path, in a `size`×`size` view box. */
  qr_code: { size: number; path: string };
  account: string;
}
