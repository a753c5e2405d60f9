// /console/api/*: the console's own JSON routes (signing in, setting a password, the person's own
// two-factor). Everything else the console does goes through /admin/v1 with the session cookie.
import type { Middleware } from 'koa';
import type { Logger } from 'pino';
import type { SessionAuthenticator } from '../../admin/session-auth.ts';
import type { RouteTable } from '../../http/routes.ts';
import type { Sessions } from '../../identity/sessions.ts';
import type { SetupLinks } from '../../identity/setup-links.ts';
import { createSignInCheck } from '../../identity/sign-in.ts';
import { createAbuseLimits } from '../../oauth/abuse-limits.ts';
import type { Metrics } from '../../shared/metrics.ts';
import type { AuditStore } from '../../stores/audit.ts';
import type { WindowCounters } from '../../stores/counters.ts';
import type { TenantStore } from '../../stores/tenants.ts';
import type { UserStore } from '../../stores/users.ts';
import { CONSOLE_API_PREFIX } from './headers.ts';
import { setApiHeaders } from '../../http/api-headers.ts';
import { SIGN_IN_ACTION, sessionRoutes } from './session.ts';
import { setupRoutes } from './setup.ts';
import { accountRoutes } from './account.ts';
import type { AccountService } from '../../identity/account.ts';
import type { UserSessions } from '../../identity/user-sessions.ts';
import type { RoleScopes } from '../../identity/roles.ts';
import { accountRoutes as activeAccountRoutes } from './session/account.ts';
import { isUuid } from '../../identity/ids.ts';
import { createSignInChallenges } from '../../identity/sign-in-challenges.ts';
import type { TwoFactor } from '../../identity/two-factor.ts';
import type { TwoFactorStore } from '../../stores/two-factor.ts';
import { createSecondFactorGuard } from './second-factor-guard.ts';
import { createSignInsInFlight } from './sign-ins-in-flight.ts';
import { twoFactorRoutes } from './two-factor.ts';

export interface ConsoleApiDeps {
  sessionAuth: SessionAuthenticator;
  sessions: Sessions;
  setupLinks: SetupLinks;
  users: UserStore;
  tenants: TenantStore;
  audit: AuditStore;
  counters: WindowCounters;
  metrics: Metrics;
  signInFailures: { perAccountAndSource: number; perSource: number; windowSeconds: number };
  log: Logger;
  accountService: AccountService;
  userSessions: UserSessions;
  roleScopes: RoleScopes;
  twoFactor: TwoFactor;
  twoFactorStore: TwoFactorStore;
}

export function createConsoleApi(deps: ConsoleApiDeps): { routes: RouteTable; headers: Middleware } {
  const limits = createAbuseLimits({
    counters: deps.counters,
    metrics: deps.metrics,
    log: deps.log,
    subject: { prefix: 'si', accepts: () => true },
    config: {
      failuresPerClientSource: deps.signInFailures.perAccountAndSource,
      failuresPerSource: deps.signInFailures.perSource,
      windowSeconds: deps.signInFailures.windowSeconds,
    },
    // The crossing names no email (only its hash is counted) and no user: the source is what is known.
    async onCrossed({ limit, source }) {
      deps.log.warn({ limit, source, action: SIGN_IN_ACTION }, 'abuse limit reached');
      await deps.audit.record({ action: SIGN_IN_ACTION, outcome: 'denied', reason: 'rate_limited', details: { via: 'console', limit, source } });
    },
  });
  // Wrong second-factor codes count like wrong passwords, per (user, source) and per source, on counters of their own.
  const codeLimits = createAbuseLimits({
    counters: deps.counters,
    metrics: deps.metrics,
    log: deps.log,
    subject: { prefix: 'tf', accepts: isUuid },
    config: {
      failuresPerClientSource: deps.signInFailures.perAccountAndSource,
      failuresPerSource: deps.signInFailures.perSource,
      windowSeconds: deps.signInFailures.windowSeconds,
    },
    async onCrossed({ limit, source, clientId, action }) {
      deps.log.warn({ limit, source, userId: clientId, action }, 'abuse limit reached');
      await deps.audit.record({ action, outcome: 'denied', reason: 'rate_limited', actorUserId: clientId ?? null, details: { via: 'console', limit, source } });
    },
  });
  const guardCode = createSecondFactorGuard({ limits: codeLimits, audit: deps.audit, log: deps.log });
  const challenges = createSignInChallenges({ store: deps.twoFactorStore });
  // One guard for every check of a password, so a burst cannot spread over sign-in and My account.
  const passwordChecks = createSignInsInFlight();
  const session = sessionRoutes({ ...deps, limits, checkSignIn: createSignInCheck(deps), challenges, guardCode, passwordChecks });
  const twoFactor = Object.entries(twoFactorRoutes({ ...deps, guardCode })).map(([path, methods]) => [`${CONSOLE_API_PREFIX}${path}`, methods]);
  return {
    routes: {
      [`${CONSOLE_API_PREFIX}session`]: session.session,
      [`${CONSOLE_API_PREFIX}session/two-factor`]: session.secondFactor,
      ...Object.fromEntries(twoFactor),
      [`${CONSOLE_API_PREFIX}setup`]: setupRoutes(deps),
      ...accountRoutes({ ...deps, limits, passwordChecks }),
      [`${CONSOLE_API_PREFIX}session/account`]: activeAccountRoutes(deps),
    },
    headers: async function addConsoleApiHeaders(ctx, next) {
      if (ctx.path.startsWith(CONSOLE_API_PREFIX)) setApiHeaders(ctx);
      await next();
    },
  };
}
