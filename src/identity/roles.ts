// Roles map to scopes. A role is a list of scope patterns: `*` (any scope), `*:read`
// (any scope ending in :read), an exact scope, or `!pattern` to exclude. Granting `X:write`
// also grants `X:read`. The mapping is configurable (KEYGATE_ROLE_SCOPES).

import type { UsersTable } from '../stores/db.ts';

export const ROLES = ['admin', 'manager', 'member', 'viewer'] as const satisfies readonly UsersTable['role'][];
export type Role = (typeof ROLES)[number];
export type RoleScopes = Readonly<Record<Role, readonly string[]>>;

export const DEFAULT_ROLE_SCOPES: RoleScopes = Object.freeze({
  admin: ['*'],
  manager: ['*', '!admin:users:write', '!admin:tenants:write'],
  member: ['*', '!admin:*'],
  viewer: ['*:read'],
});

/** Scopes a user key may never hold, whatever its user's role: it never manages users, tenants or settings. */
export const NEVER_FOR_USER_KEYS: readonly string[] = ['admin:users:write', 'admin:tenants:write'];

const RANK: Record<Role, number> = { viewer: 0, member: 1, manager: 2, admin: 3 };

/** Creating keys takes at least the manager role. */
export function mayCreateKeys(role: Role): boolean {
  return RANK[role] >= RANK.manager;
}

function matches(pattern: string, scope: string): boolean {
  if (pattern === '*') return true;
  if (pattern.endsWith('*')) return scope.startsWith(pattern.slice(0, -1));
  if (pattern.startsWith('*')) return scope.endsWith(pattern.slice(1));
  return pattern === scope;
}

function grants(patterns: readonly string[], scope: string): boolean {
  const included = patterns.some((p) => !p.startsWith('!') && matches(p, scope));
  const excluded = patterns.some((p) => p.startsWith('!') && matches(p.slice(1), scope));
  return included && !excluded;
}

export function roleAllows(roles: RoleScopes, role: Role, scope: string): boolean {
  const patterns = roles[role];
  if (grants(patterns, scope)) return true;
  return scope.endsWith(':read') && grants(patterns, `${scope.slice(0, -':read'.length)}:write`);
}

/** A user key's scopes at token time are key.scopes ∩ scopes(user's current role). */
export function userKeyScopes(roles: RoleScopes, role: Role, keyScopes: readonly string[]): string[] {
  return keyScopes.filter((scope) => !NEVER_FOR_USER_KEYS.includes(scope) && roleAllows(roles, role, scope));
}
