// /console/api/session: sign in (POST), who is signed in (GET), sign out (DELETE). Failed sign-ins
// are limited per source and per (email, source) like failed secrets (oauth/abuse-limits.ts), and
// audited; the answer never says whether the email exists. Passwords are never logged or audited.
// A person with two-factor on gets no session for the password alone: the answer is 202 with a
// sign-in challenge in an HttpOnly cookie, and POST /console/api/session/two-factor with a code
// (or a recovery code) opens the session.
import type { Context } from 'koa';
import type { Logger } from 'pino';
import { z } from 'zod';
import { hashToken } from '../../crypto/token-hash.ts';
import type { SessionAuthenticator } from '../../admin/session-auth.ts';
import { readJsonObject } from '../../http/body.ts';
import type { SignInCheckFn } from '../../identity/sign-in.ts';
import type { Sessions, SignedIn } from '../../identity/sessions.ts';
import { PASSWORD_MAX_LENGTH } from '../../identity/passwords.ts';
import { failureSource, type AbuseLimits } from '../../oauth/abuse-limits.ts';
import { KeygateError } from '../../shared/errors.ts';
import { parseInput } from '../../shared/validation.ts';
import type { AuditStore } from '../../stores/audit.ts';
import type { User, UserStore } from '../../stores/users.ts';
import type { SignInChallenges } from '../../identity/sign-in-challenges.ts';
import type { TwoFactor } from '../../identity/two-factor.ts';
import { requestPlace, type SecondFactorGuard } from './second-factor-guard.ts';
import type { SignInsInFlight } from './sign-ins-in-flight.ts';

export const SIGN_IN_ACTION = 'session.create';
export const SIGN_OUT_ACTION = 'session.delete';
/** A second factor typed at sign-in (refusals are audited under it). */
export const SECOND_FACTOR_ACTION = 'session.second_factor';
/** Names the sign-in challenge; sent back only to the console's own API. */
export const CHALLENGE_COOKIE = 'keygate_sign_in_challenge';
const NO_CHALLENGE = 'no sign-in is waiting for a second factor here, or it has ended: sign in again';
const WRONG_CODE = 'the code is wrong, expired or already used';

const SecondFactorBody = z.strictObject({ code: z.string().min(1).max(64) });
const INVALID_CREDENTIALS = 'the email or the password is wrong, or the account cannot sign in';

const SignInBody = z.strictObject({ email: z.string().min(1).max(320), password: z.string().min(1).max(PASSWORD_MAX_LENGTH) });

/** What a failed sign-in counts against besides its source: a hash of the email, never the email (it may be a password typed in the wrong field). */
export const signInSubject = (email: string) => hashToken(email.trim().toLowerCase());

export interface SessionRouteDeps {
  sessionAuth: SessionAuthenticator;
  sessions: Sessions;
  checkSignIn: SignInCheckFn;
  limits: AbuseLimits;
  users: UserStore;
  audit: AuditStore;
  log: Logger;
  twoFactor: TwoFactor;
  challenges: SignInChallenges;
  guardCode: SecondFactorGuard;
  /** Password checks in flight, shared with the password change on My account (account.ts). */
  passwordChecks: SignInsInFlight;
}

/** The session as the console shows it (the same answer after sign-in and on GET). */
function sessionView(found: Pick<SignedIn, 'user' | 'tenant' | 'csrfToken' | 'idleExpiresAt' | 'expiresAt' | 'accountPath' | 'enrolmentOnly'>) {
  const { user, tenant } = found;
  return {
    user: { id: user.id, email: user.email, name: user.name, role: user.role, tenant_id: user.tenant_id, tenant_name: tenant.name },
    account: accountView(found.accountPath),
    csrf_token: found.csrfToken,
    idle_expires_at: found.idleExpiresAt.toISOString(),
    expires_at: found.expiresAt.toISOString(),
    two_factor_enrolment_required: found.enrolmentOnly,
  };
}

/** The account a session works in, and the way down to it from the user's own tenant (never above it). */
export function accountView(accountPath: SignedIn['accountPath']) {
  const account = accountPath.at(-1)!;
  return { id: account.id, name: account.name, path: accountPath.map((tenant) => ({ id: tenant.id, name: tenant.name })) };
}

export function sessionRoutes(deps: SessionRouteDeps) {
  const inFlight = deps.passwordChecks;
  const where = requestPlace;

  /** A failed sign-in, logged and audited under the account the email names (if any), never the email. */
  async function refuse(concerning: User | undefined, { ip, requestId }: { ip: string | null; requestId: string | null }): Promise<void> {
    deps.log.info({ action: SIGN_IN_ACTION, reason: 'invalid_credentials', userId: concerning?.id, ip, requestId }, 'sign-in refused');
    await deps.audit.record({
      action: SIGN_IN_ACTION,
      outcome: 'denied',
      reason: 'invalid_credentials',
      tenantId: concerning?.tenant_id ?? null,
      actorUserId: concerning?.id ?? null,
      ip,
      requestId,
      details: { via: 'console' },
    });
  }

  async function signIn(ctx: Context): Promise<void> {
    deps.sessionAuth.assertSameOrigin(ctx);
    const { email, password } = parseInput(SignInBody, await readJsonObject(ctx));
    const { ip, requestId, sourceIp } = where();
    const subject = signInSubject(email);
    const limit = deps.limits.checkAuthentication(subject, sourceIp);
    if (!limit.ok) {
      ctx.set('Retry-After', String(limit.retryAfterSeconds));
      throw new KeygateError('rate_limited', 'too many failed sign-ins: try again later');
    }
    const release = inFlight.claim(subject, failureSource(sourceIp));
    if (!release) {
      ctx.set('Retry-After', '1');
      throw new KeygateError('rate_limited', 'another sign-in from here is being checked: try again in a moment');
    }
    let check: Awaited<ReturnType<SignInCheckFn>>;
    try {
      check = await deps.checkSignIn(email, password);
      if (!check.ok) {
        await refuse(check.concerning, { ip, requestId });
        await deps.limits.recordFailure(subject, sourceIp, SIGN_IN_ACTION);
      }
    } finally {
      release();
    }
    if (!check.ok) throw new KeygateError('invalid_credentials', INVALID_CREDENTIALS);
    const { user } = check;
    if (await deps.twoFactor.isEnabled(user.id)) {
      const challenge = await deps.challenges.issue(user.id);
      deps.sessionAuth.setOwnCookie(ctx, CHALLENGE_COOKIE, challenge.id);
      ctx.status = 202;
      ctx.body = { two_factor_required: true, expires_at: challenge.expiresAt.toISOString() };
      return;
    }
    await openSession(ctx, user, {});
  }

  /** POST …/session/two-factor: the code (or recovery code) that completes a waiting sign-in. */
  async function secondFactor(ctx: Context): Promise<void> {
    deps.sessionAuth.assertSameOrigin(ctx);
    const { code } = parseInput(SecondFactorBody, await readJsonObject(ctx));
    const challengeId = deps.sessionAuth.readOwnCookie(ctx, CHALLENGE_COOKIE);
    const challenge = challengeId === undefined ? undefined : await deps.challenges.find(challengeId);
    const user = challenge && (await deps.users.findById(challenge.userId));
    if (!challengeId || !user || user.status !== 'active') throw new KeygateError('unauthorized', NO_CHALLENGE);
    const { ip, requestId } = where();
    const factor = await deps.guardCode(ctx, user, SECOND_FACTOR_ACTION, () =>
      deps.twoFactor.spend(user, code, { keyId: null, userId: user.id, via: 'console', ip, requestId }),
    );
    if (!factor) {
      if (await deps.challenges.fail(challengeId)) deps.sessionAuth.setOwnCookie(ctx, CHALLENGE_COOKIE, '', 0);
      throw new KeygateError('invalid_credentials', WRONG_CODE);
    }
    deps.sessionAuth.setOwnCookie(ctx, CHALLENGE_COOKIE, '', 0);
    // Taken once: a parallel request with the same challenge and another good code gets nothing.
    if (!(await deps.challenges.take(challengeId))) throw new KeygateError('unauthorized', NO_CHALLENGE);
    await openSession(ctx, user, { second_factor: factor });
  }

  /** Opens the session of a person fully signed in, sets its cookie, audits it and answers with it. */
  async function openSession(ctx: Context, user: User, details: Record<string, unknown>): Promise<void> {
    const { ip, requestId } = where();
    // A sign-in always opens a new session; one this browser already had ends (no fixation, no leftovers).
    const previous = deps.sessionAuth.sessionIdOf(ctx);
    if (previous !== undefined) await deps.sessions.end(previous);
    const opened = await deps.sessions.start(user, { ip, userAgent: ctx.get('user-agent') || null });
    await deps.users.recordSignIn(user.id, new Date());
    await deps.audit.record({
      action: SIGN_IN_ACTION,
      outcome: 'success',
      tenantId: user.tenant_id,
      actorUserId: user.id,
      ip,
      requestId,
      details: { via: 'console', ...details },
    });
    deps.sessionAuth.setSessionCookie(ctx, opened.id);
    // Read back as every later request will see it (the user's tenant, the session's times).
    const found = await deps.sessions.resume(opened.id);
    if (!found) throw new KeygateError('invalid_credentials', INVALID_CREDENTIALS);
    ctx.body = sessionView(found);
  }

  async function show(ctx: Context): Promise<void> {
    const found = await deps.sessionAuth.signedIn(ctx, { enrolment: true });
    if (!found) throw new KeygateError('unauthorized', 'not signed in');
    ctx.body = sessionView(found.signedIn);
  }

  async function signOut(ctx: Context): Promise<void> {
    const found = await deps.sessionAuth.signedIn(ctx, { enrolment: true });
    if (!found) throw new KeygateError('unauthorized', 'not signed in');
    await deps.sessions.end(found.id);
    const { user } = found.signedIn;
    const { ip, requestId } = where();
    await deps.audit.record({
      action: SIGN_OUT_ACTION,
      outcome: 'success',
      tenantId: user.tenant_id,
      actorUserId: user.id,
      ip,
      requestId,
      details: { via: 'console' },
    });
    deps.sessionAuth.clearSessionCookie(ctx);
    ctx.status = 204;
  }

  return { session: { GET: show, POST: signIn, DELETE: signOut }, secondFactor: { POST: secondFactor } };
}
