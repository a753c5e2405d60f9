// /admin/v1/tenants — child tenants of the caller's tenant.
import type { TenantService } from '../identity/tenants.ts';
import type { TenantStore } from '../stores/tenants.ts';
import { actorFor } from './actor.ts';
import { route, type AdminRoute } from './router.ts';
import { CreateTenantBody, ErrorSchema, TenantEnvelope, TenantListSchema, UpdateTenantBody } from './schemas.ts';

const SCOPE = 'admin:tenants:write';
const notFound = { description: 'no such tenant among the caller’s own and child tenants', schema: ErrorSchema };

export function tenantRoutes(deps: { tenantService: TenantService; tenants: TenantStore }): AdminRoute[] {
  const { tenantService, tenants } = deps;
  const actor = async (caller: Parameters<typeof actorFor>[0]) => ({ ...(await actorFor(caller, tenants)), tenantId: caller.tenantId });
  return [
    route({
      method: 'POST',
      path: '/tenants',
      scope: SCOPE,
      summary: 'Create a child tenant of the caller’s tenant',
      body: CreateTenantBody,
      responses: { 201: { description: 'created', schema: TenantEnvelope }, 400: { description: 'validation failed', schema: ErrorSchema } },
      async handle(_ctx, { body, caller }) {
        return { status: 201, body: { tenant: await tenantService.create(body, await actor(caller)) } };
      },
    }),
    route({
      method: 'GET',
      path: '/tenants',
      scope: SCOPE,
      summary: 'The caller’s tenant and its children',
      responses: { 200: { description: 'tenants', schema: TenantListSchema } },
      async handle(_ctx, { caller }) {
        return { status: 200, body: { data: await tenantService.list(await actor(caller)) } };
      },
    }),
    route({
      method: 'GET',
      path: '/tenants/{id}',
      scope: SCOPE,
      summary: 'Show a tenant',
      responses: { 200: { description: 'the tenant', schema: TenantEnvelope }, 404: notFound },
      async handle(_ctx, { params, caller }) {
        return { status: 200, body: { tenant: await tenantService.show(params.id!, await actor(caller)) } };
      },
    }),
    route({
      method: 'PATCH',
      path: '/tenants/{id}',
      scope: SCOPE,
      summary: 'Change a tenant’s name or key-expiry settings',
      body: UpdateTenantBody,
      responses: { 200: { description: 'the tenant', schema: TenantEnvelope }, 404: notFound },
      async handle(_ctx, { params, body, caller }) {
        return { status: 200, body: { tenant: await tenantService.update(params.id!, body, await actor(caller)) } };
      },
    }),
    ...(['disable', 'enable'] as const).map((action) =>
      route({
        method: 'POST',
        path: `/tenants/{id}/${action}`,
        scope: SCOPE,
        summary: action === 'disable' ? 'Disable a child tenant: every token of its keys stops at once' : 'Enable a child tenant',
        responses: {
          200: { description: 'the tenant', schema: TenantEnvelope },
          404: notFound,
          409: { description: 'a tenant cannot change its own status', schema: ErrorSchema },
        },
        async handle(_ctx, { params, caller }) {
          return {
            status: 200,
            body: { tenant: await tenantService.setStatus(params.id!, action === 'disable' ? 'disabled' : 'active', await actor(caller)) },
          };
        },
      }),
    ),
  ];
}
