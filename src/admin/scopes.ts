// /admin/v1/scopes — the scope catalogue: read by whoever reads keys (a console offers its
// entries when a key is made), written with the tenant-policy right, from above.
import type { ScopeCatalogueService } from '../keys/scope-catalogue-service.ts';
import type { TenantStore } from '../stores/tenants.ts';
import { actorFor } from './actor.ts';
import type { AdminCaller } from './auth.ts';
import { route, type AdminRoute } from './router.ts';
import { CatalogueQuery, ErrorSchema, ScopeCatalogueSchema, ScopeResourceBody, ScopeResourceEnvelope } from './schemas.ts';

const READ = 'admin:keys:read';
const WRITE = 'admin:tenants:write';
const invalid = { description: 'validation failed: `details` names each field', schema: ErrorSchema };
const notFound = { description: 'no such tenant among the caller’s own and those below it (or, on DELETE, no such resource in it)', schema: ErrorSchema };
const setFromAbove = { description: 'a tenant’s catalogue is set by its parent (only a root tenant sets its own)', schema: ErrorSchema };

export function scopeRoutes(deps: { scopeCatalogueService: ScopeCatalogueService; tenants: TenantStore }): AdminRoute[] {
  const { scopeCatalogueService: catalogue, tenants } = deps;
  const actor = async (caller: AdminCaller) => ({ ...(await actorFor(caller, tenants)), tenantId: caller.tenantId });
  return [
    route({
      method: 'GET',
      path: '/scopes',
      scope: READ,
      summary: 'The scope catalogue of a tenant: its own resources and every one inherited from above',
      query: CatalogueQuery,
      responses: { 200: { description: 'resources by name', schema: ScopeCatalogueSchema }, 400: invalid, 404: notFound },
      async handle(_ctx, { query, caller }) {
        return { status: 200, body: { data: await catalogue.list(query.tenant_id, await actor(caller)) } };
      },
    }),
    route({
      method: 'PUT',
      path: '/scopes/{resource}',
      scope: WRITE,
      summary: 'Define or replace a resource and its actions; keys of the tenant and below then take new scopes only from the catalogue',
      query: CatalogueQuery,
      body: ScopeResourceBody,
      responses: {
        200: { description: 'the resource as stored', schema: ScopeResourceEnvelope },
        400: invalid,
        403: setFromAbove,
        404: notFound,
        409: { description: 'a tenant above already defines this resource', schema: ErrorSchema },
      },
      async handle(_ctx, { params, query, body, caller }) {
        return { status: 200, body: { resource: await catalogue.put(params.resource!, body, query.tenant_id, await actor(caller)) } };
      },
    }),
    route({
      method: 'DELETE',
      path: '/scopes/{resource}',
      scope: WRITE,
      summary: 'Remove a resource; keys that hold its scopes keep them',
      query: CatalogueQuery,
      responses: { 204: { description: 'removed' }, 400: invalid, 403: setFromAbove, 404: notFound },
      async handle(_ctx, { params, query, caller }) {
        await catalogue.remove(params.resource!, query.tenant_id, await actor(caller));
        return { status: 204 };
      },
    }),
  ];
}
