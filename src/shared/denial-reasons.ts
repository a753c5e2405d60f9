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
] as const;

export type DenialReason = (typeof DENIAL_REASONS)[number];
