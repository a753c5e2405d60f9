// /admin/v1/webhooks — a tenant's webhook endpoints, their delivery log and manual redelivery.
// Webhooks are tenant configuration that sends the tenant's events out of Keygate, so managing
// them takes the tenant-admin scope (which user keys never hold); which events an endpoint may
// receive is bounded further by the caller's own scopes (events/webhooks.ts).
import { NewWebhookSchema, WebhookChangeSchema, type WebhookService } from '../events/webhooks.ts';
import type { TenantStore } from '../stores/tenants.ts';
import { actorFor } from './actor.ts';
import { route, type AdminRoute } from './router.ts';
import { DeliveryEnvelope, DeliveryListSchema, DeliveryQuery, ErrorSchema, WebhookEnvelope, WebhookListSchema, WebhookWithSecret } from './schemas.ts';

export const WEBHOOK_SCOPE = 'admin:tenants:write';
const notFound = { description: 'no such webhook among the caller’s tenants', schema: ErrorSchema };
const CreateWebhookBody = NewWebhookSchema.meta({ id: 'CreateWebhook' });
const UpdateWebhookBody = WebhookChangeSchema.meta({ id: 'UpdateWebhook' });

export function webhookRoutes(deps: { webhookService: WebhookService; tenants: TenantStore }): AdminRoute[] {
  const { webhookService: service, tenants } = deps;
  const actor = (caller: Parameters<typeof actorFor>[0]) => actorFor(caller, tenants);
  return [
    route({
      method: 'POST',
      path: '/webhooks',
      scope: WEBHOOK_SCOPE,
      summary: 'Create a webhook endpoint (for the caller’s tenant unless tenant_id names one below it); the signing secret is shown once',
      body: CreateWebhookBody,
      responses: { 201: { description: 'created', schema: WebhookWithSecret }, 400: { description: 'validation failed', schema: ErrorSchema } },
      async handle(_ctx, { body, caller }) {
        return { status: 201, body: await service.create(body, await actor(caller), caller.tenantId) };
      },
    }),
    route({
      method: 'GET',
      path: '/webhooks',
      scope: WEBHOOK_SCOPE,
      summary: 'Webhook endpoints of the caller’s tenant and the tenants below it',
      responses: { 200: { description: 'endpoints', schema: WebhookListSchema } },
      async handle(_ctx, { caller }) {
        const acting = await actor(caller);
        return { status: 200, body: { data: await service.list(acting, acting.tenantIds ?? []) } };
      },
    }),
    route({
      method: 'GET',
      path: '/webhooks/{id}',
      scope: WEBHOOK_SCOPE,
      summary: 'Show a webhook endpoint (never its secret)',
      responses: { 200: { description: 'the endpoint', schema: WebhookEnvelope }, 404: notFound },
      async handle(_ctx, { params, caller }) {
        return { status: 200, body: { webhook: await service.show(params.id!, await actor(caller)) } };
      },
    }),
    route({
      method: 'PATCH',
      path: '/webhooks/{id}',
      scope: WEBHOOK_SCOPE,
      summary: 'Change a webhook endpoint’s URL, description or event types',
      body: UpdateWebhookBody,
      responses: {
        200: { description: 'the endpoint', schema: WebhookEnvelope },
        400: { description: 'validation failed', schema: ErrorSchema },
        404: notFound,
      },
      async handle(_ctx, { params, body, caller }) {
        return { status: 200, body: { webhook: await service.update(params.id!, body, await actor(caller)) } };
      },
    }),
    route({
      method: 'DELETE',
      path: '/webhooks/{id}',
      scope: WEBHOOK_SCOPE,
      summary: 'Delete a webhook endpoint and its delivery log',
      responses: { 204: { description: 'deleted' }, 404: notFound },
      async handle(_ctx, { params, caller }) {
        await service.delete(params.id!, await actor(caller));
        return { status: 204 };
      },
    }),
    route({
      method: 'POST',
      path: '/webhooks/{id}/rotate-secret',
      scope: WEBHOOK_SCOPE,
      summary: 'Replace the signing secret; the new one is shown once',
      responses: { 200: { description: 'the endpoint and its new secret', schema: WebhookWithSecret }, 404: notFound },
      async handle(_ctx, { params, caller }) {
        return { status: 200, body: await service.rotateSecret(params.id!, await actor(caller)) };
      },
    }),
    ...(['disable', 'enable'] as const).map((action) =>
      route({
        method: 'POST',
        path: `/webhooks/{id}/${action}`,
        scope: WEBHOOK_SCOPE,
        summary: action === 'disable' ? 'Disable a webhook endpoint: deliveries wait' : 'Enable a webhook endpoint: waiting deliveries are sent',
        responses: { 200: { description: 'the endpoint', schema: WebhookEnvelope }, 404: notFound },
        async handle(_ctx, { params, caller }) {
          return { status: 200, body: { webhook: await service.setStatus(params.id!, action === 'disable' ? 'disabled' : 'active', await actor(caller)) } };
        },
      }),
    ),
    route({
      method: 'GET',
      path: '/webhooks/{id}/deliveries',
      scope: WEBHOOK_SCOPE,
      summary: 'The delivery log, newest first: every attempt’s status, latency and an excerpt of the answer',
      query: DeliveryQuery,
      responses: { 200: { description: 'deliveries', schema: DeliveryListSchema }, 404: notFound },
      async handle(_ctx, { params, query, caller }) {
        const limit = query.limit === undefined ? 50 : Math.min(200, Math.max(1, Number(query.limit)));
        return { status: 200, body: { data: await service.deliveries(params.id!, await actor(caller), limit) } };
      },
    }),
    route({
      method: 'POST',
      path: '/webhooks/{id}/deliveries/{delivery_id}/redeliver',
      scope: WEBHOOK_SCOPE,
      summary: 'Send a delivery again, with the same event id and body',
      responses: { 202: { description: 'queued', schema: DeliveryEnvelope }, 404: { description: 'no such webhook or delivery', schema: ErrorSchema } },
      async handle(_ctx, { params, caller }) {
        return { status: 202, body: { delivery: await service.redeliver(params.id!, params.delivery_id!, await actor(caller)) } };
      },
    }),
  ];
}
