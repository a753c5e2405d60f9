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

/** The denial behind an error raised on the token endpoint, or undefined for a malformed request. */
export function denialReasonOf(error: unknown): DenialReason | undefined {
  if (!(error instanceof Error)) return undefined;
  const known = reasons.get(error);
  if (known) return known;
  // oidc-provider's own invalid_client on this server can only mean the client was not found.
  return error instanceof errors.InvalidClientAuth ? 'unknown_key' : undefined;
}
