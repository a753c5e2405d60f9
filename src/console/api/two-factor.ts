// /console/api/two-factor/*: the signed-in person's own two-factor sign-in. Enrolment gives a new
// secret (its QR code and its base32 text, never the otpauth:// URI itself) and turns two-factor on
// only with a good code from it, within a few minutes of a sign-in; it answers the ten recovery
// codes, shown once. Turning it off and new recovery codes need a good code (or a recovery code).
// These routes serve a session limited to enrolment (admin/session-auth.ts) too.
import type { Context } from 'koa';
import { z } from 'zod';
import type { SessionAuthenticator } from '../../admin/session-auth.ts';
import { readJsonObject } from '../../http/body.ts';
import type { Sessions, SignedIn } from '../../identity/sessions.ts';
import { twoFactorRequiredOf } from '../../identity/tenant-policy.ts';
import { RECENT_SIGN_IN_SECONDS, type TwoFactor } from '../../identity/two-factor.ts';
import type { Actor } from '../../keys/audited-change.ts';
import { KeygateError } from '../../shared/errors.ts';
import { parseInput } from '../../shared/validation.ts';
import type { TenantStore } from '../../stores/tenants.ts';
import { qrCodeDrawing } from './qr-code.ts';
import type { SecondFactorGuard } from './second-factor-guard.ts';
import { requestPlace } from './second-factor-guard.ts';

export const ENROL_ACTION = 'user.two_factor.enable';
export const DISABLE_ACTION = 'user.two_factor.disable';
export const REGENERATE_ACTION = 'user.two_factor.recovery_codes_regenerate';

const CodeBody = z.strictObject({ code: z.string().min(1).max(64) });
const wrongCode = () =>
  new KeygateError('validation_failed', 'request body is invalid', [{ field: 'code', message: 'the code is wrong, expired or already used' }]);

export interface TwoFactorRouteDeps {
  sessionAuth: SessionAuthenticator;
  twoFactor: TwoFactor;
  tenants: TenantStore;
  guardCode: SecondFactorGuard;
  sessions: Pick<Sessions, 'endFor'>;
}

export function twoFactorRoutes(deps: TwoFactorRouteDeps) {
  async function signedIn(ctx: Context): Promise<SignedIn> {
    const found = await deps.sessionAuth.signedIn(ctx, { enrolment: true });
    if (!found) throw new KeygateError('unauthorized', 'not signed in');
    return found.signedIn;
  }
  const actorOf = ({ user }: SignedIn): Actor => {
    const { ip, requestId } = requestPlace();
    return { keyId: null, userId: user.id, via: 'console', ip, requestId };
  };
  const assertRecent = (found: SignedIn) => {
    if (!deps.twoFactor.isRecentSignIn(found.signedInAt)) {
      throw new KeygateError('forbidden', `enrolling needs a sign-in within the last ${RECENT_SIGN_IN_SECONDS / 60} minutes: sign out and sign in again`);
    }
  };
  /** A code of the person's own second factor, spent, or 400. */
  async function spendOwnCode(ctx: Context, found: SignedIn, action: string): Promise<void> {
    const { code } = parseInput(CodeBody, await readJsonObject(ctx));
    if (!(await deps.twoFactor.isEnabled(found.user.id))) throw new KeygateError('conflict', 'two-factor is off');
    const spent = await deps.guardCode(ctx, found.user, action, () => deps.twoFactor.spend(found.user, code, actorOf(found)));
    if (!spent) throw wrongCode();
  }

  return {
    'two-factor': {
      async GET(ctx: Context) {
        const found = await signedIn(ctx);
        const status = await deps.twoFactor.status(found.user.id);
        const { user } = found;
        const required = await twoFactorRequiredOf(deps.tenants, await deps.tenants.pathTo(user.tenant_id), user.role);
        ctx.body = { two_factor: { ...status, required } };
      },
    },
    'two-factor/enrolment': {
      async POST(ctx: Context) {
        const found = await signedIn(ctx);
        assertRecent(found);
        const { secret, uri } = await deps.twoFactor.startEnrolment(found.user);
        ctx.status = 201;
        ctx.body = { enrolment: { secret, qr_code: qrCodeDrawing(uri), account: found.user.email } };
      },
    },
    'two-factor/enrolment/confirm': {
      async POST(ctx: Context) {
        const found = await signedIn(ctx);
        assertRecent(found);
        const { code } = parseInput(CodeBody, await readJsonObject(ctx));
        const codes = await deps.guardCode(ctx, found.user, ENROL_ACTION, () => deps.twoFactor.confirmEnrolment(found.user, code, actorOf(found)));
        if (!codes) throw wrongCode();
        // Sessions opened with the password alone (a thief's among them) end: from now on a
        // session takes both factors. This one has just shown the second.
        const otherSessionsEnded = await deps.sessions.endFor(found.user.id, { keepId: deps.sessionAuth.sessionIdOf(ctx) });
        ctx.body = { recovery_codes: codes, other_sessions_ended: otherSessionsEnded };
      },
    },
    'two-factor/recovery-codes': {
      async POST(ctx: Context) {
        const found = await signedIn(ctx);
        await spendOwnCode(ctx, found, REGENERATE_ACTION);
        ctx.body = { recovery_codes: await deps.twoFactor.regenerateRecoveryCodes(found.user, actorOf(found)) };
      },
    },
    'two-factor/disable': {
      async POST(ctx: Context) {
        const found = await signedIn(ctx);
        await spendOwnCode(ctx, found, DISABLE_ACTION);
        await deps.twoFactor.disable(found.user, actorOf(found));
        ctx.status = 204;
      },
    },
  };
}
