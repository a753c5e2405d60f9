// /console/api/*: the console's own JSON routes (signing in and setting a password). Everything
// else the console does goes through /admin/v1 with the session cookie.
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
import { CONSOLE_API_PREFIX, setConsoleApiHeaders } from './headers.ts';
import { SIGN_IN_ACTION, sessionRoutes } from './session.ts';
import { setupRoutes } from './setup.ts';
import { accountRoutes } from './account.ts';
import type { AccountService } from '../../identity/account.ts';
import type { UserSessions } from '../../identity/user-sessions.ts';
import type { RoleScopes } from '../../identity/roles.ts';
import { accountRoutes as activeAccountRoutes } from './session/account.ts';

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
  const session = sessionRoutes({ ...deps, limits, checkSignIn: createSignInCheck(deps) });
  return {
    routes: {
      [`${CONSOLE_API_PREFIX}session`]: session,
      [`${CONSOLE_API_PREFIX}setup`]: setupRoutes(deps),
      ...accountRoutes({ ...deps, limits }),
      [`${CONSOLE_API_PREFIX}session/account`]: activeAccountRoutes(deps),
    },
    headers: async function addConsoleApiHeaders(ctx, next) {
      if (ctx.path.startsWith(CONSOLE_API_PREFIX)) setConsoleApiHeaders(ctx);
      await next();
    },
  };
}
