// Key-expiry policy down the tenant tree: a tenant's policy binds its whole subtree, and a child
// may only be stricter. The policy that applies to a key is the strictest along its tenant's path.
import type { FieldError } from '../shared/errors.ts';
import type { TenantStore } from '../stores/tenants.ts';

export interface KeyExpiryPolicy {
  allow_never_expiring_keys: boolean;
  /** null = no cap. */
  max_key_lifetime_days: number | null;
  /** Admins and managers must sign in with two-factor (identity/two-factor.ts). */
  require_two_factor: boolean;
}

/** Tenants below the root, at most: bounds every walk of the tree and keeps it readable. */
export const MAX_TENANT_DEPTH = 8;

export const UNRESTRICTED: KeyExpiryPolicy = Object.freeze({ allow_never_expiring_keys: true, max_key_lifetime_days: null, require_two_factor: false });

/** The strictest combination of the policies along a path (root first). */
export function effectivePolicy(path: readonly KeyExpiryPolicy[]): KeyExpiryPolicy {
  return path.reduce<KeyExpiryPolicy>(
    (bound, tenant) => ({
      allow_never_expiring_keys: bound.allow_never_expiring_keys && tenant.allow_never_expiring_keys,
      max_key_lifetime_days: tighter(bound.max_key_lifetime_days, tenant.max_key_lifetime_days),
      require_two_factor: bound.require_two_factor || tenant.require_two_factor,
    }),
    UNRESTRICTED,
  );
}

function tighter(a: number | null, b: number | null): number | null {
  if (a === null) return b;
  if (b === null) return a;
  return Math.min(a, b);
}

/** Field errors for settings that would make a tenant looser than what binds it from above. */
export function loosenings(bound: KeyExpiryPolicy, requested: Partial<KeyExpiryPolicy>): FieldError[] {
  const errors: FieldError[] = [];
  if (requested.allow_never_expiring_keys === true && !bound.allow_never_expiring_keys) {
    errors.push({ field: 'allow_never_expiring_keys', message: 'a parent tenant forbids keys that never expire' });
  }
  const cap = bound.max_key_lifetime_days;
  if (cap !== null && 'max_key_lifetime_days' in requested && (requested.max_key_lifetime_days === null || requested.max_key_lifetime_days! > cap)) {
    errors.push({ field: 'max_key_lifetime_days', message: `a parent tenant caps key lifetime at ${cap} days` });
  }
  if (requested.require_two_factor === false && bound.require_two_factor) {
    errors.push({ field: 'require_two_factor', message: 'a parent tenant requires two-factor of its admins and managers' });
  }
  return errors;
}

/** The roles a tenant's two-factor requirement applies to. */
function mayBeHeldToTwoFactor(role: string): boolean {
  return role === 'admin' || role === 'manager';
}

/**
 * Whether a person of `role` working in the tenant at the end of `path` must have two-factor: the
 * path requires it, or a tenant below does. The requirement binds whoever can act on a tenant that
 * requires it: its own people, and the admins and managers of every tenant above it.
 */
export async function twoFactorRequiredOf(
  tenants: Pick<TenantStore, 'subtreeRequiresTwoFactor'>,
  path: readonly (KeyExpiryPolicy & { id: string })[],
  role: string,
): Promise<boolean> {
  if (!mayBeHeldToTwoFactor(role)) return false;
  return effectivePolicy(path).require_two_factor || tenants.subtreeRequiresTwoFactor(path.at(-1)!.id);
}
