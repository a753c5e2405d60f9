// The console's session cookie as an admin API credential. A browser request is trusted only from
// this server's own origin (Origin, when sent, must be the issuer's) and, for every change, only
// with the session's CSRF token in `X-CSRF-Token`: the cookie alone, which the browser attaches by
// itself, never changes anything. SameSite=Strict already keeps other sites' requests from
// carrying it; the token holds even where that is not enough (a sibling subdomain, an old browser).
import type { Context } from 'koa';
import { readCookie, setCookie } from '../http/cookies.ts';
import type { RoleScopes } from '../identity/roles.ts';
import { sameText, type Sessions, type SignedIn } from '../identity/sessions.ts';
import { sessionPowerOf } from '../identity/session-power.ts';
import { KeygateError } from '../shared/errors.ts';
import type { AdminCaller } from './auth.ts';

export const SESSION_COOKIE = 'keygate_session';
export const CSRF_HEADER = 'X-CSRF-Token';
/** The account (tenant id) the console page shows, sent with each of its admin API calls. */
export const ACCOUNT_HEADER = 'X-Keygate-Account';

const READS = new Set(['GET', 'HEAD']);

export function createSessionAuthenticator(deps: { sessions: Sessions; issuer: string; roleScopes: RoleScopes }) {
  const origin = new URL(deps.issuer).origin;
  const secure = origin.startsWith('https:');

  function assertSameOrigin(ctx: Context): void {
    const sent = ctx.get('origin');
    if (sent && sent !== origin) throw new KeygateError('forbidden', 'requests signed in with a session must come from this server’s own pages');
  }

  /**
   * The person behind the request's session cookie (undefined when it carries none). A cookie
   * whose session has ended is 401; a change without the CSRF token, or a request
   * from another origin, is 403. A session that must enrol in two-factor first is 403
   * `two_factor_enrolment_required` unless the route says it serves enrolment.
   */
  async function signedIn(ctx: Context, options: { enrolment?: boolean } = {}): Promise<{ id: string; signedIn: SignedIn } | undefined> {
    const id = readCookie(ctx, SESSION_COOKIE, secure);
    if (id === undefined) return undefined;
    assertSameOrigin(ctx);
    const found = await deps.sessions.resume(id);
    // The cookie is left as it is: it may be an old value sent just before a password change
    // gave this browser's session a new one, and clearing the name would clear the new value.
    // A dead value does no harm, and the next sign-in replaces it.
    if (!found) throw new KeygateError('unauthorized', 'not signed in, or the session has ended: sign in again');
    if (!READS.has(ctx.method) && !sameText(ctx.get(CSRF_HEADER), found.csrfToken)) {
      throw new KeygateError('forbidden', `a change made with a session needs its ${CSRF_HEADER} header`);
    }
    if (found.enrolmentOnly && !options.enrolment) {
      throw new KeygateError(
        'two_factor_enrolment_required',
        'your tenant, or one you work on, requires two-factor sign-in for your role: set it up first (/console/account/two-factor)',
      );
    }
    return { id, signedIn: found };
  }

  /** Cookies other than the session's (the sign-in challenge): the same attributes. */
  function setOwnCookie(ctx: Context, name: string, value: string, maxAgeSeconds?: number): void {
    setCookie(ctx, name, value, { secure, maxAgeSeconds });
  }

  function setSessionCookie(ctx: Context, id: string): void {
    setCookie(ctx, SESSION_COOKIE, id, { secure });
  }

  function clearSessionCookie(ctx: Context): void {
    setCookie(ctx, SESSION_COOKIE, '', { secure, maxAgeSeconds: 0 });
  }

  /**
   * The admin caller a session makes (undefined without a session cookie). A page that names the
   * account it shows (`X-Keygate-Account`) is refused when the session has since moved to another
   * one (another tab switched): nothing is read or changed in an account the page does not show.
   */
  async function adminCaller(ctx: Context): Promise<AdminCaller | undefined> {
    const found = await signedIn(ctx);
    const shown = ctx.get(ACCOUNT_HEADER);
    if (found && shown && shown !== found.signedIn.accountPath.at(-1)!.id) {
      throw new KeygateError('conflict', 'this session now works in another account than this page shows: reload the page');
    }
    return found && callerOf(found.signedIn, deps.roleScopes);
  }

  const sessionIdOf = (ctx: Context) => readCookie(ctx, SESSION_COOKIE, secure);
  /** Cookies other than the session's (the sign-in challenge), named as setOwnCookie names them. */
  const readOwnCookie = (ctx: Context, name: string) => readCookie(ctx, name, secure);

  return { signedIn, adminCaller, assertSameOrigin, sessionIdOf, setSessionCookie, clearSessionCookie, setOwnCookie, readOwnCookie };
}

/**
 * The person as an admin caller: their role's power (identity/session-power.ts), no key, over the
 * account they work in (their own tenant, or the one below it they switched into).
 */
export function callerOf({ user, accountPath }: SignedIn, roleScopes: RoleScopes): AdminCaller {
  const power = sessionPowerOf(roleScopes, user.role);
  const account = accountPath.at(-1)!;
  return {
    ...(account.id === user.tenant_id ? {} : { actingInTenantId: account.id }),
    keyId: null,
    keyKind: null,
    userId: user.id,
    via: 'console',
    onlyUserId: power.ownKeysOnly ? user.id : undefined,
    tenantId: account.id,
    scopes: power.routeScopes,
    authority: { scopes: power.heldScopes, networks: [], creatorChain: [] },
  };
}

export type SessionAuthenticator = ReturnType<typeof createSessionAuthenticator>;
