// Who may manage whom, stated once for every admin action: no principal creates, changes, stops
// or takes over one stronger than itself. "Stronger" is measured in Keygate's own scopes (the
// admin:* scopes and token:introspect: the power to manage and to see) and in networks (a key
// usable from anywhere is stronger than one bound to a network). Application scopes are not
// compared: holding admin:keys:write already lets a caller mint a key with any of them, so
// managing such a key gives it nothing it did not have.
import { roleAllows, type Role, type RoleScopes } from '../identity/roles.ts';
import type { FieldError } from '../shared/errors.ts';
import { isNetworkWithin, parseNetworkList, type Network } from '../shared/network.ts';
import { isKeygateScope, KEYGATE_SCOPES } from './model.ts';

export const USERS_WRITE_SCOPE = 'admin:users:write';

/** What an acting principal holds right now. The operator's CLI has none: it is not limited. */
export interface Authority {
  /** Scopes of the caller's token, as far as its key still holds them now. */
  scopes: ReadonlySet<string>;
  /** The caller's own networks; empty = any network. */
  networks: readonly Network[];
  /** Keys that created the caller's key, nearest first: a key never manages its own creators. */
  creatorChain: readonly string[];
}

export interface ManagedKey {
  client_id: string;
  scopes: readonly string[];
  networks: readonly string[];
}

/** Holding `X:write` includes `X:read`, here as on the admin routes. */
export function holdsScope(scopes: ReadonlySet<string>, scope: string): boolean {
  if (scopes.has(scope)) return true;
  return scope.endsWith(':read') && scopes.has(`${scope.slice(0, -':read'.length)}:write`);
}

function parsed(networks: readonly string[]): Network[] {
  const result = parseNetworkList(networks);
  return result.ok ? result.networks : [];
}

/** Every address `inner` allows is allowed by `outer` (empty = any network). */
function networksWithin(inner: readonly Network[], outer: readonly Network[]): boolean {
  if (outer.length === 0) return true;
  if (inner.length === 0) return false;
  return inner.every((network) => outer.some((bound) => isNetworkWithin(network, bound)));
}

/**
 * Field errors for a key that would hold `scopes` and `networks` on this caller's say-so: each
 * Keygate scope must be a real one the caller holds, and the networks must lie within its own.
 */
export function refusalsToGrant(authority: Authority | undefined, scopes: readonly string[], networks: readonly string[]): FieldError[] {
  const errors: FieldError[] = [];
  for (const scope of scopes.filter(isKeygateScope)) {
    if (!KEYGATE_SCOPES.includes(scope)) errors.push({ field: 'scopes', message: `'${scope}' is not a known Keygate scope` });
    else if (authority && !holdsScope(authority.scopes, scope))
      errors.push({ field: 'scopes', message: `'${scope}' can only be granted by a caller that holds it` });
  }
  if (authority && !networksWithin(parsed(networks), authority.networks)) {
    errors.push({ field: 'networks', message: `must lie within the caller's own networks (${authority.networks.map((n) => n.text).join(', ')})` });
  }
  return errors;
}

/** Why this caller may not act on `target` (update, rotate, disable, enable, revoke, delete), or undefined. */
export function refusalToManageKey(authority: Authority | undefined, target: ManagedKey): string | undefined {
  if (!authority) return undefined;
  if (authority.creatorChain.includes(target.client_id)) return 'a key cannot manage a key that created it';
  const stronger = target.scopes.filter((scope) => isKeygateScope(scope) && !holdsScope(authority.scopes, scope));
  if (stronger.length > 0) return `the key holds scopes this caller lacks: ${stronger.join(' ')}`;
  if (!networksWithin(parsed(target.networks), authority.networks)) return "the key is usable from networks outside this caller's own";
  return undefined;
}

/**
 * Why this caller may not take a key over (learn its new secret by rotating it), or undefined.
 * Beyond managing it: holding the key's secret must not let the caller, through the key, manage a
 * key that created the caller, or it could launder its way around the creator rule.
 */
export function refusalToTakeOver(target: ManagedKey, targetChain: readonly string[], callerAncestors: readonly ManagedKey[]): string | undefined {
  const asTarget: Authority = { scopes: new Set(target.scopes), networks: parsed(target.networks), creatorChain: targetChain };
  const reachable = callerAncestors.find((ancestor) => refusalToManageKey(asTarget, ancestor) === undefined);
  return reachable ? `its secret could manage ${reachable.client_id}, a key that created this caller` : undefined;
}

/** Why this caller may not change a user whose keys reach these networks, or undefined. */
export function refusalToReachNetworks(authority: Authority | undefined, networks: readonly string[]): string | undefined {
  if (!authority || networksWithin(parsed(networks), authority.networks)) return undefined;
  return "the user has a key usable from networks outside this caller's own";
}

/** The Keygate scopes a role carries: what a person with it may do. */
export function keygateScopesOfRole(roleScopes: RoleScopes, role: Role): string[] {
  return KEYGATE_SCOPES.filter((scope) => roleAllows(roleScopes, role, scope));
}

/** Why this caller may not create, change, disable or delete a user of `role`, or undefined. */
export function refusalToManageRole(authority: Authority | undefined, roleScopes: RoleScopes, role: Role): string | undefined {
  if (!authority) return undefined;
  const stronger = keygateScopesOfRole(roleScopes, role).filter((scope) => !holdsScope(authority.scopes, scope));
  return stronger.length > 0 ? `the '${role}' role holds scopes this caller lacks: ${stronger.join(' ')}` : undefined;
}

/**
 * Why this caller may not make, or take over, a key that acts as `person` (a user key), or
 * undefined. Such a key's token is the person: what it does is audited as them. So a person's keys
 * are made by that person, or by a caller that may manage them (people's rights and the person's
 * role): never by a manager for an admin.
 */
export function refusalToActAs(
  authority: Authority | undefined,
  actingUserId: string | null,
  roleScopes: RoleScopes,
  person: { id: string; role: Role },
): string | undefined {
  if (!authority || person.id === actingUserId) return undefined;
  if (!holdsScope(authority.scopes, USERS_WRITE_SCOPE)) {
    return `a key that acts for a person is made only by that person or by a caller holding '${USERS_WRITE_SCOPE}'`;
  }
  return refusalToManageRole(authority, roleScopes, person.role);
}
