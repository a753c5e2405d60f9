// /admin/v1/users — people and their roles; their set-up links, their console sessions, and what
// a change to them would do to keys.
import type { Context } from 'koa';
import type { SetupLinks } from '../identity/setup-links.ts';
import type { UserSessions } from '../identity/user-sessions.ts';
import type { UserService } from '../identity/users.ts';
import type { TenantStore } from '../stores/tenants.ts';
import { actorFor } from './actor.ts';
import type { AdminCaller } from './auth.ts';
import { route, type AdminRoute } from './router.ts';
import {
  CreateUserBody,
  EndedSessionsSchema,
  ErrorSchema,
  ListUsersQuery,
  SessionListSchema,
  SetupLinkSchema,
  UpdateUserBody,
  UserEnvelope,
  UserImpactQuery,
  UserImpactSchema,
  UserListSchema,
} from './schemas.ts';

const SCOPE = 'admin:users:write';
const notFound = { description: 'no such user in the caller’s tenants', schema: ErrorSchema };

const forbidden = { description: 'the user’s role (or a key of theirs) is stronger than the caller', schema: ErrorSchema };

export function userRoutes(deps: {
  userService: UserService;
  tenants: TenantStore;
  setupLinkService: SetupLinks;
  userSessions: UserSessions;
  /** The console's session cookie on a request (admin/session-auth.ts), when the console is served. */
  sessionIdOf?: (ctx: Context) => string | undefined;
}): AdminRoute[] {
  const { userService, tenants, setupLinkService, userSessions } = deps;
  /** The session cookie of a console caller (to mark or keep its own session), never a bearer caller's. */
  const ownSessionOf = (ctx: Context, caller: AdminCaller) => (caller.via === 'console' ? deps.sessionIdOf?.(ctx) : undefined);
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
    route({
      method: 'POST',
      path: '/users/{id}/setup-link',
      scope: SCOPE,
      summary: 'A new one-time set-up link for the user (24 hours; any earlier link stops working)',
      responses: { 201: { description: 'the link, shown once', schema: SetupLinkSchema }, 403: forbidden, 404: notFound },
      async handle(_ctx, { params, caller }) {
        const actor = await actorFor(caller, tenants);
        // Whoever gets the link sets the password and signs in as the user (identity/users.ts).
        const user = await userService.findForSetupLink(params.id!, actor);
        return { status: 201, body: { setup_link: await setupLinkService.issue(user, actor) } };
      },
    }),
    route({
      method: 'GET',
      path: '/users/{id}/impact',
      scope: SCOPE,
      summary: 'What deleting, disabling or (with ?role=) re-roling the user would do to keys',
      query: UserImpactQuery,
      responses: { 200: { description: 'the keys each change touches', schema: UserImpactSchema }, 404: notFound },
      async handle(_ctx, { params, query, caller }) {
        return { status: 200, body: { impact: await userService.impact(params.id!, await actorFor(caller, tenants), query.role) } };
      },
    }),
    route({
      method: 'GET',
      path: '/users/{id}/sessions',
      scope: SCOPE,
      summary: 'The user’s live console sessions',
      responses: { 200: { description: 'sessions, most recently used first', schema: SessionListSchema }, 404: notFound },
      async handle(ctx, { params, caller }) {
        return { status: 200, body: { data: await userSessions.listOf(params.id!, await actorFor(caller, tenants), ownSessionOf(ctx, caller)) } };
      },
    }),
    route({
      method: 'DELETE',
      path: '/users/{id}/sessions',
      scope: SCOPE,
      summary: 'End every console session of the user (the caller’s own current one excepted)',
      responses: { 200: { description: 'how many ended', schema: EndedSessionsSchema }, 403: forbidden, 404: notFound },
      async handle(ctx, { params, caller }) {
        const ended = await userSessions.endOf(params.id!, { all: true }, await actorFor(caller, tenants), ownSessionOf(ctx, caller));
        return { status: 200, body: { ended } };
      },
    }),
    route({
      method: 'DELETE',
      path: '/users/{id}/sessions/{handle}',
      scope: SCOPE,
      summary: 'End one console session of the user',
      responses: { 204: { description: 'ended' }, 403: forbidden, 404: { description: 'no such user or session', schema: ErrorSchema } },
      async handle(_ctx, { params, caller }) {
        await userSessions.endOf(params.id!, { handle: params.handle! }, await actorFor(caller, tenants));
        return { status: 204 };
      },
    }),
  ];
}
