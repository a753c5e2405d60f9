// The token policy: one ordered list of named steps, written once, run by every way in — the
// token endpoint (through oidc-provider's hooks, internals.ts and token-grant.ts), the two API-key
// exchanges, the introspection caller's authentication and the admin API's bearer check (which
// runs the same key-state and network steps on a token's key). Each step returns data; the
// edges turn a reason into their own error, audit record and metric.
//
//   1  failure_limits   the source, and the (client id, source) pair, under their failure limits
//   2  checksum         the secret is well formed (no store touched)
//   3  lookup           the key exists
//   4  secret           the secret matches (the current one, or the previous one within its grace)
//   5  status           the key is active                                  \
//   6  expiry           the key has not expired                             |
//   7  owner            every creator up its chain may still create keys   | policy/key-state.ts
//   8  user             a user key's user is active                         |
//   9  tenant           every tenant up its path is active                 /
//  10  network          the caller is inside the key's networks
//  11  scopes           the requested scopes are within the key's effective scopes
//  12  issuance_limit   the key is under its own issuance rate
//
// The one exception to running the list straight through: oidc-provider authenticates the client
// before it hands the request to a grant, and revocation uses client authentication alone. So on
// /oauth/token and /oauth/revoke step 1 runs as the request enters (index.ts, forwardToProvider),
// steps 2–10 in the library's client hook and steps 11–12 in the grant, in the same request, on
// the same key snapshot (memoised per request).
import type { KeyLookup, KeySnapshot } from '../keys/model.ts';
import type { DenialReason } from '../shared/denial-reasons.ts';
import { isWellFormedClientId } from '../crypto/credentials.ts';
import type { PepperRing } from '../crypto/secret-hash.ts';
import { checkKeyState } from './policy/key-state.ts';
import { checkNetwork, type IpAddress } from '../shared/network.ts';
import { grantScopes } from './policy/scopes.ts';
import { checkSecret, checkSecretFormat, matchedGeneration } from './policy/secret.ts';
import type { AbuseLimits } from './abuse-limits.ts';

export type { DenialReason, KeyLookup };

/** Reasons that count towards the failed-authentication limits: wrong or unknown credentials. */
export const AUTHENTICATION_FAILURES: ReadonlySet<DenialReason> = new Set(['malformed_secret', 'unknown_key', 'secret_mismatch']);

export interface AuthenticateDeps {
  lookupKey: KeyLookup;
  pepperRing: PepperRing;
}

export interface ClientCredentialsPresented {
  clientId: string;
  secret: string;
  /** The caller for network rules; undefined when unknown (network rules then fail closed). */
  ip: IpAddress | undefined;
  now: Date;
}

export type ClientAuthentication =
  | { ok: true; key: KeySnapshot /** Generation of the secret that matched. */; secretGeneration: number }
  | { ok: false; reason: DenialReason; key?: KeySnapshot };

/** Steps 2–10: who is calling, and may its key act at all, from there, now. */
export async function authenticateClient(deps: AuthenticateDeps, presented: ClientCredentialsPresented): Promise<ClientAuthentication> {
  if (checkSecretFormat(presented.secret) !== 'ok') return { ok: false, reason: 'malformed_secret' };
  const key = isWellFormedClientId(presented.clientId) ? await deps.lookupKey(presented.clientId) : undefined;
  if (!key) return { ok: false, reason: 'unknown_key' };
  const match = checkSecret(deps.pepperRing, key, presented.secret, presented.now);
  if (match === 'secret_mismatch') return { ok: false, reason: 'secret_mismatch', key };
  const state = checkKeyState(key, presented.now);
  if (state !== 'ok') return { ok: false, reason: state, key };
  if (checkNetwork(key.networks, presented.ip) !== 'ok') return { ok: false, reason: 'ip_not_allowed', key };
  return { ok: true, key, secretGeneration: matchedGeneration(key, match) };
}

export type ScopeGrant = { ok: true; scopes: string[] } | { ok: false; reason: 'scope_not_granted'; missing: string[] };

/** Step 11: no scope requested = every effective scope; a requested scope the key lacks is refused. */
export function grantRequestedScopes(key: KeySnapshot, requestedScopes: readonly string[]): ScopeGrant {
  return grantScopes(effectiveScopes(key), requestedScopes);
}

export interface TokenPolicyDeps extends AuthenticateDeps {
  limits: AbuseLimits;
}

export type TokenPolicyOutcome =
  | { ok: true; key: KeySnapshot; scopes: string[]; secretGeneration: number }
  | { ok: false; reason: DenialReason; key?: KeySnapshot; missing?: string[]; retryAfterSeconds?: number };

/**
 * Steps 1–12 straight through, for the routes that own their whole request. `introspect` asks
 * for the caller's right to introspect instead of a token: no issuance is counted, and lacking
 * the scope is `not_introspector`.
 */
export async function runTokenPolicy(
  deps: TokenPolicyDeps,
  presented: ClientCredentialsPresented & { source: IpAddress | undefined; requestedScopes: readonly string[]; purpose: 'token' | 'introspect' },
): Promise<TokenPolicyOutcome> {
  const limit = deps.limits.checkAuthentication(presented.clientId, presented.source);
  if (!limit.ok) return { ok: false, reason: 'rate_limited', retryAfterSeconds: limit.retryAfterSeconds };
  const authentication = await authenticateClient(deps, presented);
  if (!authentication.ok) return authentication;
  const { key } = authentication;
  const scopes = grantRequestedScopes(key, presented.requestedScopes);
  if (!scopes.ok) {
    return presented.purpose === 'introspect'
      ? { ok: false, reason: 'not_introspector', key }
      : { ok: false, reason: scopes.reason, key, missing: scopes.missing };
  }
  if (presented.purpose === 'token') {
    const issuance = await deps.limits.takeIssuance(key);
    if (!issuance.ok) return { ok: false, reason: 'rate_limited', key, retryAfterSeconds: issuance.retryAfterSeconds };
  }
  return { ok: true, key, scopes: scopes.scopes, secretGeneration: authentication.secretGeneration };
}

/** The scopes a key may hold right now (for a user key: ∩ its user's role). */
export function effectiveScopes(key: KeySnapshot): readonly string[] {
  return key.effectiveScopes;
}

/** A tenant acts on its own keys and on those of every tenant below it, at any depth. */
export function tenantMayActOn(actorTenantId: string, target: Pick<KeySnapshot, 'tenantId' | 'tenantPath'>): boolean {
  return actorTenantId === target.tenantId || target.tenantPath.includes(actorTenantId);
}

/**
 * Whether a resource-server key may see (introspect) or revoke tokens of `owner`: owners in its
 * tenant's subtree; a user key only its own user's keys, like everything else a user key does.
 */
export function mayActOnTokensOf(caller: KeySnapshot, owner: KeySnapshot): boolean {
  if (!tenantMayActOn(caller.tenantId, owner)) return false;
  return caller.kind !== 'user' || owner.userId === caller.userId;
}
