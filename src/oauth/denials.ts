// Policy reasons → RFC 6749 errors in one place. Bodies never reveal the reason:
// every authentication or key-state failure is the same `invalid_client`.
import { errors } from 'oidc-provider';
import type { DenialReason } from './pipeline.ts';
import { isConnectionFailure } from '../shared/store-failures.ts';

const reasons = new WeakMap<Error, DenialReason>();

/** `missingScopes` names the requested scopes the key lacks (the caller asked for them, so no leak). */
export function oauthErrorFor(reason: DenialReason, missingScopes: readonly string[] = []): Error {
  const error =
    reason === 'scope_not_granted'
      ? new errors.InvalidScope('requested scope is not granted to this key', missingScopes.join(' '))
      : new errors.InvalidClientAuth(reason);
  reasons.set(error, reason);
  return error;
}

export const UNAVAILABLE_DESCRIPTION = 'a backing store is unavailable; retry shortly';

/** RFC 6749 `temporarily_unavailable`, as a 503: never a false answer while a store is down. */
export function unavailableError(cause?: unknown): Error {
  const error = new errors.TemporarilyUnavailable(UNAVAILABLE_DESCRIPTION, { cause });
  error.status = 503;
  error.statusCode = 503;
  return error;
}

/** Runs store-touching work for oidc-provider, turning an unreachable store into a 503. */
export async function guardStores<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    throw isConnectionFailure(error) ? unavailableError(error) : error;
  }
}

/** 429 for the OAuth routes; the Retry-After header is set from the request scope (internals.ts). */
export function rateLimitedError(): Error {
  const error = new errors.OIDCProviderError(429, 'rate_limited');
  error.error_description = 'too many requests; retry after the time in Retry-After';
  // Not registered as a denial: a flood of 429s must not become a flood of audit records
  // (abuse-limits.ts audits each limit once per window instead).
  return error;
}

/** Names the policy reason behind one of the library's own errors (DPoP steps, internals.ts); returns it. */
export function withDenialReason(error: unknown, reason: DenialReason): unknown {
  // A store that could not answer (503) is no denial.
  const unavailable = isConnectionFailure(error) || ((error as { status?: number }).status ?? 0) >= 500;
  if (error instanceof Error && !unavailable && !reasons.has(error)) reasons.set(error, reason);
  return error;
}

/**
 * The denial behind an error raised on the token endpoint, or undefined for a malformed request.
 * `authMethod` is the resolved client's method, absent when no client was found.
 */
export function denialReasonOf(error: unknown, authMethod?: string): DenialReason | undefined {
  if (!(error instanceof Error)) return undefined;
  const known = reasons.get(error);
  if (known) return known;
  if (!(error instanceof errors.InvalidClientAuth)) return undefined;
  // oidc-provider's own invalid_client: the client was not found, or the library's own check of
  // its assertion or certificate failed (a secret is checked by Keygate, with its own reasons).
  const description = (error as { error_detail?: string }).error_detail ?? '';
  if (authMethod === undefined) return 'unknown_key';
  if (description.includes('mechanism does not match')) return 'wrong_auth_method';
  if (description.includes('must only be used once')) return 'assertion_replayed';
  if (authMethod === 'private_key_jwt') return 'assertion_invalid';
  if (authMethod === 'tls_client_auth' || authMethod === 'self_signed_tls_client_auth') return 'certificate_invalid';
  return 'secret_mismatch';
}
