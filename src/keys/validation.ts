// Rules for key fields, shared by the CLI and the admin API. Pure: returns field errors.
import type { FieldError } from '../shared/errors.ts';
import { parseNetworkList } from '../shared/network.ts';
import { isValidScopeToken } from '../shared/scope-token.ts';

export const KEY_LIMITS = Object.freeze({
  nameMaxLength: 255,
  descriptionMaxLength: 1024,
  maxNetworks: 10,
  maxScopes: 100,
  minTokenTtlSeconds: 60,
  maxTokenTtlSeconds: 86_400,
  defaultLifetimeDays: 90,
  maxKeysPerUser: 20,
});

export function validateName(name: unknown, errors: FieldError[]): void {
  if (typeof name !== 'string' || name.trim().length === 0 || name.length > KEY_LIMITS.nameMaxLength) {
    errors.push({ field: 'name', message: `must be 1–${KEY_LIMITS.nameMaxLength} characters` });
  }
}

export function validateDescription(description: unknown, errors: FieldError[]): void {
  if (description === undefined || description === null) return;
  if (typeof description !== 'string' || description.length > KEY_LIMITS.descriptionMaxLength) {
    errors.push({ field: 'description', message: `must be at most ${KEY_LIMITS.descriptionMaxLength} characters` });
  }
}

export function validateScopes(scopes: unknown, errors: FieldError[]): string[] {
  if (!Array.isArray(scopes) || scopes.length === 0 || scopes.length > KEY_LIMITS.maxScopes) {
    errors.push({ field: 'scopes', message: `must list 1–${KEY_LIMITS.maxScopes} scopes` });
    return [];
  }
  const invalid = scopes.find((s) => typeof s !== 'string' || !isValidScopeToken(s));
  if (invalid !== undefined) {
    errors.push({ field: 'scopes', message: `'${String(invalid).slice(0, 64)}' is not a valid scope (RFC 6749 §3.3 characters, 1–128 long)` });
    return [];
  }
  return [...new Set(scopes as string[])];
}

/** Returns canonical CIDR texts (single addresses become /32 or /128). */
export function validateNetworks(networks: unknown, errors: FieldError[]): string[] {
  if (networks === undefined) return [];
  if (!Array.isArray(networks) || networks.some((n) => typeof n !== 'string')) {
    errors.push({ field: 'networks', message: 'must be a list of IP addresses or CIDRs' });
    return [];
  }
  if (networks.length > KEY_LIMITS.maxNetworks) {
    errors.push({ field: 'networks', message: `at most ${KEY_LIMITS.maxNetworks} networks` });
    return [];
  }
  const parsed = parseNetworkList(networks as string[]);
  if (!parsed.ok) {
    errors.push({ field: 'networks', message: `'${parsed.invalid.slice(0, 64)}' is not an IP address or CIDR` });
    return [];
  }
  return parsed.networks.map((n) => n.text);
}

export function validateTokenTtl(ttl: unknown, errors: FieldError[]): void {
  if (ttl === undefined) return;
  if (!Number.isInteger(ttl) || (ttl as number) < KEY_LIMITS.minTokenTtlSeconds || (ttl as number) > KEY_LIMITS.maxTokenTtlSeconds) {
    errors.push({
      field: 'token_ttl_seconds',
      message: `must be a whole number of seconds, ${KEY_LIMITS.minTokenTtlSeconds}–${KEY_LIMITS.maxTokenTtlSeconds}`,
    });
  }
}

export function validateRateLimit(limit: unknown, errors: FieldError[]): void {
  if (limit === undefined || limit === null) return;
  if (!Number.isInteger(limit) || (limit as number) < 1 || (limit as number) > 1_000_000) {
    errors.push({ field: 'rate_limit_per_minute', message: 'must be a whole number, 1–1000000' });
  }
}

export interface TenantExpiryPolicy {
  allow_never_expiring_keys: boolean;
  max_key_lifetime_days: number | null;
}

/**
 * `undefined` = the default (90 days, or the tenant's cap if shorter); `null` = never, when the
 * tenant allows it. Returns the expiry to store.
 */
export function resolveExpiry(requested: Date | null | undefined, tenant: TenantExpiryPolicy, now: Date, errors: FieldError[]): Date | null {
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
