// The token policy pipeline of SPEC §3 as one ordered list of named steps, shared by the
// OAuth token endpoint (through oidc-provider's hooks, see client-hooks.ts and token-grant.ts)
// and the two API-key exchanges. Each step returns data; the edges turn reasons into errors.
import type { KeySnapshot } from '../keys/model.ts';
import type { DenialReason } from '../shared/denial-reasons.ts';
import { isWellFormedClientId } from '../crypto/credentials.ts';
import type { PepperRing } from '../crypto/secret-hash.ts';
import { checkKeyState, type KeyStateOutcome } from './policy/key-state.ts';
import { checkNetwork, type IpAddress } from '../shared/network.ts';
import { grantScopes } from './policy/scopes.ts';
import { checkSecret, checkSecretFormat, matchedGeneration } from './policy/secret.ts';

export type { DenialReason };

/** Reasons that count towards the failed-authentication limits: wrong or unknown credentials. */
export const AUTHENTICATION_FAILURES: ReadonlySet<DenialReason> = new Set(['malformed_secret', 'unknown_key', 'secret_mismatch']);

export type KeyLookup = (clientId: string) => Promise<KeySnapshot | undefined>;

export interface AuthenticateDeps {
  lookupKey: KeyLookup;
  pepperRing: PepperRing;
}

export type Authentication =
  | { ok: true; key: KeySnapshot; /** Generation of the secret that matched. */ secretGeneration: number }
  | { ok: false; reason: DenialReason; key?: KeySnapshot };

/** Steps 1–3: secret well formed (no store touched) → key exists → secret matches. */
export async function authenticateKey(
  deps: AuthenticateDeps,
  clientId: string,
  secret: string,
  now: Date,
): Promise<Authentication> {
  if (checkSecretFormat(secret) !== 'ok') return { ok: false, reason: 'malformed_secret' };
  const key = isWellFormedClientId(clientId) ? await deps.lookupKey(clientId) : undefined;
  if (!key) return { ok: false, reason: 'unknown_key' };
  const match = checkSecret(deps.pepperRing, key, secret, now);
  if (match === 'secret_mismatch') return { ok: false, reason: 'secret_mismatch', key };
  return { ok: true, key, secretGeneration: matchedGeneration(key, match) };
}

export interface AuthorizationRequest {
  ip: IpAddress | undefined;
  /** Empty = every effective scope of the key. */
  requestedScopes: readonly string[];
  now: Date;
}

export type Authorization =
  | { ok: true; scopes: string[] }
  | { ok: false; reason: DenialReason; /** Requested scopes the key lacks, for `scope_not_granted`. */ missing?: string[] };

/** The scopes a key may hold right now (for a user key: ∩ its user's role, SPEC §1). */
export function effectiveScopes(key: KeySnapshot): readonly string[] {
  return key.effectiveScopes;
}

/** Steps 4–6: key state (active, unexpired, creator, tenant) → caller network → scopes. */
export function authorizeKey(key: KeySnapshot, request: AuthorizationRequest): Authorization {
  const state = checkKeyState(key, request.now);
  if (state !== 'ok') return { ok: false, reason: state };
  if (checkNetwork(key.networks, request.ip) !== 'ok') return { ok: false, reason: 'ip_not_allowed' };
  const scopes = grantScopes(effectiveScopes(key), request.requestedScopes);
  if (!scopes.ok) return { ok: false, reason: scopes.reason, missing: scopes.missing };
  return { ok: true, scopes: scopes.scopes };
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
