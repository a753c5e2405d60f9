// The key lifecycle (SPEC §1, §2): create, show, list, disable, enable, delete. No HTTP in here:
// the CLI and the admin API both call these. Every change leaves an audit record, and every
// change that takes rights away drops the key's live tokens before it returns.
import { ADMIN_SCOPES, INTROSPECT_SCOPE, type KeyKind, type KeyStatus, type KeyView } from './model.ts';
import { formatApiKey, generateClientId, generateClientSecret } from '../crypto/credentials.ts';
import { hashSecret, type PepperRing } from '../crypto/secret-hash.ts';
import { ApiError, type FieldError } from '../http/errors.ts';
import type { AuditStore } from '../stores/audit.ts';
import type { KeyListFilter, KeyStore } from '../stores/keys.ts';
import type { TenantStore } from '../stores/tenants.ts';
import type { TokenStore } from '../stores/tokens.ts';
import type { UserStore } from '../stores/users.ts';
import {
  KEY_LIMITS, resolveExpiry, validateDescription, validateName, validateNetworks, validateRateLimit,
  validateScopes, validateTokenTtl,
} from './validation.ts';

export interface KeyServiceDeps {
  keys: KeyStore;
  tenants: TenantStore;
  users: UserStore;
  audit: AuditStore;
  tokens: TokenStore;
  pepperRing: PepperRing;
  issuer: string;
  /** Token lifetime for keys created without one, seconds. */
  defaultTokenTtlSeconds: number;
}

/** Who is acting, for `created_by` and the audit log. */
export interface Actor {
  keyId: string | null;
  userId: string | null;
  /** `cli`, `bootstrap` or `admin-api`. */
  via: string;
  ip?: string | null;
  requestId?: string | null;
}

export interface CreateKeyInput {
  tenantId: string;
  name: unknown;
  description?: unknown;
  kind?: KeyKind;
  userId?: string | null;
  scopes: unknown;
  networks?: unknown;
  /** undefined = default lifetime; null = never expires. */
  expiresAt?: Date | null;
  tokenTtlSeconds?: unknown;
  rateLimitPerMinute?: unknown;
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

/** Shown exactly once (SPEC §2). */
export interface CreatedKey {
  key: KeyView;
  client_secret: string;
  api_key: string;
  key_file: KeyFile;
}

export const BOOTSTRAP_SCOPES = [...ADMIN_SCOPES, INTROSPECT_SCOPE];

export function createKeyService(deps: KeyServiceDeps) {
  const fail = (errors: FieldError[]) => {
    if (errors.length > 0) throw new ApiError('validation_failed', 'request body is invalid', errors);
  };

  async function audit(action: string, actor: Actor, key: Pick<KeyView, 'client_id' | 'tenant_id'>, details: Record<string, unknown> = {}) {
    await deps.audit.record({
      action,
      outcome: 'success',
      tenantId: key.tenant_id,
      actorKeyId: actor.keyId,
      actorUserId: actor.userId,
      targetKeyId: key.client_id,
      ip: actor.ip ?? null,
      requestId: actor.requestId ?? null,
      details: { via: actor.via, ...details },
    });
  }

  async function requireKey(clientId: string): Promise<KeyView> {
    const key = await deps.keys.findView(clientId, new Date());
    if (!key) throw new ApiError('not_found', 'no such key');
    return key;
  }

  return {
    async create(input: CreateKeyInput, actor: Actor): Promise<CreatedKey> {
      const now = new Date();
      const errors: FieldError[] = [];
      const tenant = await deps.tenants.findById(input.tenantId);
      if (!tenant) throw new ApiError('validation_failed', 'request body is invalid', [{ field: 'tenant_id', message: 'no such tenant' }]);
      validateName(input.name, errors);
      validateDescription(input.description, errors);
      const scopes = validateScopes(input.scopes, errors);
      const networks = validateNetworks(input.networks, errors);
      validateTokenTtl(input.tokenTtlSeconds, errors);
      validateRateLimit(input.rateLimitPerMinute, errors);
      const expiresAt = resolveExpiry(input.expiresAt, tenant, now, errors);
      const kind = input.kind ?? 'service';
      const userId = kind === 'user' ? input.userId ?? null : null;
      if (kind === 'user') await validateKeyUser(deps, userId, input.tenantId, errors);
      if (kind === 'service' && input.userId) errors.push({ field: 'user_id', message: 'only user keys act for a user' });
      fail(errors);

      const clientId = generateClientId();
      const clientSecret = generateClientSecret();
      const key = await deps.keys.insert({
        client_id: clientId,
        tenant_id: input.tenantId,
        kind,
        user_id: userId,
        name: input.name as string,
        description: (input.description as string | undefined) ?? null,
        scopes,
        networks,
        expires_at: expiresAt,
        secret_hash: hashSecret(deps.pepperRing, clientSecret),
        previous_secret_hash: null,
        previous_secret_expires_at: null,
        token_ttl_seconds: (input.tokenTtlSeconds as number | undefined) ?? deps.defaultTokenTtlSeconds,
        rate_limit_per_minute: (input.rateLimitPerMinute as number | undefined) ?? null,
        created_by_user_id: actor.userId,
        created_by_key_id: actor.userId ? null : actor.keyId,
      });
      await audit('key.create', actor, key, { scopes, networks, kind });
      const apiKey = formatApiKey(clientId, clientSecret);
      return {
        key,
        client_secret: clientSecret,
        api_key: apiKey,
        key_file: {
          client_id: clientId,
          client_secret: clientSecret,
          api_key: apiKey,
          token_url: `${deps.issuer}/oauth/token`,
          issuer: deps.issuer,
          scopes: key.scopes,
          expires_at: key.expires_at,
        },
      };
    },

    show: requireKey,

    async list(filter: KeyListFilter): Promise<KeyView[]> {
      return deps.keys.list(filter, new Date());
    },

    async setStatus(clientId: string, status: KeyStatus, actor: Actor): Promise<KeyView> {
      const before = await requireKey(clientId);
      await deps.keys.setStatus(clientId, status);
      let dropped = 0;
      if (status === 'disabled') dropped = await deps.tokens.destroyAllForKey(clientId);
      await audit(status === 'disabled' ? 'key.disable' : 'key.enable', actor, before, status === 'disabled' ? { tokens_dropped: dropped } : {});
      return requireKey(clientId);
    },

    async delete(clientId: string, actor: Actor): Promise<void> {
      const before = await requireKey(clientId);
      await deps.keys.delete(clientId);
      const dropped = await deps.tokens.destroyAllForKey(clientId);
      await audit('key.delete', actor, before, { tokens_dropped: dropped });
    },
  };
}

export type KeyService = ReturnType<typeof createKeyService>;

async function validateKeyUser(deps: KeyServiceDeps, userId: string | null, tenantId: string, errors: FieldError[]) {
  const user = userId && /^[0-9a-f-]{36}$/i.test(userId) ? await deps.users.findById(userId) : undefined;
  if (!user || user.tenant_id !== tenantId) {
    errors.push({ field: 'user_id', message: 'user keys need an existing user of the same tenant' });
    return;
  }
  if (user.status !== 'active') errors.push({ field: 'user_id', message: 'the user is disabled' });
  if (await deps.keys.countForUser(user.id) >= KEY_LIMITS.maxKeysPerUser) {
    errors.push({ field: 'user_id', message: `a user may hold at most ${KEY_LIMITS.maxKeysPerUser} keys` });
  }
}
