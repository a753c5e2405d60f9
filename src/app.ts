// The Koa app, middleware in request order. Only the listed paths exist; everything else,
// including every route oidc-provider would mount by default, answers 404.
import Koa from 'koa';
import type { Logger } from 'pino';
import { createAdminApi, ADMIN_PREFIX } from './admin/index.ts';
import { createBearerAuthenticator } from './admin/auth.ts';
import { createTenantTokenRoute, TENANT_TOKEN_PATH } from './api/v1/tenant/token.ts';
import { createSessionAuthenticator } from './admin/session-auth.ts';
import { createConsoleApi } from './console/api/index.ts';
import { loadConsoleAssets } from './console/assets.ts';
import { createConsoleServer, isConsolePath } from './console/serve.ts';
import { renderApiErrors } from './http/errors.ts';
import { accessLog, createRequestRecorder } from './http/access-log.ts';
import { plainExchange } from './http/exchange.ts';
import { createFrontDoor } from './http/front-door.ts';
import { serveMetrics } from './http/health.ts';
import { createReadiness, healthz, NotReadyYet } from './http/health.ts';
import { requestScope } from './http/request-scope.ts';
import { routeTable } from './http/routes.ts';
import { createOAuth } from './oauth/index.ts';
import { externalEnvelope } from './oauth/exchanges.ts';
import { PROVIDER_ROUTES } from './oauth/provider.ts';
import { KEY_VERIFY_PATH } from './oauth/v1/keys/verify.ts';
import { createClientCertificates, parseCertificateBundle } from './oauth/policy/certificate.ts';
import { pingDatabase } from './stores/db.ts';
import type { Runtime } from './runtime.ts';

export type AppDeps = Pick<
  Runtime,
  | 'config'
  | 'db'
  | 'keys'
  | 'tenants'
  | 'tokens'
  | 'audit'
  | 'pepperRing'
  | 'usage'
  | 'keyService'
  | 'tenantService'
  | 'userService'
  | 'metrics'
  | 'findKey'
  | 'counters'
  | 'users'
  | 'sessions'
  | 'setupLinkService'
  | 'activity'
  | 'activityStore'
  | 'scopeCatalogueService'
  | 'replay'
  | 'webhookService'
  | 'denialSummaries'
  | 'userSessions'
  | 'accountService'
  | 'twoFactor'
  | 'twoFactorService'
  | 'startupWarmPending'
> & { log: Logger };

export interface App {
  koa: Koa;
  /** The server's request listener: hot routes (http/front-door.ts), then Koa. */
  handleRequest: ReturnType<typeof createFrontDoor>;
}

export function createApp(deps: AppDeps): App {
  const oauth = createOAuth({
    issuer: deps.config.issuer,
    tokenTtlSeconds: deps.config.tokenTtlSeconds,
    findKey: deps.findKey,
    tokens: deps.tokens,
    audit: deps.audit,
    pepperRing: deps.pepperRing,
    usage: deps.usage,
    activity: deps.activity,
    metrics: deps.metrics,
    counters: deps.counters,
    replay: deps.replay,
    trustedProxies: deps.config.trustedProxies,
    clientCertificates:
      deps.config.clientCertificates
      && createClientCertificates(
        { header: deps.config.clientCertificates.header, trustedProxies: deps.config.trustedProxies },
        parseCertificateBundle(deps.config.clientCertificates.trustedCaPem ?? ''),
      ),
    authFailures: deps.config.authFailures,
    log: deps.log,
    noteDenial: deps.denialSummaries.note,
  });

  const sessionAuth = createSessionAuthenticator({ sessions: deps.sessions, issuer: deps.config.issuer, roleScopes: deps.config.roleScopes });
  const consoleApi = createConsoleApi({
    sessionAuth,
    sessions: deps.sessions,
    setupLinks: deps.setupLinkService,
    users: deps.users,
    tenants: deps.tenants,
    audit: deps.audit,
    counters: deps.counters,
    metrics: deps.metrics,
    signInFailures: deps.config.signInFailures,
    log: deps.log,
    userSessions: deps.userSessions,
    accountService: deps.accountService,
    roleScopes: deps.config.roleScopes,
    twoFactor: deps.twoFactorService,
    twoFactorStore: deps.twoFactor,
  });

  const adminApi = createAdminApi({
    issuer: deps.config.issuer,
    keyService: deps.keyService,
    tenantService: deps.tenantService,
    userService: deps.userService,
    tenants: deps.tenants,
    audit: deps.audit,
    tokens: deps.tokens,
    lookupKey: oauth.lookupKey,
    sessionAuth,
    activityStore: deps.activityStore,
    scopeCatalogueService: deps.scopeCatalogueService,
    webhookService: deps.webhookService,
    setupLinkService: deps.setupLinkService,
    userSessions: deps.userSessions,
  });

  const forwardToProvider = (ctx: Koa.Context) => {
    ctx.respond = false; // oidc-provider writes the response itself
    return oauth.forwardToProvider(ctx.req, ctx.res);
  };
  const recordRequest = createRequestRecorder(deps.log, deps.metrics);

  const app = new Koa();
  app.proxy = false; // the client IP comes from http/client-ip.ts, never from Koa's left-most X-Forwarded-For
  app.silent = true;
  const routes = {
    '/healthz': { GET: healthz },
    '/readyz': {
      GET: createReadiness({
        postgres: () => pingDatabase(deps.db),
        tokens: () => deps.tokens.ping(),
        key_cache: async () => {
          if (deps.startupWarmPending()) throw new NotReadyYet('warming');
        },
      }),
    },
    '/metrics': { GET: serveMetrics(deps.metrics) },
    '/.well-known/oauth-authorization-server': { GET: oauth.metadata },
    [PROVIDER_ROUTES.token]: { POST: forwardToProvider },
    [PROVIDER_ROUTES.revocation]: { POST: forwardToProvider },
    '/oauth/introspect': { POST: oauth.introspect },
    '/api/v1/auth/authorize': { POST: oauth.authorizeApiKey },
    '/auth/external': { POST: oauth.authorizeExternal },
    ...consoleApi.routes,
    [KEY_VERIFY_PATH]: { POST: oauth.verifyKey },
    [TENANT_TOKEN_PATH]: {
      POST: createTenantTokenRoute({
        authenticateBearer: createBearerAuthenticator({ tokens: deps.tokens, lookupKey: oauth.lookupKey }),
        keyService: deps.keyService,
        tenants: deps.tenants,
        roleScopes: deps.config.roleScopes,
      }),
    },
  };
  const routeOf = (path: string) =>
    (Object.hasOwn(routes, path) ? path : undefined) ?? adminApi.templateOf(path) ?? (isConsolePath(path) ? '/console/*' : undefined) ?? 'unmatched';

  app.use(requestScope(deps.config.trustedProxies));
  app.use(accessLog(recordRequest, routeOf));
  app.use(externalEnvelope('/auth/external'));
  app.use(renderApiErrors(deps.log));
  app.use(consoleApi.headers);
  app.use(async function routeAdmin(ctx, next) {
    if (ctx.path === ADMIN_PREFIX || ctx.path.startsWith(`${ADMIN_PREFIX}/`)) return adminApi(ctx);
    return next();
  });
  app.use(createConsoleServer(loadConsoleAssets()));
  app.use(routeTable(routes));

  const handleRequest = createFrontDoor({
    fallback: app.callback(),
    hotPosts: {
      [PROVIDER_ROUTES.token]: oauth.forwardToProvider,
      '/oauth/introspect': async (req, res) => {
        const exchange = plainExchange(req, res, '/oauth/introspect');
        await oauth.introspect(exchange);
        exchange.respond();
      },
      [KEY_VERIFY_PATH]: async (req, res) => {
        const exchange = plainExchange(req, res, KEY_VERIFY_PATH);
        await oauth.verifyKey(exchange);
        exchange.respond();
      },
    },
    trustedProxies: deps.config.trustedProxies,
    recordRequest,
    log: deps.log,
  });
  return { koa: app, handleRequest };
}
