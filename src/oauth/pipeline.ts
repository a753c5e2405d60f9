// The token policy: one ordered list of named steps, written once, run by every way in — the
// token endpoint (through oidc-provider's hooks, internals.ts and token-grant.ts), the two API-key
// exchanges, the introspection caller's authentication and the admin API's bearer check (which
// runs the same key-state and network steps on a token's key). Each step returns data; the
// edges turn a reason into their own error, audit record and metric.
//
//   1  failure_limits   the source, and the (client id, source) pair, under their failure limits
//   2  checksum         the secret is well formed (no store touched)
//   3  lookup           the key exists
//   4  secret           the secret matches (the current one, or the previous one within its grace);
//                       a key without a secret instead proved itself with its own credential
//   5  status           the key is active                                  \
//   6  expiry           the key has not expired                             |
//   7  owner            every creator up its chain may still create keys   | keys/key-state.ts
//   8  user             a user key's user is active                         |
//   9  tenant           every tenant up its path is active                 /
//  10  network          the caller is inside the key's networks
//  11  binding          a token for a key that requires DPoP is DPoP-bound (a valid, unused proof)
//  12  scopes           the requested scopes are within the key's effective scopes
//  13  issuance_limit   the key is under its own issuance rate
//
// Step 4 for the credentials other than a secret: a signed client assertion (private_key_jwt)
// and a TLS client certificate (tls_client_auth, self_signed_tls_client_auth) are verified by
// oidc-provider's own implementations, configured in provider.ts from the key's credentials
// (adapter.ts); assertions and DPoP proofs are single use (stores/replay.ts). Only the token
// endpoint and revocation accept them; every other way in takes a secret, and a secret presented
// for a key that has none is `secret_mismatch`, exactly like a wrong one.
//
// The one exception to running the list straight through: oidc-provider authenticates the client
// before it hands the request to a grant, and revocation uses client authentication alone. So on
// /oauth/token and /oauth/revoke step 1 runs as the request enters (index.ts, forwardToProvider),
// steps 2–10 in the library's client hook (a secret) or, for a key that proved itself otherwise,
// steps 5–10 at the start of the grant and of the revocation policy; steps 11–13 run in the
// grant, in the same request, on the same key snapshot (memoised per request).
import type { KeyLookup, KeySnapshot } from '../keys/model.ts';
import type { DenialReason } from '../shared/denial-reasons.ts';
import { isWellFormedClientId } from '../crypto/credentials.ts';
import type { PepperRing } from '../crypto/secret-hash.ts';
import { checkKeyState } from '../keys/key-state.ts';
import { checkNetwork, type IpAddress } from '../shared/network.ts';
import { grantScopes } from './policy/scopes.ts';
import { checkSecret, checkSecretFormat, matchedGeneration } from './policy/secret.ts';
import type { AbuseLimits } from './abuse-limits.ts';

export type { DenialReason, KeyLookup };

/** Reasons that count towards the failed-authentication limits: wrong or unknown credentials. */
export const AUTHENTICATION_FAILURES: ReadonlySet<DenialReason> = new Set([
  'malformed_secret',
  'unknown_key',
  'secret_mismatch',
  'wrong_auth_method',
  'assertion_invalid',
  'assertion_replayed',
  'certificate_invalid',
]);

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
  if (!key) {
    // The same work as a known key with a wrong secret: how long a refusal takes must not say
    // whether the client id exists.
    checkSecret(deps.pepperRing, noKeyFor(deps.pepperRing), presented.secret, presented.now);
    return { ok: false, reason: 'unknown_key' };
  }
  // A key without a secret is checked against nothing, with the same work as a wrong secret.
  const hasSecret = key.credentials.authMethod === 'client_secret';
  const match = checkSecret(deps.pepperRing, hasSecret ? key : noKeyFor(deps.pepperRing), presented.secret, presented.now);
  if (match === 'secret_mismatch' || !hasSecret) return { ok: false, reason: 'secret_mismatch', key };
  const admitted = admitKey(key, presented);
  return admitted.ok ? { ok: true, key, secretGeneration: matchedGeneration(key, match) } : admitted;
}

/** Stands in for an absent key: a hash under the current pepper that no secret matches. */
const noKeys = new WeakMap<PepperRing, { secretHash: string; previousSecretHash: null; previousSecretExpiresAt: null }>();
function noKeyFor(ring: PepperRing) {
  let noKey = noKeys.get(ring);
  if (!noKey) noKeys.set(ring, (noKey = { secretHash: `${ring.current.version}$${'A'.repeat(43)}`, previousSecretHash: null, previousSecretExpiresAt: null }));
  return noKey;
}

/** Steps 5–10 on a key whose holder has proved itself. */
function admitKey(key: KeySnapshot, presented: { ip: IpAddress | undefined; now: Date }): { ok: true } | { ok: false; reason: DenialReason; key: KeySnapshot } {
  const state = checkKeyState(key, presented.now);
  if (state !== 'ok') return { ok: false, reason: state, key };
  if (checkNetwork(key.networks, presented.ip) !== 'ok') return { ok: false, reason: 'ip_not_allowed', key };
  return { ok: true };
}

/**
 * Steps 3 and 5–10 for a key that proved itself with its own credential (an assertion or a
 * certificate, checked by oidc-provider before this runs). Tokens carry the key's current secret
 * generation: such a key has no secret whose grace could end them.
 */
export async function admitCredentialHolder(
  deps: Pick<AuthenticateDeps, 'lookupKey'>,
  presented: { clientId: string; ip: IpAddress | undefined; now: Date },
): Promise<ClientAuthentication> {
  const key = await deps.lookupKey(presented.clientId);
  if (!key) return { ok: false, reason: 'unknown_key' };
  if (key.credentials.authMethod === 'client_secret') return { ok: false, reason: 'wrong_auth_method', key };
  const admitted = admitKey(key, presented);
  return admitted.ok ? { ok: true, key, secretGeneration: key.secretGeneration } : admitted;
}

/** Step 11 for a way in that cannot carry a DPoP proof: a key that requires one is refused there. */
export function checkUnboundIssuance(key: KeySnapshot): 'ok' | 'dpop_required' {
  return key.credentials.dpopRequired ? 'dpop_required' : 'ok';
}

export type ScopeGrant = { ok: true; scopes: string[] } | { ok: false; reason: 'scope_not_granted'; missing: string[] };

/** Step 12: no scope requested = every effective scope; a requested scope the key lacks is refused. */
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
 * Steps 1–13 straight through, for the routes that own their whole request. `introspect` asks
 * for the caller's right to introspect instead of a token: no issuance is counted, and lacking
 * the scope is `not_introspector`. `verify` checks a presented key as a resource server would on
 * each call (keys/v1 verify): no token is minted, so no binding applies, and each verification
 * counts against the key's issuance rate like a token would.
 */
export async function runTokenPolicy(
  deps: TokenPolicyDeps,
  presented: ClientCredentialsPresented & { source: IpAddress | undefined; requestedScopes: readonly string[]; purpose: 'token' | 'introspect' | 'verify' },
): Promise<TokenPolicyOutcome> {
  const limit = deps.limits.checkAuthentication(presented.clientId, presented.source);
  if (!limit.ok) return { ok: false, reason: 'rate_limited', retryAfterSeconds: limit.retryAfterSeconds };
  const authentication = await authenticateClient(deps, presented);
  if (!authentication.ok) return authentication;
  const { key } = authentication;
  if (presented.purpose === 'token' && checkUnboundIssuance(key) !== 'ok') return { ok: false, reason: 'dpop_required', key };
  const scopes = grantRequestedScopes(key, presented.requestedScopes);
  if (!scopes.ok) {
    return presented.purpose === 'introspect'
      ? { ok: false, reason: 'not_introspector', key }
      : { ok: false, reason: scopes.reason, key, missing: scopes.missing };
  }
  if (presented.purpose !== 'introspect') {
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
