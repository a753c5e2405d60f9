// The key lifecycle: create, show, list, update, rotate, disable, enable, revoke tokens, delete.
// No HTTP in here: the CLI and the admin API both call it. Every change leaves an audit record,
// and every change that takes rights away ends the key's live tokens before it returns.
import { isUuid } from '../identity/ids.ts';
import { KEYGATE_SCOPES, type KeyStatus, type KeyView } from './model.ts';
import { formatApiKey, generateClientId, generateClientSecret, isWellFormedClientId } from '../crypto/credentials.ts';
import { hashSecret } from '../crypto/secret-hash.ts';
import { KeygateError, type FieldError, failOnFieldErrors } from '../shared/errors.ts';
import type { KeyCursor, KeyListFilter, KeySortField } from '../stores/keys.ts';
import { auditedChange, type Actor, type TxStores } from './audited-change.ts';
import { createKeyChanges, type RecordKeyChange } from './changes.ts';
import { toListedView, toView } from './view.ts';
import { issuedLast7Days } from './usage-report.ts';
import type { CreatedCredentialKey, CreatedKey, KeyPage, KeyServiceDeps } from './types.ts';
import { endLiveTokens } from './end-tokens.ts';
import { effectivePolicy } from '../identity/tenant-policy.ts';
import { MAX_CREATOR_CHAIN } from './owner-chain.ts';
import { refusalsToGrant, refusalToActAs, refusalToManageKey } from './authority.ts';
import { catalogueFor, refusalsOffCatalogue } from './scope-catalogue.ts';
import { NEVER_FOR_USER_KEYS } from '../identity/roles.ts';
import {
  canonicalNetworks,
  credentialColumns,
  DEFAULT_KEY_SORT,
  KEY_LIMITS,
  NewKeySchema,
  type KeySortName,
  type NewKey,
  type NewSecretKey,
} from './schemas.ts';
import { requestedExpiry, resolveExpiry } from './expiry.ts';
import { parseInput } from '../shared/validation.ts';
import { isConnectionFailure } from '../shared/store-failures.ts';

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

  /** The list's sparkline data; a store that cannot answer costs the sparkline, not the list. */
  async function issuedPerDay(clientIds: string[], now: Date): Promise<number[][] | undefined> {
    if (!deps.activity || clientIds.length === 0) return undefined;
    try {
      return await issuedLast7Days(deps.activity, clientIds, now);
    } catch (error) {
      if (isConnectionFailure(error)) return undefined;
      throw error;
    }
  }

  /** A key that authenticates without a secret: its file says where to go, and holds nothing secret. */
  function withoutSecret(key: KeyView): CreatedCredentialKey {
    return {
      key,
      key_file: {
        client_id: key.client_id,
        auth_method: key.auth_method,
        token_url: `${deps.issuer}/oauth/token`,
        issuer: deps.issuer,
        scopes: key.scopes,
        expires_at: key.expires_at,
      },
    };
  }

  const changes = createKeyChanges({ ...deps, change, requireManageableKey, requireManageableDescendants, withSecret });

  // A key given a JWKS or a TLS identity has no secret, so nothing is shown once.
  function create(input: NewSecretKey, actor: Actor): Promise<CreatedKey>;
  function create(input: NewKey, actor: Actor): Promise<CreatedKey | CreatedCredentialKey>;
  async function create(input: NewKey, actor: Actor): Promise<CreatedKey | CreatedCredentialKey> {
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
    if (kind === 'user') await validateKeyUser(deps, userId, tenant.id, actor, errors);
    if (kind === 'service' && body.user_id) errors.push({ field: 'user_id', message: 'only user keys act for a user' });
    errors.push(...refusalsToGrant(actor.authority, scopes, networks));
    errors.push(...refusalsOffCatalogue(await catalogueFor(deps, tenant.id), scopes));
    if (actor.authority && !actor.userId && actor.authority.creatorChain.length + 1 >= MAX_CREATOR_CHAIN) {
      errors.push({ field: '(body)', message: `keys created by keys may be at most ${MAX_CREATOR_CHAIN} deep; create this one with a key nearer the top` });
    }
    failOnFieldErrors(errors);

    const credentials = credentialColumns(body) ?? credentialColumns({ jwks: null })!;
    const usesSecret = credentials.auth_method === 'client_secret';
    const clientSecret = generateClientSecret();
    return change(async (tx, record) => {
      // Counted under the user's row lock: parallel creates cannot all see room for one more.
      if (userId !== null) await assertRoomForKey(tx, userId, deps.maxKeysPerUser ?? KEY_LIMITS.maxKeysPerUser);
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
          // An empty hash matches no secret (secret-hash.ts): such a key authenticates otherwise.
          secret_hash: usesSecret ? hashSecret(deps.pepperRing, clientSecret) : '',
          previous_secret_hash: null,
          previous_secret_expires_at: null,
          token_ttl_seconds: body.token_ttl_seconds ?? deps.defaultTokenTtlSeconds,
          rate_limit_per_minute: body.rate_limit_per_minute ?? null,
          // Both, when a user key acts: the person and the key each have to keep the right.
          created_by_user_id: actor.userId,
          created_by_key_id: actor.keyId,
          ...credentials,
          dpop_required: body.dpop_required ?? false,
        }),
        new Date(),
      );
      // A key with a secret and no DPoP requirement is recorded as it always was.
      const method = {
        ...(key.auth_method === 'client_secret' ? {} : { auth_method: key.auth_method }),
        ...(key.dpop_required ? { dpop_required: true } : {}),
      };
      await record('key.create', key, { scopes, networks, kind, ...method });
      return usesSecret ? withSecret(key, clientSecret) : withoutSecret(key);
    }, actor);
  }

  return {
    ...changes,

    create,

    show: requireKey,

    /** One page in `sort` order (default newest first), with counts over every key the actor may see. */
    async list(
      filter: KeyListFilter,
      page: { sort?: KeySortName; cursor?: string; limit?: number },
      actor: Pick<Actor, 'tenantIds' | 'onlyUserId'>,
    ): Promise<KeyPage> {
      const now = new Date();
      const visible = actor.tenantIds ?? (await deps.tenants.allIds());
      const tenantIds = filter.tenantIds ? filter.tenantIds.filter((id) => visible.includes(id)) : visible;
      const limit = page.limit ?? 50;
      const userId = actor.onlyUserId ?? filter.userId;
      // A user key asking for another user's keys gets none, not its own.
      const shownTenants = actor.onlyUserId && filter.userId && filter.userId !== actor.onlyUserId ? [] : tenantIds;
      const sortName = page.sort ?? DEFAULT_KEY_SORT;
      const sort = { field: sortName.replace(/^-/, '') as KeySortField, descending: sortName.startsWith('-') };
      const rows = await deps.keys.list({ ...filter, tenantIds: shownTenants, userId, labelsOnlyFor: actor.onlyUserId }, now, {
        sort,
        after: page.cursor ? decodeCursor(page.cursor, sortName) : undefined,
        limit: limit + 1,
      });
      const shown = rows.slice(0, limit);
      const last = shown.at(-1);
      const [usage, counts] = await Promise.all([
        issuedPerDay(
          shown.map((row) => row.client_id),
          now,
        ),
        deps.keys.counts(tenantIds, now, actor.onlyUserId),
      ]);
      return {
        data: shown.map((row, i) => toListedView(row, now, usage?.[i] ?? null)),
        next_cursor: rows.length > limit && last ? encodeCursor(sortName, { value: last.sort_value, clientId: last.client_id }) : null,
        counts,
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

function encodeCursor(sort: KeySortName, cursor: KeyCursor): string {
  return Buffer.from(JSON.stringify([sort, cursor.value, cursor.clientId])).toString('base64url');
}

/** A cursor continues the order it was made in: another sort's cursor is refused. */
function decodeCursor(text: string, sort: KeySortName): KeyCursor {
  try {
    const [cursorSort, value, clientId] = JSON.parse(Buffer.from(text, 'base64url').toString('utf8')) as [unknown, unknown, unknown];
    if (cursorSort !== sort || typeof clientId !== 'string' || !isWellFormedClientId(clientId)) throw new Error('bad cursor');
    if (value !== null && (typeof value !== 'string' || value.length > 1100 || value.includes('\u0000'))) throw new Error('bad cursor');
    // Only what this server hands out: a real UTC time (Postgres refuses 31 February), for the time sorts.
    if (value !== null && sort.replace(/^-/, '') !== 'name' && !isCursorTime(value)) throw new Error('bad cursor');
    return { value, clientId };
  } catch {
    throw new KeygateError('validation_failed', 'query is invalid', [{ field: 'cursor', message: 'not a cursor this server issued' }]);
  }
}

/** `2026-12-01T23:44:03.123456Z`, a time that exists. */
function isCursorTime(value: string): boolean {
  if (!/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z$/.test(value)) return false;
  const date = new Date(value);
  return !Number.isNaN(date.getTime()) && date.getUTCFullYear() >= 1000 && date.toISOString().slice(0, 19) === value.slice(0, 19);
}

async function validateKeyUser(deps: KeyServiceDeps, userId: string | null, tenantId: string, actor: Actor, errors: FieldError[]) {
  const user = userId && isUuid(userId) ? await deps.users.findById(userId) : undefined;
  if (!user || user.tenant_id !== tenantId) {
    errors.push({ field: 'user_id', message: 'user keys need an existing user of the same tenant' });
    return;
  }
  if (user.status !== 'active') errors.push({ field: 'user_id', message: 'the user is disabled' });
  const refusal = refusalToActAs(actor.authority, actor.userId, deps.roleScopes, user);
  if (refusal) errors.push({ field: 'user_id', message: refusal });
}

async function assertRoomForKey(tx: TxStores, userId: string, limit: number): Promise<void> {
  const user = await tx.users.lockById(userId);
  // Checked again under the lock: the user may have been deleted or disabled meanwhile.
  if (!user) failOnFieldErrors([{ field: 'user_id', message: 'user keys need an existing user of the same tenant' }]);
  if (user!.status !== 'active') failOnFieldErrors([{ field: 'user_id', message: 'the user is disabled' }]);
  if ((await tx.keys.countForUser(userId)) >= limit) {
    throw new KeygateError('limit_reached', `a person may hold at most ${limit} user keys: delete one to make room`, [
      { field: 'user_id', message: `already holds ${limit} user keys` },
    ]);
  }
}
