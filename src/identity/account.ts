// A signed-in person's own account: their name and their password. Changing the password needs
// the current one, ends every other session of theirs and keeps the one it was made from, under a
// new id (a session is tied to the password it was opened with: see sessions.ts). The password is never
// logged or audited; the audit record says only that it changed.
import { KeygateError, failOnFieldErrors } from '../shared/errors.ts';
import { auditedChange, type Actor, type Transact } from '../keys/audited-change.ts';
import type { User, UserStore } from '../stores/users.ts';
import { hashPassword, passwordRefusals, verifyPassword } from './passwords.ts';
import type { OpenedSession, Sessions } from './sessions.ts';

interface AccountDeps {
  transact: Transact;
  users: UserStore;
  sessions: Sessions;
  onKeysChanged?: (clientId: string) => void;
}

export function createAccountService(deps: AccountDeps) {
  async function requireSelf(userId: string): Promise<User> {
    const user = await deps.users.findById(userId);
    if (!user || user.status !== 'active') throw new KeygateError('unauthorized', 'not signed in, or the session has ended: sign in again');
    return user;
  }

  return {
    async rename(userId: string, name: string | null, actor: Actor): Promise<User> {
      const user = await requireSelf(userId);
      return auditedChange(deps, actor, async (tx, record) => {
        const after = await tx.users.update(user.id, { name });
        if (!after) throw new KeygateError('not_found', 'no such user');
        await record({ action: 'user.update', tenantId: user.tenant_id, details: { user_id: user.id, fields: ['name'] } });
        return after;
      });
    },

    /**
     * `sessionId` is the cookie of the session making the change. Returns how many other sessions
     * ended, and that session under its new id. A session ended meanwhile (sign-out, an admin
     * ending them all) changes nothing: 401.
     */
    async changePassword(
      userId: string,
      input: { current: string; next: string },
      sessionId: string,
      actor: Actor,
    ): Promise<{ otherSessionsEnded: number; session: OpenedSession }> {
      const user = await requireSelf(userId);
      if (!user.password_hash || !(await verifyPassword(user.password_hash, input.current))) {
        failOnFieldErrors([{ field: 'current_password', message: 'is not your current password' }]);
      }
      failOnFieldErrors(passwordRefusals(input.next, user.email).map((e) => ({ ...e, field: 'new_password' })));
      if (input.next === input.current) failOnFieldErrors([{ field: 'new_password', message: 'must differ from the current password' }]);
      const passwordHash = await hashPassword(input.next);
      // This session first, so it is already tied to the new password when the row changes.
      const session = await deps.sessions.reissue(sessionId, passwordHash);
      if (!session) throw new KeygateError('unauthorized', 'not signed in, or the session has ended: sign in again');
      await auditedChange(deps, actor, async (tx, record) => {
        await tx.users.setPasswordHash(user.id, passwordHash);
        await record({ action: 'user.change_password', tenantId: user.tenant_id, details: { user_id: user.id } });
      });
      return { otherSessionsEnded: await deps.sessions.endFor(user.id, { keepId: session.id }), session };
    },
  };
}

export type AccountService = ReturnType<typeof createAccountService>;
