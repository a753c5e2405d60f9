// /admin/v1/users — people and their roles.
import type { UserService } from '../identity/users.ts';
import type { TenantStore } from '../stores/tenants.ts';
import { actorFor } from './actor.ts';
import { route, type AdminRoute } from './router.ts';
import { CreateUserBody, ErrorSchema, ListUsersQuery, UpdateUserBody, UserEnvelope, UserListSchema } from './schemas.ts';

const SCOPE = 'admin:users:write';
const notFound = { description: 'no such user in the caller’s tenants', schema: ErrorSchema };

export function userRoutes(deps: { userService: UserService; tenants: TenantStore }): AdminRoute[] {
  const { userService, tenants } = deps;
  return [
    route({
      method: 'POST',
      path: '/users',
      scope: SCOPE,
      summary: 'Create a user with a role',
      body: CreateUserBody,
      responses: {
        201: { description: 'created', schema: UserEnvelope },
        400: { description: 'validation failed', schema: ErrorSchema },
        409: { description: 'email taken in the tenant', schema: ErrorSchema },
      },
      async handle(_ctx, { body, caller }) {
        const user = await userService.create(
          { tenantId: body.tenant_id ?? caller.tenantId, email: body.email, name: body.name, role: body.role },
          await actorFor(caller, tenants),
        );
        return { status: 201, body: { user } };
      },
    }),
    route({
      method: 'GET',
      path: '/users',
      scope: SCOPE,
      summary: 'Users of the caller’s tenant (or of a child tenant)',
      query: ListUsersQuery,
      responses: { 200: { description: 'users', schema: UserListSchema } },
      async handle(_ctx, { query, caller }) {
        const actor = await actorFor(caller, tenants);
        const tenantIds = query.tenant_id ? actor.tenantIds!.filter((id) => id === query.tenant_id) : actor.tenantIds!;
        return { status: 200, body: { data: await userService.list(actor, tenantIds) } };
      },
    }),
    route({
      method: 'GET',
      path: '/users/{id}',
      scope: SCOPE,
      summary: 'Show a user',
      responses: { 200: { description: 'the user', schema: UserEnvelope }, 404: notFound },
      async handle(_ctx, { params, caller }) {
        return { status: 200, body: { user: await userService.show(params.id!, await actorFor(caller, tenants)) } };
      },
    }),
    route({
      method: 'PATCH',
      path: '/users/{id}',
      scope: SCOPE,
      summary: 'Change a user’s name or role',
      body: UpdateUserBody,
      responses: { 200: { description: 'the user', schema: UserEnvelope }, 404: notFound },
      async handle(_ctx, { params, body, caller }) {
        return { status: 200, body: { user: await userService.update(params.id!, body, await actorFor(caller, tenants)) } };
      },
    }),
    ...(['disable', 'enable'] as const).map((action) =>
      route({
        method: 'POST',
        path: `/users/{id}/${action}`,
        scope: SCOPE,
        summary: action === 'disable' ? 'Disable a user: their user keys and the keys they created stop' : 'Enable a user',
        responses: { 200: { description: 'the user', schema: UserEnvelope }, 404: notFound },
        async handle(_ctx, { params, caller }) {
          return {
            status: 200,
            body: { user: await userService.setStatus(params.id!, action === 'disable' ? 'disabled' : 'active', await actorFor(caller, tenants)) },
          };
        },
      }),
    ),
    route({
      method: 'POST',
      path: '/users/{id}/two-factor/reset',
      scope: SCOPE,
      summary: 'Turn a user’s two-factor sign-in off (a lost phone): they sign in with their password and enrol again',
      responses: { 200: { description: 'the user', schema: UserEnvelope }, 404: notFound },
      async handle(_ctx, { params, caller }) {
        return { status: 200, body: { user: await userService.resetTwoFactor(params.id!, await actorFor(caller, tenants)) } };
      },
    }),
    route({
      method: 'DELETE',
      path: '/users/{id}',
      scope: SCOPE,
      summary: 'Delete a user and their user keys',
      responses: { 204: { description: 'deleted' }, 404: notFound },
      async handle(_ctx, { params, caller }) {
        await userService.delete(params.id!, await actorFor(caller, tenants));
        return { status: 204 };
      },
    }),
  ];
}
