// /admin/v1: bearer-authenticated, scope-authorised routes, plus the public OpenAPI document.
import type { Context } from 'koa';
import type { KeyService } from '../keys/service.ts';
import type { KeyLookup } from '../oauth/pipeline.ts';
import type { AuditStore } from '../stores/audit.ts';
import type { TenantStore } from '../stores/tenants.ts';
import type { TokenStore } from '../stores/tokens.ts';
import { auditRoutes } from './audit.ts';
import { createBearerAuthenticator } from './auth.ts';
import { keyRoutes } from './keys.ts';
import { tenantRoutes } from './tenants.ts';
import { userRoutes } from './users.ts';
import { webhookRoutes } from './webhooks.ts';
import type { WebhookService } from '../events/webhooks.ts';
import type { TenantService } from '../identity/tenants.ts';
import type { UserService } from '../identity/users.ts';
import { buildOpenApiDocument } from './openapi.ts';
import { createAdminRouter, type AdminRoute } from './router.ts';

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
  webhookService: WebhookService;
}

export function adminRoutes(deps: AdminDeps): AdminRoute[] {
  return [...keyRoutes(deps), ...tenantRoutes(deps), ...userRoutes(deps), ...auditRoutes(deps), ...webhookRoutes(deps)];
}

export function createAdminApi(deps: AdminDeps) {
  const routes = adminRoutes(deps);
  const document = buildOpenApiDocument(routes, deps.issuer);
  const router = createAdminRouter(routes, createBearerAuthenticator(deps));
  return Object.assign(
    async function adminApi(ctx: Context): Promise<void> {
      const path = ctx.path.slice(ADMIN_PREFIX.length);
      ctx.set('Cache-Control', 'no-store');
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
