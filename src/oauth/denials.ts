// Policy reasons → RFC 6749 errors in one place (STYLE habit 2). Bodies never reveal the reason:
// every authentication or key-state failure is the same `invalid_client`.
import { errors } from 'oidc-provider';
import type { DenialReason } from './pipeline.ts';

const reasons = new WeakMap<Error, DenialReason>();

/** `missingScopes` names the requested scopes the key lacks (the caller asked for them, so no leak). */
export function oauthErrorFor(reason: DenialReason, missingScopes: readonly string[] = []): Error {
  const error = reason === 'scope_not_granted'
    ? new errors.InvalidScope('requested scope is not granted to this key', missingScopes.join(' '))
    : new errors.InvalidClientAuth(reason);
  reasons.set(error, reason);
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
