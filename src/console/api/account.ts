// /console/api/account/*: the signed-in person's own account. `account`: who they are (GET) and
// their name (POST); `account/password`: a new password, given the current one (the other
// sessions end, this one stays); `account/sessions`: their console sessions (GET), and ending
// them (DELETE: `?handle=` one, without it every one but this).
import type { Context } from 'koa';
import { z } from 'zod';
import { actorFor } from '../../admin/actor.ts';
import { callerOf, type SessionAuthenticator } from '../../admin/session-auth.ts';
import { readJsonObject } from '../../http/body.ts';
import type { AccountService } from '../../identity/account.ts';
import { PASSWORD_MAX_LENGTH } from '../../identity/passwords.ts';
import type { RoleScopes } from '../../identity/roles.ts';
import type { UserSessions } from '../../identity/user-sessions.ts';
import { KeygateError } from '../../shared/errors.ts';
import { parseInput } from '../../shared/validation.ts';
import type { TenantStore } from '../../stores/tenants.ts';
import type { User } from '../../stores/users.ts';
import type { RouteTable } from '../../http/routes.ts';
import { currentRequestScope } from '../../http/request-scope.ts';
import { failureSource, type AbuseLimits } from '../../oauth/abuse-limits.ts';
import type { SignInsInFlight } from './sign-ins-in-flight.ts';
import { CONSOLE_API_PREFIX } from './headers.ts';
import { signInSubject } from './session.ts';

/** What a wrong current password counts as: a failed sign-in of the account, from the source. */
const CHANGE_PASSWORD_ACTION = 'user.change_password';

const NameBody = z.strictObject({ name: z.string().trim().min(1).max(255).nullable() });
const PasswordBody = z.strictObject({
  current_password: z.string().min(1).max(PASSWORD_MAX_LENGTH),
  new_password: z.string().max(PASSWORD_MAX_LENGTH),
});
const EndQuery = z.strictObject({
  handle: z
    .string()
    .regex(/^[A-Za-z0-9_-]{22}$/, 'not a session handle')
    .optional(),
});

export interface AccountRouteDeps {
  sessionAuth: SessionAuthenticator;
  accountService: AccountService;
  userSessions: UserSessions;
  tenants: TenantStore;
  roleScopes: RoleScopes;
  /** The sign-in failure limits: a wrong current password counts like a wrong sign-in. */
  limits: AbuseLimits;
  /** Password checks in flight, shared with sign-in (sign-ins-in-flight.ts). */
  passwordChecks: SignInsInFlight;
}

const userView = (user: User) => ({ id: user.id, email: user.email, name: user.name, role: user.role, tenant_id: user.tenant_id });

export function accountRoutes(deps: AccountRouteDeps): RouteTable {
  /** The person behind the session (401 without one), their session id, and them as an actor. */
  async function me(ctx: Context) {
    const found = await deps.sessionAuth.signedIn(ctx);
    if (!found) throw new KeygateError('unauthorized', 'not signed in');
    const actor = await actorFor(callerOf(found.signedIn, deps.roleScopes), deps.tenants);
    return { user: found.signedIn.user, sessionId: found.id, actor };
  }

  return {
    [`${CONSOLE_API_PREFIX}account`]: {
      async GET(ctx) {
        ctx.body = { user: userView((await me(ctx)).user) };
      },
      async POST(ctx) {
        const { user, actor } = await me(ctx);
        const { name } = parseInput(NameBody, await readJsonObject(ctx));
        ctx.body = { user: userView(await deps.accountService.rename(user.id, name, actor)) };
      },
    },
    [`${CONSOLE_API_PREFIX}account/password`]: {
      async POST(ctx) {
        const { user, sessionId, actor } = await me(ctx);
        const body = parseInput(PasswordBody, await readJsonObject(ctx));
        // A stolen session must not become a way to guess the password at leisure.
        const subject = signInSubject(user.email);
        const sourceIp = currentRequestScope()?.sourceIp;
        const limit = deps.limits.checkAuthentication(subject, sourceIp);
        if (!limit.ok) {
          ctx.set('Retry-After', String(limit.retryAfterSeconds));
          throw new KeygateError('rate_limited', 'too many wrong passwords: try again later');
        }
        // One check at a time, as for sign-in: a parallel burst would otherwise all be judged
        // before the first wrong guess was counted.
        const release = deps.passwordChecks.claim(subject, failureSource(sourceIp));
        if (!release) {
          ctx.set('Retry-After', '1');
          throw new KeygateError('rate_limited', 'another check of this password is under way: try again in a moment');
        }
        try {
          const changed = await deps.accountService.changePassword(user.id, { current: body.current_password, next: body.new_password }, sessionId, actor);
          // This browser's session goes on under a new cookie; the old value is worthless.
          deps.sessionAuth.setSessionCookie(ctx, changed.session.id);
          ctx.body = { other_sessions_ended: changed.otherSessionsEnded };
        } catch (error) {
          if (error instanceof KeygateError && error.details?.some((d) => d.field === 'current_password')) {
            await deps.limits.recordFailure(subject, sourceIp, CHANGE_PASSWORD_ACTION);
          }
          throw error;
        } finally {
          release();
        }
      },
    },
    [`${CONSOLE_API_PREFIX}account/sessions`]: {
      async GET(ctx) {
        const { user, sessionId } = await me(ctx);
        ctx.body = { data: await deps.userSessions.listOwn(user, sessionId) };
      },
      async DELETE(ctx) {
        const { user, sessionId, actor } = await me(ctx);
        const { handle } = parseInput(EndQuery, { ...ctx.query }, 'query');
        const ended = await deps.userSessions.endOwn(user, handle ? { handle } : { all: true }, sessionId, actor);
        ctx.body = { ended };
      },
    },
  };
}
