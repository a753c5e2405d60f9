// /admin/v1: routes authenticated by a bearer token or the console's session and authorised by
// scope, plus the public OpenAPI document.
import type { Context } from 'koa';
import type { KeyService } from '../keys/service.ts';
import type { KeyLookup } from '../oauth/pipeline.ts';
import type { AuditStore } from '../stores/audit.ts';
import type { TenantStore } from '../stores/tenants.ts';
import type { TokenStore } from '../stores/tokens.ts';
import type { KeyActivityStore } from '../stores/key-activity.ts';
import { auditRoutes } from './audit.ts';
import { createAdminAuthenticator, createBearerAuthenticator } from './auth.ts';
import type { SessionAuthenticator } from './session-auth.ts';
import { keyRoutes } from './keys.ts';
import { tenantRoutes } from './tenants.ts';
import { userRoutes } from './users.ts';
import { scopeRoutes } from './scopes.ts';
import type { ScopeCatalogueService } from '../keys/scope-catalogue-service.ts';
import { webhookRoutes } from './webhooks.ts';
import type { WebhookService } from '../events/webhooks.ts';
import type { TenantService } from '../identity/tenants.ts';
import type { UserService } from '../identity/users.ts';
import { buildOpenApiDocument } from './openapi.ts';
import type { SetupLinks } from '../identity/setup-links.ts';
import type { UserSessions } from '../identity/user-sessions.ts';
import { createAdminRouter, type AdminRoute } from './router.ts';
import { setApiHeaders } from '../http/api-headers.ts';

export const ADMIN_PREFIX = '/admin/v1';

export interface AdminDeps {
  issuer: string;
  keyService: KeyService;
  tenantService: TenantService;
  userService: UserService;
  tenants: TenantStore;
  audit: AuditStore;
  tokens: TokenStore;
  lookupKey: KeyLookup;
  /** The console's sessions: with it, the session cookie is a credential here too. */
  sessionAuth?: SessionAuthenticator;
  /** Per-key activity counts, for /keys/{id}/usage. */
  activityStore: Pick<KeyActivityStore, 'read'>;
  scopeCatalogueService: ScopeCatalogueService;
  webhookService: WebhookService;
  setupLinkService: SetupLinks;
  userSessions: UserSessions;
}

export function adminRoutes(deps: AdminDeps): AdminRoute[] {
  return [
    ...keyRoutes(deps),
    ...tenantRoutes(deps),
    ...userRoutes({ ...deps, sessionIdOf: deps.sessionAuth?.sessionIdOf }),
    ...auditRoutes(deps),
    ...scopeRoutes(deps),
    ...webhookRoutes(deps),
  ];
}

export function createAdminApi(deps: AdminDeps) {
  const routes = adminRoutes(deps);
  const document = buildOpenApiDocument(routes, deps.issuer);
  const authenticate = createAdminAuthenticator({ bearer: createBearerAuthenticator(deps), session: deps.sessionAuth?.adminCaller });
  const router = createAdminRouter(routes, authenticate);
  return Object.assign(
    async function adminApi(ctx: Context): Promise<void> {
      const path = ctx.path.slice(ADMIN_PREFIX.length);
      setApiHeaders(ctx);
      if (path === '/openapi.json' && ctx.method === 'GET') {
        ctx.body = document;
        return;
      }
      await router.dispatch(ctx, path);
    },
    {
      /** `/admin/v1/keys/{id}` for `/admin/v1/keys/kg_…`: a metric label without ids. */
      templateOf(path: string): string | undefined {
        if (!path.startsWith(ADMIN_PREFIX)) return undefined;
        const rest = path.slice(ADMIN_PREFIX.length);
        if (rest === '/openapi.json') return path;
        const template = router.templateOf(rest);
        return template && `${ADMIN_PREFIX}${template}`;
      },
    },
  );
}
