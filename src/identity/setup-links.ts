// One-time set-up links: a person opens one to choose their password. The token is 256 random
// bits, kept only as a hash, works once and for 24 hours; a new link for the same person replaces
// the old one. The link carries the token in its fragment (`#token=`), which browsers never send
// to a server, so it reaches no server log and no Referer. A link remembers who issued it and
// works only while they still could issue it: a person still active with a role that may manage
// the user's, or a key that still works (active, unexpired, its creators, user and tenants still
// standing), still holds the right to manage people of that role, and is bound to no network.
import { randomBytes } from 'node:crypto';
import { hashToken } from '../crypto/token-hash.ts';
import { KeygateError, failOnFieldErrors } from '../shared/errors.ts';
import { auditedChange, type Actor, type Transact } from '../keys/audited-change.ts';
import { holdsScope, refusalToManageRole, USERS_WRITE_SCOPE } from '../keys/authority.ts';
import { checkKeyState } from '../keys/key-state.ts';
import type { KeyLookup } from '../keys/model.ts';
import type { SetupLinkStore, StoredSetupLink } from '../stores/setup-links.ts';
import type { TenantStore } from '../stores/tenants.ts';
import type { User, UserStore } from '../stores/users.ts';
import { hashPassword, passwordRefusals } from './passwords.ts';
import type { RoleScopes } from './roles.ts';
import { sessionPowerOf } from './session-power.ts';

export const SETUP_LINK_TTL_SECONDS = 24 * 3600;
/** Where the console's set-up page lives, below the issuer. */
export const SETUP_PATH = '/console/setup';

export interface SetupLink {
  url: string;
  expires_at: string;
}

interface SetupLinkDeps {
  issuer: string;
  transact: Transact;
  users: UserStore;
  tenants: TenantStore;
  setupLinks: SetupLinkStore;
  /** A key as the token policy sees it: its whole creator chain resolved (keys/owner-chain.ts). */
  findKey: KeyLookup;
  roleScopes: RoleScopes;
  onKeysChanged?: (clientId: string) => void;
}

const INVALID_LINK = 'this set-up link is not valid: it was used already, has expired or was replaced by a newer one';

export function createSetupLinks(deps: SetupLinkDeps) {
  /** Whether whoever issued the link could still issue it for `user` now. */
  async function issuerStillMay(link: StoredSetupLink, user: User): Promise<boolean> {
    if (link.issuedByUserId !== null) {
      const issuer = await deps.users.findById(link.issuedByUserId);
      if (!issuer || issuer.status !== 'active') return false;
      const held = sessionPowerOf(deps.roleScopes, issuer.role).heldScopes;
      if (refusalToManageRole({ scopes: held, networks: [], creatorChain: [] }, deps.roleScopes, user.role)) return false;
    }
    if (link.issuedByKeyId !== null) {
      // The key as it is now, not as it was when it issued the link: narrowed, bound to a network
      // or stopped anywhere up its chain since, it could not issue this link any more.
      const key = await deps.findKey(link.issuedByKeyId);
      if (!key || checkKeyState(key, new Date()) !== 'ok' || key.networks.length > 0) return false;
      const held = new Set(key.effectiveScopes);
      if (!holdsScope(held, USERS_WRITE_SCOPE)) return false;
      if (refusalToManageRole({ scopes: held, networks: [], creatorChain: [] }, deps.roleScopes, user.role)) return false;
    }
    return true;
  }

  return {
    /** A new link for `user` (any earlier one stops working), audited as `user.invite`. */
    async issue(user: Pick<User, 'id' | 'tenant_id'>, actor: Actor): Promise<SetupLink> {
      const token = randomBytes(32).toString('base64url');
      const expiresAt = new Date(Date.now() + SETUP_LINK_TTL_SECONDS * 1000);
      await auditedChange(deps, actor, async (tx, record) => {
        await tx.setupLinks.replace({ tokenHash: hashToken(token), userId: user.id, expiresAt, issuedByUserId: actor.userId, issuedByKeyId: actor.keyId });
        await record({ action: 'user.invite', tenantId: user.tenant_id, details: { user_id: user.id, expires_at: expiresAt.toISOString() } });
      });
      return { url: `${deps.issuer}${SETUP_PATH}#token=${token}`, expires_at: expiresAt.toISOString() };
    },

    /**
     * Sets the password of the link's user and uses the link up, in one transaction. A refused
     * password leaves the link as it was; a used, expired or unknown link is refused the same way.
     */
    async redeem(token: string, password: string, context: Pick<Actor, 'ip' | 'requestId'>): Promise<User> {
      const link = await deps.setupLinks.peek(hashToken(token));
      const user = link && (await deps.users.findById(link.userId));
      if (!link || !user || link.expiresAt.getTime() <= Date.now()) throw invalidLink();
      failOnFieldErrors(passwordRefusals(password, user.email));
      const tenantActive = (await deps.tenants.pathTo(user.tenant_id)).every((t) => t.status === 'active');
      if (user.status !== 'active' || !tenantActive || !(await issuerStillMay(link, user))) throw invalidLink();
      const passwordHash = await hashPassword(password);
      const actor: Actor = { keyId: null, userId: user.id, via: 'console', ...context };
      return auditedChange(deps, actor, async (tx, record) => {
        // Taken inside the transaction: of two requests racing with one link, one wins.
        const taken = await tx.setupLinks.take(hashToken(token));
        if (!taken || taken.userId !== user.id) throw invalidLink();
        await tx.users.setPasswordHash(user.id, passwordHash);
        // A sign-in that passed the old password and waits for its code ends with it.
        await tx.twoFactor.deleteChallengesOf(user.id);
        await record({ action: 'user.set_password', tenantId: user.tenant_id, details: { user_id: user.id } });
        return user;
      });
    },
  };
}

function invalidLink(): KeygateError {
  return new KeygateError('validation_failed', 'request body is invalid', [{ field: 'token', message: INVALID_LINK }]);
}

export type SetupLinks = ReturnType<typeof createSetupLinks>;
