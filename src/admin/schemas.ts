// Request and response shapes of the admin API. These zod schemas validate requests
// AND generate the OpenAPI document (openapi.ts): one source of truth.
import { z } from 'zod';
import { KEY_SORTS, keyFields, KeyChangeSchema, NewKeySchema, RotationSchema, timestamp } from '../keys/schemas.ts';
import { AUTH_METHODS } from '../keys/model.ts';
import { DURATION_PATTERN } from '../shared/duration.ts';
import { ScopeResourceSchema } from '../keys/scope-catalogue.ts';
import { ROLES } from '../identity/roles.ts';

export const KeySchema = z
  .object({
    client_id: z.string(),
    name: z.string(),
    description: z.string().nullable(),
    kind: z.enum(['service', 'user']),
    tenant_id: z.uuid(),
    user_id: z.uuid().nullable(),
    scopes: z.array(z.string()),
    networks: z.array(z.string()),
    expires_at: timestamp.nullable().describe('null = never'),
    status: z.enum(['active', 'disabled', 'expired']),
    token_ttl_seconds: z.int(),
    rate_limit_per_minute: z.int().nullable(),
    created_by: z.string().describe('user id, key client_id, or "system"'),
    created_at: timestamp,
    updated_at: timestamp,
    last_used_at: timestamp.nullable(),
    last_used_ip: z.string().nullable(),
    auth_method: z.enum(AUTH_METHODS).describe('how the key authenticates at the token endpoint'),
    jwks: keyFields.jwks,
    tls_client_auth: keyFields.tls_client_auth,
    tls_client_certificate: z.string().nullable().describe('self_signed_tls_client_auth: the registered certificate, PEM'),
    dpop_required: z.boolean(),
  })
  .meta({ id: 'Key' });

export const CreateKeyBody = NewKeySchema.meta({ id: 'CreateKey' });
export const UpdateKeyBody = KeyChangeSchema.meta({ id: 'UpdateKey' });
export const RotateKeyBody = RotationSchema.meta({ id: 'RotateKey' });

const KeyFileSchema = z.object({
  client_id: z.string(),
  client_secret: z.string().optional().describe('absent for a key that authenticates without a secret'),
  api_key: z.string().optional(),
  auth_method: z.enum(AUTH_METHODS).optional().describe('present for a key that authenticates without a secret'),
  token_url: z.string(),
  issuer: z.string(),
  scopes: z.array(z.string()),
  expires_at: timestamp.nullable(),
});

export const CreatedKeySchema = z
  .object({
    key: KeySchema,
    client_secret: z.string().optional().describe('shown once; absent for a key created with a JWKS or a TLS identity'),
    api_key: z.string().optional().describe('<client_id>.<client_secret>, shown once; absent like client_secret'),
    key_file: KeyFileSchema,
  })
  .meta({ id: 'CreatedKey' });

export const RotatedKeySchema = CreatedKeySchema.extend({
  previous_secret_expires_at: timestamp.nullable(),
}).meta({ id: 'RotatedKey' });

export const KeyEnvelope = z.object({ key: KeySchema }).meta({ id: 'KeyEnvelope' });

const countString = z.string().regex(/^\d{1,7}$/);
const durationString = z.string().regex(DURATION_PATTERN).describe('seconds, or a number with s, m, h or d');

export const ListKeysQuery = z.strictObject({
  status: z.enum(['active', 'disabled', 'expired']).optional(),
  expired: z.enum(['true', 'false']).optional().describe('true: only expired keys (as status=expired); false: none of them'),
  kind: z.enum(['service', 'user']).optional(),
  user_id: z.uuid().optional(),
  tenant_id: z.uuid().optional(),
  expiring_within: durationString.optional(),
  q: z.string().min(1).max(255).optional().describe('name contains it (any case), or client_id starts with it'),
  sort: z.enum(KEY_SORTS).optional().describe('a leading - is descending; default -created_at; keys without the value come last'),
  cursor: z.string().max(2000).optional().describe('next_cursor of the previous page, with the same sort'),
  limit: countString.optional().describe('1–200, default 50'),
});

const KeyCreatorSchema = z.object({
  kind: z.enum(['user', 'key']),
  id: z.string(),
  label: z.string().nullable().describe("the user's email or the key's name; null once it is gone"),
});

export const ListedKeySchema = KeySchema.extend({
  created_by: KeyCreatorSchema.nullable().describe('null: the operator (CLI) or bootstrap'),
  user_email: z.string().nullable().describe('for a user key, its user’s email'),
  usage_7d: z.array(z.int()).nullable().describe('tokens issued per UTC day, the last 7 days, today last; null when unavailable'),
}).meta({ id: 'ListedKey' });

export const KeyListSchema = z
  .object({
    data: z.array(ListedKeySchema),
    next_cursor: z.string().nullable(),
    counts: z.object({ total: z.int(), active: z.int(), disabled: z.int(), expired: z.int(), expiring_30d: z.int() }),
  })
  .meta({ id: 'KeyList' });

export const KeyUsageQuery = z.strictObject({ window: z.enum(['24h', '7d', '30d']).optional().describe('default 24h') });

const count = z.int().min(0);
export const KeyUsageSchema = z
  .object({
    window: z.enum(['24h', '7d', '30d']),
    bucket: z.enum(['hour', 'day']).describe('24h: 24 hours; 7d and 30d: UTC days; the current one last'),
    series: z.array(
      z.object({
        at: timestamp.describe('start of the bucket'),
        issued: count,
        denied: z.object({
          bad_secret: count,
          network: count,
          expired: count,
          disabled: count.describe('the key, its user or a tenant above it disabled'),
          owner: count.describe('a creator up its chain lost the right to create keys'),
          scope: count.describe('asked for a scope the key lacks (or introspected without token:introspect)'),
          rate_limited: count.describe('over the key’s own issuance limit'),
        }),
        introspection: z.object({ active: count, inactive: count }),
      }),
    ),
  })
  .meta({ id: 'KeyUsage' });

export const ScopeResourceBody = ScopeResourceSchema.meta({ id: 'PutScopeResource' });
export const CatalogueQuery = z.strictObject({
  tenant_id: z.uuid().optional().describe("the caller's own tenant by default; a tenant below it is allowed"),
});
export const ScopeResourceViewSchema = z
  .object({
    resource: z.string(),
    description: z.string(),
    actions: z.array(z.string()),
    tenant_id: z.uuid().describe('the tenant that defines it'),
    inherited: z.boolean().describe('defined by a tenant above the one asked about'),
  })
  .meta({ id: 'ScopeResource' });
export const ScopeCatalogueSchema = z.object({ data: z.array(ScopeResourceViewSchema) }).meta({ id: 'ScopeCatalogue' });
export const ScopeResourceEnvelope = z.object({ resource: ScopeResourceViewSchema }).meta({ id: 'ScopeResourceEnvelope' });

export const RevokedTokensSchema = z.object({ revoked_tokens: z.int() }).meta({ id: 'RevokedTokens' });

export const AuditQuery = z.strictObject({
  target_key_id: z.string().max(64).optional().describe('the target key’s client_id, as in the event'),
  key_id: z.string().max(64).optional().describe('older name of target_key_id, still accepted'),
  actor_key_id: z.string().max(64).optional(),
  actor_user_id: z.uuid().optional(),
  action: z.string().max(64).optional(),
  outcome: z.enum(['success', 'denied']).optional(),
  since: timestamp.optional(),
  until: timestamp.optional(),
  // An audit event id: a Postgres bigint.
  cursor: z
    .string()
    .regex(/^\d{1,19}$/)
    .refine((v) => !/^\d+$/.test(v) || BigInt(v) <= 9_223_372_036_854_775_807n, 'not a cursor this server issued')
    .optional(),
  limit: countString.optional().describe('1–200, default 50'),
  tenant_id: z.uuid().optional().describe('only this tenant (one of the caller’s); another tenant matches nothing'),
  include: z.enum(['labels']).optional().describe('`labels`: each event also names its actor user’s email and its keys’ names'),
});

export const AuditEventSchema = z
  .object({
    id: z.string(),
    at: timestamp,
    action: z.string(),
    outcome: z.enum(['success', 'denied']),
    reason: z.string().nullable(),
    tenant_id: z.uuid().nullable(),
    actor_key_id: z.string().nullable(),
    actor_user_id: z.uuid().nullable(),
    target_key_id: z.string().nullable(),
    ip: z.string().nullable(),
    request_id: z.string().nullable(),
    details: z.record(z.string(), z.unknown()),
    actor_user_email: z.string().nullable().optional().describe('with include=labels; null when not the caller’s to know'),
    actor_key_name: z.string().nullable().optional().describe('with include=labels'),
    target_key_name: z.string().nullable().optional().describe('with include=labels'),
    target_user_email: z.string().nullable().optional().describe('with include=labels: the user a user.* event is about (details.user_id)'),
  })
  .meta({ id: 'AuditEvent' });

export const AuditListSchema = z.object({ data: z.array(AuditEventSchema), next_cursor: z.string().nullable() }).meta({ id: 'AuditList' });

export const ErrorSchema = z
  .object({
    error: z.object({
      code: z.string(),
      message: z.string(),
      request_id: z.string(),
      details: z.array(z.object({ field: z.string(), message: z.string() })).optional(),
    }),
  })
  .meta({ id: 'Error' });

export const TenantSchema = z
  .object({
    id: z.uuid(),
    name: z.string(),
    parent_id: z.uuid().nullable(),
    status: z.enum(['active', 'disabled']),
    allow_never_expiring_keys: z.boolean(),
    max_key_lifetime_days: z.int().nullable(),
    expiry_reminder_days: z.array(z.int()).nullable().describe('days before a key expires that key.expiring fires; null = 30, 7 and 1'),
    require_two_factor: z.boolean().describe('admins and managers here and below must sign in with two-factor (a tenant above may require it too)'),
    created_at: timestamp,
    updated_at: timestamp,
  })
  .meta({ id: 'Tenant' });

const tenantSettings = {
  name: z.string().min(1).max(255),
  allow_never_expiring_keys: z.boolean(),
  max_key_lifetime_days: z.int().min(1).max(36_500).nullable(),
};

export const CreateTenantBody = z
  .strictObject({
    name: tenantSettings.name,
    allow_never_expiring_keys: tenantSettings.allow_never_expiring_keys.optional(),
    max_key_lifetime_days: tenantSettings.max_key_lifetime_days.optional(),
    require_two_factor: z.boolean().optional(),
  })
  .meta({ id: 'CreateTenant' });

export const UpdateTenantBody = z
  .strictObject({
    name: tenantSettings.name.optional(),
    allow_never_expiring_keys: tenantSettings.allow_never_expiring_keys.optional(),
    max_key_lifetime_days: tenantSettings.max_key_lifetime_days.optional(),
    expiry_reminder_days: z
      .array(z.int().min(1).max(365))
      .min(1)
      .max(10)
      .refine((days) => new Set(days).size === days.length, 'must not repeat a day')
      .nullable()
      .optional(),
    require_two_factor: z.boolean().optional(),
  })
  .meta({ id: 'UpdateTenant' });

export const TenantEnvelope = z.object({ tenant: TenantSchema }).meta({ id: 'TenantEnvelope' });
export const TenantListSchema = z
  .object({
    data: z.array(
      TenantSchema.extend({ key_count: z.int().describe('keys in this tenant itself'), user_count: z.int().describe('users in this tenant itself') }).meta({
        id: 'ListedTenant',
      }),
    ),
  })
  .meta({ id: 'TenantList' });

const role = z.enum(ROLES);

export const UserSchema = z
  .object({
    id: z.uuid(),
    tenant_id: z.uuid(),
    email: z.string(),
    name: z.string().nullable(),
    role,
    status: z.enum(['active', 'disabled']),
    created_at: timestamp,
    updated_at: timestamp,
    last_sign_in_at: timestamp.nullable(),
    has_password: z.boolean().describe('false until the person has used their set-up link'),
  })
  .meta({ id: 'User' });

export const CreateUserBody = z
  .strictObject({
    email: z.email().max(320),
    name: z.string().min(1).max(255).nullable().optional(),
    role,
    tenant_id: z.uuid().optional().describe("defaults to the caller's tenant; a child tenant's id is allowed"),
  })
  .meta({ id: 'CreateUser' });

export const UpdateUserBody = z
  .strictObject({
    name: z.string().min(1).max(255).nullable().optional(),
    role: role.optional().describe('applies to the user’s keys at their next token or introspection'),
  })
  .meta({ id: 'UpdateUser' });

export const ListUsersQuery = z.strictObject({ tenant_id: z.uuid().optional() });
export const UserEnvelope = z.object({ user: UserSchema }).meta({ id: 'UserEnvelope' });
export const UserListSchema = z
  .object({ data: z.array(UserSchema.extend({ key_count: z.int().describe('user keys acting for the user') })) })
  .meta({ id: 'UserList' });

export const WebhookSchema = z
  .object({
    id: z.uuid(),
    tenant_id: z.uuid(),
    url: z.string(),
    description: z.string().nullable(),
    event_types: z.array(z.string()),
    status: z.enum(['active', 'disabled']),
    disabled_reason: z.string().nullable().describe('by_admin, or sustained_failure'),
    consecutive_failures: z.int(),
    failing_since: timestamp.nullable(),
    created_at: timestamp,
    updated_at: timestamp,
  })
  .meta({ id: 'Webhook' });

export const WebhookEnvelope = z.object({ webhook: WebhookSchema }).meta({ id: 'WebhookEnvelope' });
export const WebhookWithSecret = z
  .object({ webhook: WebhookSchema, secret: z.string().describe('whsec_…: the signing secret, shown only in this answer') })
  .meta({ id: 'WebhookWithSecret' });
export const WebhookListSchema = z.object({ data: z.array(WebhookSchema) }).meta({ id: 'WebhookList' });

export const DeliverySchema = z
  .object({
    id: z.uuid(),
    event_id: z.uuid().describe('the webhook-id header: the same on every attempt and redelivery'),
    type: z.string(),
    status: z.enum(['pending', 'delivered', 'failed']),
    attempts: z.int(),
    next_attempt_at: timestamp.nullable(),
    delivered_at: timestamp.nullable(),
    created_at: timestamp,
    attempt_log: z.array(
      z.object({
        at: timestamp,
        status_code: z.int().nullable(),
        latency_ms: z.int(),
        error: z.string().nullable(),
        response_excerpt: z.string().nullable(),
      }),
    ),
  })
  .meta({ id: 'WebhookDelivery' });
export const DeliveryEnvelope = z.object({ delivery: DeliverySchema }).meta({ id: 'WebhookDeliveryEnvelope' });
export const DeliveryListSchema = z.object({ data: z.array(DeliverySchema) }).meta({ id: 'WebhookDeliveryList' });
export const DeliveryQuery = z.strictObject({
  limit: z
    .string()
    .regex(/^\d{1,3}$/, 'must be a whole number up to 200')
    .optional(),
});

const KeyNameSchema = z.object({ client_id: z.string(), name: z.string() });

export const UserImpactQuery = z.strictObject({ role: role.optional().describe('also say what giving the user this role would do') });
export const UserImpactSchema = z
  .object({
    impact: z.object({
      user_keys: z.array(KeyNameSchema),
      delete: z.object({ deleted_keys: z.array(KeyNameSchema), stopped_keys: z.array(KeyNameSchema) }),
      disable: z.object({ stopped_keys: z.array(KeyNameSchema) }),
      role_change: z
        .object({
          role,
          narrowed_keys: z.array(KeyNameSchema.extend({ scopes_lost: z.array(z.string()) })),
          stopped_keys: z.array(KeyNameSchema),
        })
        .optional(),
    }),
  })
  .meta({ id: 'UserImpact' });

export const SetupLinkSchema = z
  .object({
    setup_link: z.object({
      url: z.string().describe('the one-time token rides in the fragment (#token=…), which browsers never send to a server'),
      expires_at: timestamp,
    }),
  })
  .meta({ id: 'SetupLink' });

export const SessionSchema = z
  .object({
    handle: z.string().describe('names the session for ending it; it is not the session id and signs nobody in'),
    created_at: timestamp,
    last_seen_at: timestamp,
    idle_expires_at: timestamp,
    expires_at: timestamp,
    ip: z.string().nullable(),
    user_agent: z.string().nullable(),
    current: z.boolean().describe('the session this request was made with'),
  })
  .meta({ id: 'Session' });
export const SessionListSchema = z.object({ data: z.array(SessionSchema) }).meta({ id: 'SessionList' });
export const EndedSessionsSchema = z.object({ ended: z.int() }).meta({ id: 'EndedSessions' });
export const AuditExportQuery = AuditQuery.omit({ cursor: true, limit: true, include: true }).extend({
  format: z.enum(['csv', 'jsonl']).optional().describe('csv (RFC 4180, one header line; the default) or jsonl (one JSON event per line)'),
});
