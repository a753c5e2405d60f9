// Listing and ending a person's console sessions: their own (from My account), or another user's
// by whoever may manage that user (the same rule as every other change to a user: users.ts).
// Ending sessions is audited as `session.end` with how many ended; handles, ids and their hashes
// are never recorded.
import { KeygateError } from '../shared/errors.ts';
import { auditedChange, type Actor, type Transact } from '../keys/audited-change.ts';
import type { User } from '../stores/users.ts';
import type { Sessions, SessionView } from './sessions.ts';
import type { UserService } from './users.ts';

export const END_SESSIONS_ACTION = 'session.end';

interface UserSessionsDeps {
  transact: Transact;
  sessions: Sessions;
  userService: Pick<UserService, 'find' | 'findManageable'>;
  onKeysChanged?: (clientId: string) => void;
}

/** Which sessions to end: the one a handle names, or all (but the asking one, for the person themselves). */
export type SessionChoice = { handle: string } | { all: true };

export function createUserSessions(deps: UserSessionsDeps) {
  async function end(user: Pick<User, 'id' | 'tenant_id'>, which: SessionChoice, keepId: string | undefined, actor: Actor): Promise<number> {
    const ended = await deps.sessions.endFor(user.id, 'handle' in which ? which : { keepId });
    if ('handle' in which && ended === 0) throw new KeygateError('not_found', 'no such session');
    await auditedChange(deps, actor, (_tx, record) =>
      record({ action: END_SESSIONS_ACTION, tenantId: user.tenant_id, details: { user_id: user.id, sessions_ended: ended } }),
    );
    return ended;
  }

  return {
    /**
     * Another user's sessions, for a caller who may manage the user (where and how a person signs
     * in is theirs to know); `currentId` is the asker's own cookie, if any.
     */
    async listOf(userId: string, actor: Actor, currentId?: string): Promise<SessionView[]> {
      const user = await deps.userService.findManageable(userId, actor);
      return deps.sessions.list(user.id, currentId);
    },
    /** Ends another user's sessions (all, or one): only a caller that may manage the user. */
    async endOf(userId: string, which: SessionChoice, actor: Actor, currentId?: string): Promise<number> {
      const user = await deps.userService.findManageable(userId, actor);
      // An admin ending all of their own sessions from the user page keeps the one they use.
      return end(user, which, user.id === actor.userId ? currentId : undefined, actor);
    },
    /** The signed-in person's own sessions. */
    listOwn: (user: Pick<User, 'id'>, currentId: string) => deps.sessions.list(user.id, currentId),
    /** Ends the person's own sessions: one, or all but the one they ask from. */
    endOwn: (user: Pick<User, 'id' | 'tenant_id'>, which: SessionChoice, currentId: string, actor: Actor) => end(user, which, currentId, actor),
  };
}

export type UserSessions = ReturnType<typeof createUserSessions>;
