// Users: people in a tenant with a role, managed here through the admin API; they sign in to the
// console with a password set through a one-time link (setup-links.ts, sessions.ts).
// A role change applies to the user's keys at their next token or introspection; disabling or
// deleting a user stops their user keys and every key they created, down the whole chain. Tokens
// stopped that way are dropped, so enabling or promoting the user again never revives them. No
// caller manages a user whose role is stronger than the caller itself (keys/authority.ts).
import { isUuid } from './ids.ts';
import { KeygateError } from '../shared/errors.ts';
import { auditedChange, type Actor, type Transact, type TxStores } from '../keys/audited-change.ts';
import type { KeyStore } from '../stores/keys.ts';
import type { TokenStore } from '../stores/tokens.ts';
import type { User, UserStore } from '../stores/users.ts';
import { keygateScopesOfRole, refusalToManageKey, refusalToManageRole, refusalToReachNetworks } from '../keys/authority.ts';
import { endLiveTokens } from '../keys/end-tokens.ts';
import { fieldChanges } from '../keys/field-changes.ts';
import { mayCreateKeys, userKeyScopes, type Role, type RoleScopes } from './roles.ts';

export interface UserView {
  id: string;
  tenant_id: string;
  email: string;
  name: string | null;
  role: Role;
  status: 'active' | 'disabled';
  created_at: string;
  updated_at: string;
  last_sign_in_at: string | null;
  /** Whether they have set a password (an invited person who has not is still `false`). */
  has_password: boolean;
}

/** A user in a list: with how many user keys act for them. */
export interface ListedUserView extends UserView {
  key_count: number;
}

/** A key a change would touch, named for the person deciding. */
export interface KeyName {
  client_id: string;
  name: string;
}

/** What a change to a user would do to keys, computed before it is made (for the console's dialogs). */
export interface UserImpact {
  /** The user keys acting for the user. */
  user_keys: KeyName[];
  delete: { deleted_keys: KeyName[]; stopped_keys: KeyName[] };
  disable: { stopped_keys: KeyName[] };
  role_change?: {
    role: Role;
    /** User keys that lose scopes at their next token: their scopes are bounded by the role. */
    narrowed_keys: (KeyName & { scopes_lost: string[] })[];
    /** Keys the user created that stop, because the new role may not create keys. */
    stopped_keys: KeyName[];
  };
}

const toUserView = (u: User): UserView => ({
  id: u.id,
  tenant_id: u.tenant_id,
  email: u.email,
  name: u.name,
  role: u.role,
  status: u.status,
  created_at: u.created_at.toISOString(),
  updated_at: new Date(u.updated_at).toISOString(),
  last_sign_in_at: u.last_sign_in_at ? new Date(u.last_sign_in_at).toISOString() : null,
  has_password: u.password_hash !== null,
});

interface UserServiceDeps {
  roleScopes: RoleScopes;
  users: UserStore;
  keys: KeyStore;
  tokens: TokenStore;
  transact: Transact;
  onKeysChanged?: (clientId: string) => void;
}

export function createUserService(deps: UserServiceDeps) {
  /** A change to a user and its audit record, in one transaction. */
  function change<T>(
    actor: Actor,
    action: string,
    work: (tx: TxStores) => Promise<{
      result: T;
      user: Pick<User, 'id' | 'tenant_id'>;
      details?: Record<string, unknown>;
      stoppedKeys?: readonly string[];
      deletedKeys?: readonly string[];
    }>,
  ): Promise<T> {
    return auditedChange(deps, actor, async (tx, record) => {
      const done = await work(tx);
      await record({
        action,
        tenantId: done.user.tenant_id,
        details: { user_id: done.user.id, ...done.details },
        stoppedKeys: done.stoppedKeys,
        deletedKeys: done.deletedKeys,
      });
      return done.result;
    });
  }

  async function requireUser(id: string, actor: Actor): Promise<User> {
    const user = isUuid(id) ? await deps.users.findById(id) : undefined;
    if (!user || (actor.tenantIds && !actor.tenantIds.includes(user.tenant_id))) throw new KeygateError('not_found', 'no such user');
    return user;
  }

  function assertMayManageRole(actor: Actor, role: Role): void {
    const refusal = refusalToManageRole(actor.authority, deps.roleScopes, role);
    if (refusal) throw new KeygateError('forbidden', refusal);
  }

  /**
   * requireUser, and the caller must be at least as strong as the user: every scope of the user's
   * role, and every network the user's keys may be used from (a role change or an enable hands
   * those keys power): 403 if not.
   */
  async function requireManageableUser(id: string, actor: Actor): Promise<User> {
    const user = await requireUser(id, actor);
    assertMayManageRole(actor, user.role);
    // Only a caller bound to networks can be outreached by a user's keys.
    const bound = actor.authority !== undefined && actor.authority.networks.length > 0;
    for (const key of bound ? await deps.keys.scopesOfUserKeys(user.id) : []) {
      const refusal = refusalToReachNetworks(actor.authority, key.networks);
      if (refusal) throw new KeygateError('forbidden', refusal);
    }
    return user;
  }

  /**
   * Stopping or restarting the keys a person created (and the keys those created, down the chain)
   * takes the right to manage every one of them, as stopping a key's descendants does: acting on
   * the person must not reach a key the caller could not stop or restart itself.
   */
  async function requireManageableCreatedKeys(userId: string, actor: Actor): Promise<void> {
    if (!actor.authority) return;
    for (const key of await deps.keys.descendants({ userId })) {
      const refusal = refusalToManageKey(actor.authority, key);
      if (refusal) throw new KeygateError('forbidden', `this person created ${key.client_id}, and ${refusal}`);
    }
  }

  /**
   * A person signs in from anywhere, so a caller bound to networks may not hand one more power
   * (a role with Keygate scopes the old one lacks) or let one with a password sign in again: the
   * person would carry that power out of the caller's networks, as a set-up link would.
   */
  function assertUnboundFor(actor: Actor, what: string): void {
    if (actor.authority !== undefined && actor.authority.networks.length > 0) {
      throw new KeygateError('forbidden', `a caller bound to networks may not ${what}: the person signs in from anywhere`);
    }
  }

  const addsKeygateScopes = (from: Role, to: Role): boolean => {
    const before = new Set(keygateScopesOfRole(deps.roleScopes, from));
    return keygateScopesOfRole(deps.roleScopes, to).some((scope) => !before.has(scope));
  };

  /**
   * Ends the tokens of the user's own keys and, when asked, of every key the user created, down
   * the chain; returns how many tokens were dropped and the created keys so stopped.
   */
  async function endTokensOfUser(
    tx: TxStores,
    userId: string,
    options: { ownKeys: readonly string[]; created: boolean },
  ): Promise<{ dropped: number; stopped: string[] }> {
    const stopped = options.created ? (await tx.keys.descendants({ userId })).map((key) => key.client_id) : [];
    return { dropped: await endLiveTokens(tx, deps.tokens, [...options.ownKeys, ...stopped]), stopped };
  }

  /** The row a change just wrote, or 404: a concurrent delete got there first. */
  const stillThere = (user: User | undefined): User => {
    if (!user) throw new KeygateError('not_found', 'no such user');
    return user;
  };

  /** User keys whose effective scopes the role change takes something from, and what each loses. */
  async function scopesLostTo(keys: Pick<KeyStore, 'scopesOfUserKeys'>, userId: string, from: Role, to: Role) {
    return (await keys.scopesOfUserKeys(userId))
      .map(({ clientId, scopes }) => {
        const after = new Set(userKeyScopes(deps.roleScopes, to, scopes));
        return { clientId, lost: userKeyScopes(deps.roleScopes, from, scopes).filter((scope) => !after.has(scope)) };
      })
      .filter((key) => key.lost.length > 0);
  }

  async function keysNarrowedBy(tx: TxStores, userId: string, from: Role, to: Role): Promise<string[]> {
    return (await scopesLostTo(tx.keys, userId, from, to)).map((key) => key.clientId);
  }

  return {
    async create(input: { tenantId: string; email: string; name?: string | null; role: Role }, actor: Actor): Promise<UserView> {
      if (actor.tenantIds && !actor.tenantIds.includes(input.tenantId)) {
        throw new KeygateError('validation_failed', 'request body is invalid', [{ field: 'tenant_id', message: 'no such tenant' }]);
      }
      assertMayManageRole(actor, input.role);
      return change(actor, 'user.create', async (tx) => {
        const user = await tx.users.insert(input);
        if (!user) throw new KeygateError('conflict', 'a user with this email already exists in the tenant');
        return { result: toUserView(user), user, details: { role: user.role } };
      });
    },
    async list(_actor: Actor, tenantIds: readonly string[]): Promise<ListedUserView[]> {
      const users = await deps.users.list(tenantIds);
      const counts = await deps.users.keyCounts(users.map((u) => u.id));
      return users.map((u) => ({ ...toUserView(u), key_count: counts.get(u.id) ?? 0 }));
    },
    /** The user, if the actor may see them (404 otherwise). */
    find: requireUser,
    /** The user, if the actor may manage them too (403 for a stronger one): the rule every change here follows. */
    findManageable: requireManageableUser,
    /**
     * The user a caller may hand a set-up link for. Whoever holds the link chooses the password and
     * then signs in as that person, so a link is an invitation only: for someone who has never set
     * a password, never for the caller themself, and never from a caller bound to networks (a
     * person signs in from anywhere, so the link would carry the caller's power out of its
     * networks). A forgotten password is changed by its owner on My account, or reset by the
     * operator with `keygate users invite`.
     */
    async findForSetupLink(id: string, actor: Actor): Promise<User> {
      const user = await requireManageableUser(id, actor);
      if (actor.userId === user.id) throw new KeygateError('forbidden', 'you change your own password on My account, with the current one');
      if (actor.authority !== undefined && actor.authority.networks.length > 0) {
        throw new KeygateError('forbidden', 'a caller bound to networks may not hand out set-up links: the person would sign in from anywhere');
      }
      if (user.password_hash) {
        throw new KeygateError(
          'conflict',
          'this person has set a password: they change it on My account; the operator resets a lost one with keygate users invite',
        );
      }
      return user;
    },
    /** What deleting, disabling or giving the user `role` would do to keys, computed now. */
    async impact(id: string, actor: Actor, role?: Role): Promise<UserImpact> {
      const user = await requireManageableUser(id, actor);
      const own = await deps.keys.idsForUser(id);
      const created = (await deps.keys.descendants({ userId: id })).map((key) => key.client_id);
      const lost = role && role !== user.role ? await scopesLostTo(deps.keys, id, user.role, role) : [];
      const names = new Map((await deps.keys.namesOf([...new Set([...own, ...created])])).map((k) => [k.client_id, k]));
      const named = (ids: readonly string[]) => ids.map((clientId) => names.get(clientId)).filter((k): k is KeyName => k !== undefined);
      const createdOnly = created.filter((clientId) => !own.includes(clientId));
      return {
        user_keys: named(own),
        delete: { deleted_keys: named(own), stopped_keys: named(createdOnly) },
        disable: { stopped_keys: named([...new Set([...own, ...created])]) },
        ...(role
          ? {
              role_change: {
                role,
                narrowed_keys: lost.flatMap(({ clientId, lost: scopes }) => named([clientId]).map((k) => ({ ...k, scopes_lost: scopes }))),
                stopped_keys: mayCreateKeys(user.role) && !mayCreateKeys(role) ? named(createdOnly) : [],
              },
            }
          : {}),
      };
    },
    async show(id: string, actor: Actor): Promise<UserView> {
      return toUserView(await requireUser(id, actor));
    },
    async update(id: string, patch: { name?: string | null; role?: Role }, actor: Actor): Promise<UserView> {
      const before = await requireManageableUser(id, actor);
      if (patch.role) assertMayManageRole(actor, patch.role);
      if (patch.role && addsKeygateScopes(before.role, patch.role)) assertUnboundFor(actor, 'give a person more power');
      // Losing or regaining the right to create keys stops or restarts every key the person created.
      if (patch.role && mayCreateKeys(before.role) !== mayCreateKeys(patch.role)) await requireManageableCreatedKeys(id, actor);
      return change(actor, 'user.update', async (tx) => {
        const after = stillThere(await tx.users.update(id, patch));
        const changes = fieldChanges(before, after, ['name', 'role']);
        // A link issued for the old role must not set up the new one.
        if (patch.role && patch.role !== before.role) await tx.setupLinks.deleteForUser(id);
        if (!patch.role || patch.role === before.role) {
          return { result: toUserView(after), user: after, details: { fields: Object.keys(patch), changes } };
        }
        const ended = await endTokensOfUser(tx, id, {
          ownKeys: await keysNarrowedBy(tx, id, before.role, patch.role),
          created: mayCreateKeys(before.role) && !mayCreateKeys(patch.role),
        });
        return {
          result: toUserView(after),
          user: after,
          details: { fields: Object.keys(patch), changes, role_from: before.role, role_to: patch.role, tokens_dropped: ended.dropped },
          stoppedKeys: ended.stopped,
        };
      });
    },
    async setStatus(id: string, status: 'active' | 'disabled', actor: Actor): Promise<UserView> {
      const user = await requireManageableUser(id, actor);
      if (status === 'active' && user.status !== 'active' && user.password_hash) assertUnboundFor(actor, 'let a person sign in again');
      await requireManageableCreatedKeys(id, actor);
      return change(actor, status === 'disabled' ? 'user.disable' : 'user.enable', async (tx) => {
        await tx.users.setStatus(id, status);
        const after = stillThere(await tx.users.findById(id));
        if (status === 'active') return { result: toUserView(after), user };
        await tx.setupLinks.deleteForUser(id);
        const ended = await endTokensOfUser(tx, id, { ownKeys: await tx.keys.idsForUser(id), created: true });
        return { result: toUserView(after), user, details: { tokens_dropped: ended.dropped }, stoppedKeys: ended.stopped };
      });
    },
    /** Turns the user's two-factor off (a lost phone): they sign in with their password and enrol again. */
    async resetTwoFactor(id: string, actor: Actor): Promise<UserView> {
      const user = await requireManageableUser(id, actor);
      // Turning one's own second factor off takes a code (the Two-factor page): a stolen session has none.
      if (actor.userId === user.id) throw new KeygateError('forbidden', 'you turn your own two-factor off on the Two-factor page, with a code');
      return change(actor, 'user.two_factor.reset', async (tx) => {
        const had = await tx.twoFactor.remove(id);
        return { result: toUserView(stillThere(await tx.users.findById(id))), user, details: { was_enabled: had } };
      });
    },
    /** Deletes the user and their user keys (dropping those keys' tokens first). */
    async delete(id: string, actor: Actor): Promise<void> {
      const user = await requireManageableUser(id, actor);
      await requireManageableCreatedKeys(id, actor);
      await change(actor, 'user.delete', async (tx) => {
        // The user's row first, then their keys: the order every other user change takes its
        // locks in, so two changes to one user wait for each other instead of deadlocking.
        stillThere(await tx.users.lockById(id));
        const keyIds = await tx.keys.idsForUser(id);
        const ended = await endTokensOfUser(tx, id, { ownKeys: keyIds, created: true });
        await tx.users.delete(id);
        return {
          result: undefined,
          user,
          details: { keys_deleted: keyIds, tokens_dropped: ended.dropped },
          // The user's own keys are deleted with them, not stopped.
          stoppedKeys: ended.stopped.filter((id) => !keyIds.includes(id)),
          deletedKeys: keyIds,
        };
      });
    },
  };
}

export type UserService = ReturnType<typeof createUserService>;
