// Changes to an existing key: update, rotate, revoke its tokens. Any change that takes rights
// away (fewer scopes, narrower networks, earlier expiry, a rotated-out secret) ends the key's
// live tokens before the call returns.
import { generateClientSecret } from '../crypto/credentials.ts';
import { hashSecret } from '../crypto/secret-hash.ts';
import { KeygateError, type FieldError, failOnFieldErrors } from '../shared/errors.ts';
import { networksNarrowed, parseNetworkList } from '../shared/network.ts';
import { NEVER_FOR_USER_KEYS } from '../identity/roles.ts';
import type { KeyPatch, KeyRow } from '../stores/keys.ts';
import { toView } from './view.ts';
import { KEY_WRITE_SCOPE, type KeyView } from './model.ts';
import { refusalsToGrant, refusalToActAs, refusalToTakeOver } from './authority.ts';
import { catalogueFor, refusalsOffCatalogue } from './scope-catalogue.ts';
import { endLiveTokens } from './end-tokens.ts';
import { fieldChanges } from './field-changes.ts';
import { MAX_CREATOR_CHAIN } from './owner-chain.ts';
import { effectivePolicy } from '../identity/tenant-policy.ts';
import type { Actor, TxStores } from './audited-change.ts';
import type { CreatedKey, KeyServiceDeps } from './types.ts';
import { requestedExpiry, resolveExpiry } from './expiry.ts';
import { canonicalNetworks, credentialColumns, KeyChangeSchema, RotationSchema, type KeyChange } from './schemas.ts';
import { parseInput } from '../shared/validation.ts';

/** The key fields whose values a key.update record shows before and after: none holds a secret or a hash. */
const AUDITED_KEY_FIELDS = [
  'name',
  'description',
  'scopes',
  'networks',
  'expires_at',
  'token_ttl_seconds',
  'rate_limit_per_minute',
  'auth_method',
  'dpop_required',
  'tls_subject_dn',
  'tls_san_dns',
] as const satisfies readonly (keyof KeyRow)[];

/** Audits a change to one key, in the change's transaction. */
export type RecordKeyChange = (
  action: string,
  key: Pick<KeyView, 'client_id' | 'tenant_id'>,
  details?: Record<string, unknown>,
  stoppedKeys?: readonly string[],
) => Promise<void>;

interface ChangeDeps extends KeyServiceDeps {
  change<T>(work: (tx: TxStores, record: RecordKeyChange) => Promise<T>, actor: Actor): Promise<T>;
  requireManageableKey(clientId: string, actor: Actor): Promise<KeyView>;
  requireManageableDescendants(clientId: string, actor: Actor): Promise<string[]>;
  withSecret(key: KeyView, clientSecret: string): CreatedKey;
}

export function createKeyChanges(deps: ChangeDeps) {
  /** The columns a change writes, once it passed the schema and the rules that need the key. */
  async function patchFor(change: KeyChange, current: KeyView): Promise<KeyPatch> {
    const errors: FieldError[] = [];
    const patch: KeyPatch = {};
    if (change.name !== undefined) patch.name = change.name;
    if ('description' in change) patch.description = change.description ?? null;
    if (change.scopes !== undefined) {
      const scopes = [...new Set(change.scopes)];
      if (current.kind === 'user') {
        for (const scope of scopes.filter((s) => NEVER_FOR_USER_KEYS.includes(s))) {
          errors.push({ field: 'scopes', message: `'${scope}' can never be held by a user key` });
        }
      }
      const added = scopes.filter((scope) => !current.scopes.includes(scope));
      if (added.length > 0) errors.push(...refusalsOffCatalogue(await catalogueFor(deps, current.tenant_id), added));
      patch.scopes = scopes;
    }
    if (change.networks !== undefined) patch.networks = canonicalNetworks(change.networks);
    if ('expires_at' in change) {
      const policy = effectivePolicy(await deps.tenants.pathTo(current.tenant_id));
      patch.expires_at = resolveExpiry(requestedExpiry(change.expires_at), policy, new Date(), errors);
    }
    if (change.token_ttl_seconds !== undefined) patch.token_ttl_seconds = change.token_ttl_seconds;
    if ('rate_limit_per_minute' in change) patch.rate_limit_per_minute = change.rate_limit_per_minute ?? null;
    const credentials = credentialColumns(change);
    if (credentials) {
      Object.assign(patch, credentials);
      // A secret never comes back by switching methods: a key that leaves client_secret loses
      // its secret (and a rotation's grace), and one that returns to it needs a rotation.
      if (credentials.auth_method !== 'client_secret' || current.auth_method !== 'client_secret') {
        Object.assign(patch, { secret_hash: '', previous_secret_hash: null, previous_secret_expires_at: null });
      }
    }
    if (change.dpop_required !== undefined) patch.dpop_required = change.dpop_required;
    failOnFieldErrors(errors);
    return patch;
  }

  /**
   * Rotating, or setting the key's credential, hands the caller the key: refused when the key
   * acts for a person the caller may not act as, or when the key could reach the caller's creators.
   */
  async function assertMayTakeOver(target: KeyView, actor: Actor): Promise<void> {
    const person = target.kind === 'user' && target.user_id ? await deps.users.findById(target.user_id) : undefined;
    const asPerson = person && refusalToActAs(actor.authority, actor.userId, deps.roleScopes, person);
    if (asPerson) throw new KeygateError('forbidden', asPerson);
    if (!actor.authority || actor.authority.creatorChain.length === 0 || !actor.keyId) return;
    const [targetChain, callerAncestors] = await Promise.all([
      deps.keys.ancestors(target.client_id, MAX_CREATOR_CHAIN),
      deps.keys.ancestors(actor.keyId, MAX_CREATOR_CHAIN),
    ]);
    const refusal = refusalToTakeOver(
      target,
      targetChain.map((key) => key.client_id),
      callerAncestors,
    );
    if (refusal) throw new KeygateError('forbidden', refusal);
  }

  return {
    async update(clientId: string, change: KeyChange, actor: Actor): Promise<KeyView> {
      const parsed = parseInput(KeyChangeSchema, change);
      const current = await deps.requireManageableKey(clientId, actor);
      // A credential the caller chooses (a public key, a certificate, another method) hands the
      // caller the key as surely as a rotation does, so it needs the same right.
      if (credentialColumns(parsed)) await assertMayTakeOver(current, actor);
      const patch = await patchFor(parsed, current);
      // The key as it would be must still be one this caller could have created.
      failOnFieldErrors(refusalsToGrant(actor.authority, patch.scopes ?? current.scopes, patch.networks ?? current.networks));
      // Taking admin:keys:write away stops every key this one created; giving it back restarts them.
      const createRightChanges = patch.scopes !== undefined && current.scopes.includes(KEY_WRITE_SCOPE) !== patch.scopes.includes(KEY_WRITE_SCOPE);
      const descendants = createRightChanges ? await deps.requireManageableDescendants(clientId, actor) : [];
      const after = await deps.change(async (tx, record) => {
        const result = await tx.keys.update(clientId, patch);
        if (!result) throw new KeygateError('not_found', 'no such key');
        const narrowed = rightsNarrowed(result.before, result.after);
        const stopped = lostKeyCreation(result.before, result.after) ? descendants : [];
        const dropped = await endLiveTokens(tx, deps.tokens, [...(narrowed ? [clientId] : []), ...stopped]);
        const changes = fieldChanges(result.before, result.after, AUDITED_KEY_FIELDS);
        await record('key.update', current, { fields: Object.keys(patch), changes, narrowed, tokens_dropped: dropped }, stopped);
        return result.after;
      }, actor);
      return toView(after, new Date());
    },

    /** New secret, shown once; the old one works for `graceSeconds` more (0 = refused now, with its tokens). */
    async rotate(clientId: string, graceSeconds: number, actor: Actor): Promise<CreatedKey & { previous_secret_expires_at: string | null }> {
      parseInput(RotationSchema, { grace_seconds: graceSeconds });
      const current = await deps.requireManageableKey(clientId, actor);
      if (current.auth_method !== 'client_secret') {
        throw new KeygateError('validation_failed', 'request is invalid', [
          { field: '(key)', message: `this key authenticates with ${current.auth_method}: change its credential instead` },
        ]);
      }
      await assertMayTakeOver(current, actor);
      const clientSecret = generateClientSecret();
      const previousExpiresAt = graceSeconds > 0 ? new Date(Date.now() + graceSeconds * 1000) : null;
      const row = await deps.change(async (tx, record) => {
        const rotated = await tx.keys.rotateSecret(clientId, hashSecret(deps.pepperRing, clientSecret), previousExpiresAt);
        if (!rotated) throw new KeygateError('not_found', 'no such key');
        // Without grace, every token so far was minted with the old secret: none may outlive it.
        const dropped = graceSeconds === 0 ? await endLiveTokens(tx, deps.tokens, [clientId]) : 0;
        await record('key.rotate', current, { grace_seconds: graceSeconds, tokens_dropped: dropped });
        return rotated;
      }, actor);
      return { ...deps.withSecret(toView(row, new Date()), clientSecret), previous_secret_expires_at: previousExpiresAt?.toISOString() ?? null };
    },

    async revokeTokens(clientId: string, actor: Actor): Promise<number> {
      const current = await deps.requireManageableKey(clientId, actor);
      return deps.change(async (tx, record) => {
        const dropped = await endLiveTokens(tx, deps.tokens, [clientId]);
        await record('key.revoke_tokens', current, { tokens_dropped: dropped });
        return dropped;
      }, actor);
    },
  };
}

function lostKeyCreation(before: KeyRow, after: KeyRow): boolean {
  return before.scopes.includes(KEY_WRITE_SCOPE) && !after.scopes.includes(KEY_WRITE_SCOPE);
}

/** Fewer scopes, narrower networks or an earlier expiry: anything a live token could now exceed. */
export function rightsNarrowed(before: KeyRow, after: KeyRow): boolean {
  const lostScope = before.scopes.some((scope) => !after.scopes.includes(scope));
  const parse = (items: string[]) => {
    const parsed = parseNetworkList(items);
    return parsed.ok ? parsed.networks : [];
  };
  const earlier = after.expires_at !== null && (before.expires_at === null || after.expires_at < before.expires_at);
  return lostScope || earlier || networksNarrowed(parse(before.networks), parse(after.networks)) || credentialsNarrowed(before, after);
}

/**
 * A credential that stops being accepted (another method, a public key or certificate removed)
 * or DPoP becoming required: tokens obtained with the old credential, or unbound, must not
 * outlive it. Adding a public key (the first half of a rotation) ends nothing.
 */
function credentialsNarrowed(before: KeyRow, after: KeyRow): boolean {
  if (!before.dpop_required && after.dpop_required) return true;
  if (before.auth_method !== after.auth_method) return true;
  const kept = new Set((after.public_jwks?.keys ?? []).map((key) => JSON.stringify(key)));
  const publicKeyRemoved = (before.public_jwks?.keys ?? []).some((key) => !kept.has(JSON.stringify(key)));
  return (
    publicKeyRemoved
    || before.tls_certificate !== after.tls_certificate
    || before.tls_subject_dn !== after.tls_subject_dn
    || before.tls_san_dns !== after.tls_san_dns
  );
}
