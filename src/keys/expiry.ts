// A key's expiry under its tenant's policy: the default lifetime, the cap, and "never".
import type { FieldError } from '../shared/errors.ts';
import type { KeyExpiryPolicy } from '../identity/tenant-policy.ts';
import { KEY_LIMITS } from './schemas.ts';

/**
 * `undefined` = the default (90 days, or the tenant's cap if shorter); `null` = never, when the
 * tenant allows it. Returns the expiry to store.
 */
export function resolveExpiry(requested: Date | null | undefined, tenant: KeyExpiryPolicy, now: Date, errors: FieldError[]): Date | null {
  const dayMs = 86_400_000;
  const capMs = tenant.max_key_lifetime_days === null ? undefined : tenant.max_key_lifetime_days * dayMs;
  if (requested === undefined) {
    return new Date(now.getTime() + Math.min(KEY_LIMITS.defaultLifetimeDays * dayMs, capMs ?? Infinity));
  }
  if (requested === null) {
    if (!tenant.allow_never_expiring_keys || capMs !== undefined) {
      errors.push({ field: 'expires_at', message: 'this tenant does not allow keys that never expire' });
    }
    return null;
  }
  if (Number.isNaN(requested.getTime()) || requested.getTime() <= now.getTime()) {
    errors.push({ field: 'expires_at', message: 'must be a timestamp in the future' });
  } else if (capMs !== undefined && requested.getTime() - now.getTime() > capMs) {
    errors.push({ field: 'expires_at', message: `must be within ${tenant.max_key_lifetime_days} days` });
  }
  return requested;
}

/** `expires_at` as given (an ISO-8601 text, null = never, absent = the default) as a Date. */
export function requestedExpiry(expiresAt: string | null | undefined): Date | null | undefined {
  return expiresAt === undefined || expiresAt === null ? expiresAt : new Date(expiresAt);
}
