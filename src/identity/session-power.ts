// What a person signed in to the console may do through the admin API. Their power is their
// role's share of Keygate's own scopes, read again on every request, over their tenant and every
// tenant below it, from any network, and with no creator chain (a person is nobody's key). A
// member holds no admin scope, yet manages their own keys: they see, create and change their own
// user keys and read the events about them, and nothing else, whatever KEYGATE_ROLE_SCOPES gives
// the member role. What any of them may grant is still only what the role itself holds.
import { keygateScopesOfRole } from '../keys/authority.ts';
import type { Role, RoleScopes } from './roles.ts';

/** The admin routes a member reaches, for their own user keys only. */
export const OWN_KEYS_SCOPES: readonly string[] = ['admin:keys:read', 'admin:keys:write', 'admin:audit:read'];

export interface SessionPower {
  /** Scopes the admin routes check. */
  routeScopes: ReadonlySet<string>;
  /** Scopes the person holds for granting and managing (keys/authority.ts). */
  heldScopes: ReadonlySet<string>;
  /** Only their own user keys (and events about them), in their own tenant. */
  ownKeysOnly: boolean;
}

export function sessionPowerOf(roleScopes: RoleScopes, role: Role): SessionPower {
  const held = new Set(keygateScopesOfRole(roleScopes, role));
  if (role !== 'member') return { routeScopes: held, heldScopes: held, ownKeysOnly: false };
  return { routeScopes: new Set([...held, ...OWN_KEYS_SCOPES]), heldScopes: held, ownKeysOnly: true };
}
