// The key lifecycle: create, show, list, update, rotate, disable, enable, revoke tokens, delete.
// No HTTP in here: the CLI and the admin API both call it. Every change leaves an audit record,
// and every change that takes rights away ends the key's live tokens before it returns.
import { isUuid } from '../identity/ids.ts';
import { KEYGATE_SCOPES, type KeyStatus, type KeyView } from './model.ts';
import { formatApiKey, generateClientId, generateClientSecret, isWellFormedClientId } from '../crypto/credentials.ts';
import { hashSecret } from '../crypto/secret-hash.ts';
import { KeygateError, type FieldError, failOnFieldErrors } from '../shared/errors.ts';
import type { KeyCursor, KeyListFilter } from '../stores/keys.ts';
import { auditedChange, type Actor, type TxStores } from './audited-change.ts';
import { createKeyChanges, type RecordKeyChange } from './changes.ts';
import { toView } from './view.ts';
import type { CreatedKey, KeyPage, KeyServiceDeps } from './types.ts';
import { endLiveTokens } from './end-tokens.ts';
import { effectivePolicy } from '../identity/tenant-policy.ts';
import { MAX_CREATOR_CHAIN } from './owner-chain.ts';
import { refusalsToGrant, refusalToManageKey } from './authority.ts';
import { NEVER_FOR_USER_KEYS } from '../identity/roles.ts';
import { canonicalNetworks, KEY_LIMITS, NewKeySchema, type NewKey } from './schemas.ts';
import { requestedExpiry, resolveExpiry } from './expiry.ts';
import { parseInput } from '../shared/validation.ts';

export const BOOTSTRAP_SCOPES = [...KEYGATE_SCOPES];

export function createKeyService(deps: KeyServiceDeps) {
  /**
   * A key change and its audit record in one transaction; live tokens it ends are ended inside
   * it, before commit (a crash then leaves fewer tokens, never an unaudited change).
   */
  function change<T>(work: (tx: TxStores, record: RecordKeyChange) => Promise<T>, actor: Actor): Promise<T> {
    return auditedChange(deps, actor, (tx, record) =>
      work(tx, (action, key, details = {}, stoppedKeys = []) => record({ action, tenantId: key.tenant_id, targetKeyId: key.client_id, details, stoppedKeys })),
    );
  }

  /** 404 for a key that does not exist or lies outside the actor's tenants: the same answer. */
  async function requireKey(clientId: string, actor: Pick<Actor, 'tenantIds' | 'onlyUserId'>): Promise<KeyView> {
    const row = isWellFormedClientId(clientId) ? await deps.keys.find(clientId) : undefined;
    const key = row && toView(row, new Date());
    const outside =
      key && ((actor.tenantIds && !actor.tenantIds.includes(key.tenant_id)) || (actor.onlyUserId !== undefined && key.user_id !== actor.onlyUserId));
    if (!key || outside) throw new KeygateError('not_found', 'no such key');
    return key;
  }

  /** requireKey, and the caller must be at least as strong as the key (authority.ts): 403 if not. */
  async function requireManageableKey(clientId: string, actor: Actor): Promise<KeyView> {
    const key = await requireKey(clientId, actor);
    const refusal = refusalToManageKey(actor.authority, key);
    if (refusal) throw new KeygateError('forbidden', refusal);
    return key;
  }

  /**
   * The keys that stop or start again with this one under the owner rule (every key it created,
   * down the chain). Each must be one the caller may manage: stopping a key's creator is a way
   * of stopping the key.
   */
  async function requireManageableDescendants(clientId: string, actor: Actor): Promise<string[]> {
    const descendants = await deps.keys.descendants({ keyIds: [clientId] });
    for (const key of descendants) {
      const refusal = refusalToManageKey(actor.authority, key);
      if (refusal) throw new KeygateError('forbidden', `it created ${key.client_id}, and ${refusal}`);
    }
    return descendants.map((key) => key.client_id);
  }

  function withSecret(key: KeyView, clientSecret: string): CreatedKey {
    const apiKey = formatApiKey(key.client_id, clientSecret);
    return {
      key,
      client_secret: clientSecret,
      api_key: apiKey,
      key_file: {
        client_id: key.client_id,
        client_secret: clientSecret,
        api_key: apiKey,
        token_url: `${deps.issuer}/oauth/token`,
        issuer: deps.issuer,
        scopes: key.scopes,
        expires_at: key.expires_at,
      },
    };
  }

  const changes = createKeyChanges({ ...deps, change, requireManageableKey, requireManageableDescendants, withSecret });

  return {
    ...changes,

    async create(input: NewKey, actor: Actor): Promise<CreatedKey> {
      const body = parseInput(NewKeySchema, input);
      const now = new Date();
      const errors: FieldError[] = [];
      const tenantPath = body.tenant_id === undefined ? [] : await deps.tenants.pathTo(body.tenant_id);
      const tenant = tenantPath.at(-1);
      if (!tenant || (actor.tenantIds && !actor.tenantIds.includes(tenant.id))) {
        throw new KeygateError('validation_failed', 'request body is invalid', [{ field: 'tenant_id', message: 'no such tenant' }]);
      }
      const scopes = [...new Set(body.scopes)];
      const networks = canonicalNetworks(body.networks ?? []);
      const expiresAt = resolveExpiry(requestedExpiry(body.expires_at), effectivePolicy(tenantPath), now, errors);
      const kind = body.kind ?? (actor.onlyUserId ? 'user' : 'service');
      const userId = kind === 'user' ? (body.user_id ?? actor.onlyUserId ?? null) : null;
      if (actor.onlyUserId && (kind !== 'user' || userId !== actor.onlyUserId)) {
        errors.push({ field: 'user_id', message: 'a user key may only create keys for its own user' });
      }
      if (kind === 'user') {
        for (const scope of scopes.filter((s) => NEVER_FOR_USER_KEYS.includes(s))) {
          errors.push({ field: 'scopes', message: `'${scope}' can never be held by a user key` });
        }
      }
      if (kind === 'user') await validateKeyUser(deps, userId, tenant.id, errors);
      if (kind === 'service' && body.user_id) errors.push({ field: 'user_id', message: 'only user keys act for a user' });
      errors.push(...refusalsToGrant(actor.authority, scopes, networks));
      if (actor.authority && !actor.userId && actor.authority.creatorChain.length + 1 >= MAX_CREATOR_CHAIN) {
        errors.push({ field: '(body)', message: `keys created by keys may be at most ${MAX_CREATOR_CHAIN} deep; create this one with a key nearer the top` });
      }
      failOnFieldErrors(errors);

      const clientSecret = generateClientSecret();
      return change(async (tx, record) => {
        // Counted under the user's row lock: parallel creates cannot all see room for one more.
        if (userId !== null) await assertRoomForKey(tx, userId);
        const key = toView(
          await tx.keys.insert({
            client_id: generateClientId(),
            tenant_id: tenant.id,
            kind,
            user_id: userId,
            name: body.name,
            description: body.description ?? null,
            scopes,
            networks,
            expires_at: expiresAt,
            secret_hash: hashSecret(deps.pepperRing, clientSecret),
            previous_secret_hash: null,
            previous_secret_expires_at: null,
            token_ttl_seconds: body.token_ttl_seconds ?? deps.defaultTokenTtlSeconds,
            rate_limit_per_minute: body.rate_limit_per_minute ?? null,
            // Both, when a user key acts: the person and the key each have to keep the right.
            created_by_user_id: actor.userId,
            created_by_key_id: actor.keyId,
          }),
          new Date(),
        );
        await record('key.create', key, { scopes, networks, kind });
        return withSecret(key, clientSecret);
      }, actor);
    },

    show: requireKey,

    /** One page in creation order, with counts over every tenant the actor may see. */
    async list(filter: KeyListFilter, page: { cursor?: string; limit?: number }, actor: Pick<Actor, 'tenantIds' | 'onlyUserId'>): Promise<KeyPage> {
      const now = new Date();
      const visible = actor.tenantIds ?? (await deps.tenants.allIds());
      const tenantIds = filter.tenantIds ? filter.tenantIds.filter((id) => visible.includes(id)) : visible;
      const limit = page.limit ?? 50;
      const userId = actor.onlyUserId ?? filter.userId;
      const rows = (
        await deps.keys.list({ ...filter, tenantIds, userId }, now, { after: page.cursor ? decodeCursor(page.cursor) : undefined, limit: limit + 1 })
      ).map((row) => toView(row, now));
      const data = rows.slice(0, limit);
      const last = data.at(-1);
      return {
        data,
        next_cursor: rows.length > limit && last ? encodeCursor({ createdAt: new Date(last.created_at), clientId: last.client_id }) : null,
        counts: await deps.keys.counts(tenantIds, now, actor.onlyUserId),
      };
    },

    async setStatus(clientId: string, status: KeyStatus, actor: Actor): Promise<KeyView> {
      const before = await requireManageableKey(clientId, actor);
      const descendants = await requireManageableDescendants(clientId, actor);
      await change(async (tx, record) => {
        await tx.keys.setStatus(clientId, status);
        const dropped = status === 'disabled' ? await endLiveTokens(tx, deps.tokens, [clientId, ...descendants]) : 0;
        if (status === 'disabled') await record('key.disable', before, { tokens_dropped: dropped }, descendants);
        else await record('key.enable', before);
      }, actor);
      return requireKey(clientId, actor);
    },

    async delete(clientId: string, actor: Actor): Promise<void> {
      const before = await requireManageableKey(clientId, actor);
      const descendants = await requireManageableDescendants(clientId, actor);
      await change(async (tx, record) => {
        const dropped = await endLiveTokens(tx, deps.tokens, [clientId, ...descendants]);
        await tx.keys.delete(clientId);
        await record('key.delete', before, { tokens_dropped: dropped }, descendants);
      }, actor);
    },
  };
}

export type KeyService = ReturnType<typeof createKeyService>;

function encodeCursor(cursor: KeyCursor): string {
  return Buffer.from(JSON.stringify([cursor.createdAt.toISOString(), cursor.clientId])).toString('base64url');
}

function decodeCursor(text: string): KeyCursor {
  try {
    const [createdAt, clientId] = JSON.parse(Buffer.from(text, 'base64url').toString('utf8')) as [string, string];
    const date = new Date(createdAt);
    // Only what this server hands out: a key's creation time, which Postgres can compare.
    const year = date.getUTCFullYear();
    if (typeof clientId !== 'string' || Number.isNaN(date.getTime()) || year < 2000 || year > 9999) throw new Error('bad cursor');
    return { createdAt: date, clientId };
  } catch {
    throw new KeygateError('validation_failed', 'query is invalid', [{ field: 'cursor', message: 'not a cursor this server issued' }]);
  }
}

async function validateKeyUser(deps: KeyServiceDeps, userId: string | null, tenantId: string, errors: FieldError[]) {
  const user = userId && isUuid(userId) ? await deps.users.findById(userId) : undefined;
  if (!user || user.tenant_id !== tenantId) {
    errors.push({ field: 'user_id', message: 'user keys need an existing user of the same tenant' });
    return;
  }
  if (user.status !== 'active') errors.push({ field: 'user_id', message: 'the user is disabled' });
}

async function assertRoomForKey(tx: TxStores, userId: string): Promise<void> {
  const user = await tx.users.lockById(userId);
  // Checked again under the lock: the user may have been deleted or disabled meanwhile.
  if (!user) failOnFieldErrors([{ field: 'user_id', message: 'user keys need an existing user of the same tenant' }]);
  if (user!.status !== 'active') failOnFieldErrors([{ field: 'user_id', message: 'the user is disabled' }]);
  if ((await tx.keys.countForUser(userId)) >= KEY_LIMITS.maxKeysPerUser) {
    failOnFieldErrors([{ field: 'user_id', message: `a user may hold at most ${KEY_LIMITS.maxKeysPerUser} keys` }]);
  }
}
