// /admin/v1/keys — the key endpoints, each an ordered list of named steps.
import type { KeyService } from '../keys/service.ts';
import type { TenantStore } from '../stores/tenants.ts';
import { durationSeconds } from '../shared/duration.ts';
import { usageSeries } from '../keys/usage-report.ts';
import type { KeyActivityStore } from '../stores/key-activity.ts';
import { actorFor } from './actor.ts';
import { route, type AdminRoute } from './router.ts';
import {
  CreatedKeySchema,
  CreateKeyBody,
  ErrorSchema,
  KeyEnvelope,
  KeyListSchema,
  KeyUsageQuery,
  KeyUsageSchema,
  ListKeysQuery,
  RevokedTokensSchema,
  RotatedKeySchema,
  RotateKeyBody,
  UpdateKeyBody,
} from './schemas.ts';

const READ = 'admin:keys:read';
const WRITE = 'admin:keys:write';
const invalid = { description: 'validation failed: `details` names each field', schema: ErrorSchema };
const notFound = { description: 'no such key in the tenants this caller may see', schema: ErrorSchema };

export function keyRoutes(deps: { keyService: KeyService; tenants: TenantStore; activityStore: Pick<KeyActivityStore, 'read'> }): AdminRoute[] {
  const { keyService, tenants } = deps;
  return [
    route({
      method: 'POST',
      path: '/keys',
      scope: WRITE,
      summary: 'Create a key; the secret is returned only here',
      body: CreateKeyBody,
      responses: { 201: { description: 'created', schema: CreatedKeySchema }, 400: invalid },
      async handle(_ctx, { body, caller }) {
        const created = await keyService.create({ ...body, tenant_id: body.tenant_id ?? caller.tenantId }, await actorFor(caller, tenants));
        return { status: 201, body: created };
      },
    }),
    route({
      method: 'GET',
      path: '/keys',
      scope: READ,
      summary: 'List keys: sorted, searched and filtered, a page at a time, with counts over every visible key',
      query: ListKeysQuery,
      responses: { 200: { description: 'a page of keys', schema: KeyListSchema }, 400: invalid },
      async handle(_ctx, { query, caller }) {
        const page = await keyService.list(
          {
            tenantIds: query.tenant_id ? [query.tenant_id] : undefined,
            status: query.status ?? (query.expired === 'true' ? 'expired' : undefined),
            notExpired: query.expired === 'false',
            q: query.q,
            kind: query.kind,
            userId: query.user_id,
            expiringWithinSeconds: query.expiring_within === undefined ? undefined : durationSeconds(query.expiring_within)!,
          },
          { sort: query.sort, cursor: query.cursor, limit: query.limit === undefined ? undefined : Math.min(200, Math.max(1, Number(query.limit))) },
          await actorFor(caller, tenants),
        );
        return { status: 200, body: page };
      },
    }),
    route({
      method: 'GET',
      path: '/keys/{id}',
      scope: READ,
      summary: 'Show one key',
      responses: { 200: { description: 'the key', schema: KeyEnvelope }, 404: notFound },
      async handle(_ctx, { params, caller }) {
        return { status: 200, body: { key: await keyService.show(params.id!, await actorFor(caller, tenants)) } };
      },
    }),
    route({
      method: 'GET',
      path: '/keys/{id}/usage',
      scope: READ,
      summary: 'A key’s tokens issued, refused (by reason) and introspected, per hour (24h) or per day (7d, 30d)',
      query: KeyUsageQuery,
      responses: { 200: { description: 'the series, oldest bucket first', schema: KeyUsageSchema }, 400: invalid, 404: notFound },
      async handle(_ctx, { params, query, caller }) {
        const key = await keyService.show(params.id!, await actorFor(caller, tenants));
        return { status: 200, body: await usageSeries(deps.activityStore, key.client_id, query.window ?? '24h', new Date()) };
      },
    }),
    route({
      method: 'PATCH',
      path: '/keys/{id}',
      scope: WRITE,
      summary: 'Change name, description, scopes, networks, expiry, token TTL or rate limit; narrowing drops live tokens',
      body: UpdateKeyBody,
      responses: { 200: { description: 'the updated key', schema: KeyEnvelope }, 400: invalid, 404: notFound },
      async handle(_ctx, { params, body, caller }) {
        return { status: 200, body: { key: await keyService.update(params.id!, body, await actorFor(caller, tenants)) } };
      },
    }),
    route({
      method: 'POST',
      path: '/keys/{id}/rotate',
      scope: WRITE,
      summary: 'Issue a new secret; the old one works for grace_seconds more',
      body: RotateKeyBody,
      responses: { 200: { description: 'the new secret, shown once', schema: RotatedKeySchema }, 400: invalid, 404: notFound },
      async handle(_ctx, { params, body, caller }) {
        return { status: 200, body: await keyService.rotate(params.id!, body.grace_seconds, await actorFor(caller, tenants)) };
      },
    }),
    ...(['disable', 'enable'] as const).map((action) =>
      route({
        method: 'POST',
        path: `/keys/{id}/${action}`,
        scope: WRITE,
        summary: action === 'disable' ? 'Disable a key; its live tokens are dropped at once' : 'Enable a disabled key',
        responses: { 200: { description: 'the key', schema: KeyEnvelope }, 404: notFound },
        async handle(_ctx, { params, caller }) {
          const key = await keyService.setStatus(params.id!, action === 'disable' ? 'disabled' : 'active', await actorFor(caller, tenants));
          return { status: 200, body: { key } };
        },
      }),
    ),
    route({
      method: 'POST',
      path: '/keys/{id}/revoke-tokens',
      scope: WRITE,
      summary: 'Drop every live token of a key',
      responses: { 200: { description: 'how many tokens were dropped', schema: RevokedTokensSchema }, 404: notFound },
      async handle(_ctx, { params, caller }) {
        return { status: 200, body: { revoked_tokens: await keyService.revokeTokens(params.id!, await actorFor(caller, tenants)) } };
      },
    }),
    route({
      method: 'DELETE',
      path: '/keys/{id}',
      scope: WRITE,
      summary: 'Delete a key and drop its live tokens',
      responses: { 204: { description: 'deleted' }, 404: notFound },
      async handle(_ctx, { params, caller }) {
        await keyService.delete(params.id!, await actorFor(caller, tenants));
        return { status: 204 };
      },
    }),
  ];
}
