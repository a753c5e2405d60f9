// Why a token, introspection or exchange request was refused: one closed list, named after the
// policy step that refused it. The OAuth edge turns a reason into its RFC 6749 error, the audit
// log records it, and metrics count it; the caller only ever learns "authentication failed".
export const DENIAL_REASONS = [
  'malformed_secret',
  'unknown_key',
  'secret_mismatch',
  'key_disabled',
  'key_expired',
  'owner_not_authorized',
  'user_disabled',
  'tenant_disabled',
  'ip_not_allowed',
  'scope_not_granted',
  'not_introspector',
  'rate_limited',
  // A key that authenticates without a secret: its signed assertion or its certificate failed
  // (bad signature or claims, a replayed assertion, a missing or unmatched certificate), or the
  // caller used another method than the key's.
  'wrong_auth_method',
  'assertion_invalid',
  'assertion_replayed',
  'certificate_invalid',
  // Sender-constrained tokens: a key that requires DPoP got no proof; a proof was invalid or replayed.
  'dpop_required',
  'dpop_invalid',
  'dpop_replayed',
] as const;

export type DenialReason = (typeof DENIAL_REASONS)[number];
