// Webhook endpoints of a tenant: create, list, show, change, rotate the signing secret, disable,
// enable, delete; the delivery log and manual redelivery. No HTTP in here: the admin API and the
// CLI both call it. The rules are the admin API's everywhere else: an endpoint belongs to one of
// the caller's tenants (it then receives the events of that tenant and every tenant below it), a
// caller subscribes only to events it could read itself (keys/events.ts), and manages only
// endpoints whose subscriptions it could have made. Every change is audited in its transaction.
import { z } from 'zod';
import { decryptWebhookSecret, encryptWebhookSecret, generateWebhookSecret } from '../crypto/webhook-secret.ts';
import type { PepperRing } from '../crypto/secret-hash.ts';
import { isUuid } from '../identity/ids.ts';
import { auditedChange, type Actor, type AuditedChangeDeps } from '../keys/audited-change.ts';
import { holdsScope } from '../keys/authority.ts';
import { EVENT_TYPES, scopeToReceive, type EventType } from '../keys/events.ts';
import { fieldChanges } from '../keys/field-changes.ts';
import { KeygateError, type FieldError, failOnFieldErrors } from '../shared/errors.ts';
import type { Network } from '../shared/network.ts';
import { parseInput } from '../shared/validation.ts';
import type { WebhookAttempt, WebhookDelivery, WebhookEndpoint, WebhookStore } from '../stores/webhooks.ts';
import { refusalOfUrl, resolveTarget, TargetRefused } from './outbound-target.ts';

export const NewWebhookSchema = z
  .object({
    tenant_id: z.string().optional(),
    url: z.string().min(1).max(2048),
    description: z.string().max(1024).nullable().optional(),
    event_types: z.array(z.enum(EVENT_TYPES)).min(1).max(EVENT_TYPES.length),
  })
  .strict();
export type NewWebhook = z.infer<typeof NewWebhookSchema>;

export const WebhookChangeSchema = z
  .object({
    url: z.string().min(1).max(2048).optional(),
    description: z.string().max(1024).nullable().optional(),
    event_types: z.array(z.enum(EVENT_TYPES)).min(1).max(EVENT_TYPES.length).optional(),
  })
  .strict();
export type WebhookChange = z.infer<typeof WebhookChangeSchema>;

export interface WebhookView {
  id: string;
  tenant_id: string;
  url: string;
  description: string | null;
  event_types: string[];
  status: 'active' | 'disabled';
  disabled_reason: string | null;
  consecutive_failures: number;
  failing_since: string | null;
  created_at: string;
  updated_at: string;
}

export interface DeliveryView {
  id: string;
  event_id: string;
  type: string;
  status: 'pending' | 'delivered' | 'failed';
  attempts: number;
  next_attempt_at: string | null;
  delivered_at: string | null;
  created_at: string;
  attempt_log: { at: string; status_code: number | null; latency_ms: number; error: string | null; response_excerpt: string | null }[];
}

export const toWebhookView = (e: WebhookEndpoint): WebhookView => ({
  id: e.id,
  tenant_id: e.tenant_id,
  url: e.url,
  description: e.description,
  event_types: e.event_types,
  status: e.status,
  disabled_reason: e.disabled_reason,
  consecutive_failures: e.consecutive_failures,
  failing_since: e.failing_since?.toISOString() ?? null,
  created_at: e.created_at.toISOString(),
  updated_at: new Date(e.updated_at).toISOString(),
});

const toDeliveryView = (d: WebhookDelivery & { attempt_log: WebhookAttempt[] }): DeliveryView => ({
  id: d.id,
  event_id: d.event_id,
  type: d.type,
  status: d.status,
  attempts: d.attempts,
  next_attempt_at: d.status === 'pending' ? new Date(d.next_attempt_at).toISOString() : null,
  delivered_at: d.delivered_at?.toISOString() ?? null,
  created_at: d.created_at.toISOString(),
  attempt_log: d.attempt_log.map((a) => ({
    at: a.at.toISOString(),
    status_code: a.status_code,
    latency_ms: a.latency_ms,
    error: a.error,
    response_excerpt: a.response_excerpt,
  })),
});

/** The URL as audit records show it: no query string, which may carry a receiver's token. */
const auditedUrl = (url: string) => {
  const parsed = new URL(url);
  return `${parsed.origin}${parsed.pathname}`;
};

export interface WebhookServiceDeps extends AuditedChangeDeps {
  webhooks: WebhookStore;
  pepperRing: PepperRing;
  allowedNetworks: readonly Network[];
  retryWindowSeconds: number;
}

export function createWebhookService(deps: WebhookServiceDeps) {
  /** User keys never manage webhooks: an endpoint carries the events of every user of its tenant. */
  function assertNotUserKey(actor: Actor): void {
    if (actor.onlyUserId !== undefined) throw new KeygateError('forbidden', 'user keys cannot manage webhooks');
  }

  function refusalsToSubscribe(actor: Actor, types: readonly EventType[]): FieldError[] {
    if (!actor.authority) return [];
    return types
      .filter((type) => !holdsScope(actor.authority!.scopes, scopeToReceive(type)))
      .map((type) => ({ field: 'event_types', message: `'${type}' needs the '${scopeToReceive(type)}' scope, which this caller lacks` }));
  }

  async function checkedUrl(url: string): Promise<FieldError[]> {
    const refusal = refusalOfUrl(url);
    if (refusal) return [{ field: 'url', message: refusal }];
    try {
      await resolveTarget(url, deps.allowedNetworks);
      return [];
    } catch (error) {
      if (error instanceof TargetRefused) return [{ field: 'url', message: error.message }];
      throw error;
    }
  }

  async function requireEndpoint(id: string, actor: Actor): Promise<WebhookEndpoint> {
    assertNotUserKey(actor);
    const endpoint = isUuid(id) ? await deps.webhooks.findEndpoint(id) : undefined;
    if (!endpoint || (actor.tenantIds && !actor.tenantIds.includes(endpoint.tenant_id))) throw new KeygateError('not_found', 'no such webhook');
    return endpoint;
  }

  /** requireEndpoint, and the caller could have made its subscriptions itself: 403 if not. */
  async function requireManageableEndpoint(id: string, actor: Actor): Promise<WebhookEndpoint> {
    const endpoint = await requireEndpoint(id, actor);
    const refusals = refusalsToSubscribe(actor, endpoint.event_types as EventType[]);
    if (refusals.length > 0) throw new KeygateError('forbidden', `the webhook receives events this caller may not read: ${refusals[0]!.message}`);
    return endpoint;
  }

  /** A change to an endpoint (through the transaction's store) and its audit record. */
  function change<T>(
    actor: Actor,
    action: string,
    endpoint: Pick<WebhookEndpoint, 'id' | 'tenant_id'>,
    details: Record<string, unknown>,
    work: (webhooks: WebhookStore) => Promise<T>,
  ) {
    return auditedChange(deps, actor, async (tx, record) => {
      const result = await work(tx.webhooks);
      await record({ action, tenantId: endpoint.tenant_id, details: { webhook_id: endpoint.id, ...details } });
      return result;
    });
  }

  return {
    /** The new endpoint and its signing secret, shown this once. */
    async create(input: NewWebhook, actor: Actor, defaultTenantId?: string): Promise<{ webhook: WebhookView; secret: string }> {
      assertNotUserKey(actor);
      const body = parseInput(NewWebhookSchema, input);
      const tenantId = body.tenant_id ?? defaultTenantId;
      const errors: FieldError[] = [];
      if (!tenantId || !isUuid(tenantId) || (actor.tenantIds && !actor.tenantIds.includes(tenantId))) {
        errors.push({ field: 'tenant_id', message: 'no such tenant' });
      }
      const types = [...new Set(body.event_types)];
      errors.push(...refusalsToSubscribe(actor, types), ...(await checkedUrl(body.url)));
      failOnFieldErrors(errors);
      const secret = generateWebhookSecret();
      return auditedChange(deps, actor, async (tx, record) => {
        if (!(await tx.tenants.findById(tenantId!))) failOnFieldErrors([{ field: 'tenant_id', message: 'no such tenant' }]);
        const endpoint = await tx.webhooks.insertEndpoint({
          tenant_id: tenantId!,
          url: body.url,
          description: body.description ?? null,
          event_types: types,
          secret_encrypted: encryptWebhookSecret(deps.pepperRing, secret),
          created_by_key_id: actor.keyId,
        });
        await record({
          action: 'webhook.create',
          tenantId: endpoint.tenant_id,
          details: { webhook_id: endpoint.id, url: auditedUrl(endpoint.url), event_types: types },
        });
        return { webhook: toWebhookView(endpoint), secret };
      });
    },

    async list(actor: Actor, tenantIds: readonly string[]): Promise<WebhookView[]> {
      assertNotUserKey(actor);
      return (await deps.webhooks.listEndpoints(tenantIds)).map(toWebhookView);
    },

    async show(id: string, actor: Actor): Promise<WebhookView> {
      return toWebhookView(await requireEndpoint(id, actor));
    },

    async update(id: string, input: WebhookChange, actor: Actor): Promise<WebhookView> {
      const patch = parseInput(WebhookChangeSchema, input);
      const endpoint = await requireManageableEndpoint(id, actor);
      const types = patch.event_types && [...new Set(patch.event_types)];
      failOnFieldErrors([...refusalsToSubscribe(actor, types ?? []), ...(patch.url === undefined ? [] : await checkedUrl(patch.url))]);
      // The URL as the log may hold it (auditedUrl), before and after.
      const before = { url: auditedUrl(endpoint.url), description: endpoint.description, event_types: endpoint.event_types };
      const after = {
        url: patch.url === undefined ? before.url : auditedUrl(patch.url),
        description: 'description' in patch ? (patch.description ?? null) : before.description,
        event_types: types ?? before.event_types,
      };
      const details = {
        fields: Object.keys(patch),
        changes: fieldChanges(before, after, ['url', 'description', 'event_types']),
        ...(patch.url === undefined ? {} : { url: auditedUrl(patch.url) }),
        ...(types ? { event_types: types } : {}),
      };
      const updated = await change(actor, 'webhook.update', endpoint, details, (webhooks) =>
        webhooks.updateEndpoint(id, {
          ...(patch.url === undefined ? {} : { url: patch.url }),
          ...('description' in patch ? { description: patch.description ?? null } : {}),
          ...(types ? { event_types: types } : {}),
        }),
      );
      if (!updated) throw new KeygateError('not_found', 'no such webhook');
      return toWebhookView(updated);
    },

    /** A new signing secret, shown once; the old one stops signing at once. */
    async rotateSecret(id: string, actor: Actor): Promise<{ webhook: WebhookView; secret: string }> {
      const endpoint = await requireManageableEndpoint(id, actor);
      const secret = generateWebhookSecret();
      const updated = await change(actor, 'webhook.rotate_secret', endpoint, {}, (webhooks) =>
        webhooks.updateEndpoint(id, { secret_encrypted: encryptWebhookSecret(deps.pepperRing, secret) }),
      );
      if (!updated) throw new KeygateError('not_found', 'no such webhook');
      return { webhook: toWebhookView(updated), secret };
    },

    async setStatus(id: string, status: 'active' | 'disabled', actor: Actor): Promise<WebhookView> {
      const endpoint = await requireManageableEndpoint(id, actor);
      const action = status === 'disabled' ? 'webhook.disable' : 'webhook.enable';
      const details = status === 'disabled' ? { reason: 'by_admin' } : {};
      const updated = await change(actor, action, endpoint, details, (webhooks) =>
        webhooks.setEndpointStatus(id, status, status === 'disabled' ? 'by_admin' : null),
      );
      if (!updated) throw new KeygateError('not_found', 'no such webhook');
      return toWebhookView(updated);
    },

    async delete(id: string, actor: Actor): Promise<void> {
      const endpoint = await requireManageableEndpoint(id, actor);
      await change(actor, 'webhook.delete', endpoint, {}, (webhooks) => webhooks.deleteEndpoint(id));
    },

    /** The newest deliveries, each with every attempt: status, latency, an excerpt of the answer. */
    async deliveries(id: string, actor: Actor, limit = 50): Promise<DeliveryView[]> {
      const endpoint = await requireEndpoint(id, actor);
      return (await deps.webhooks.listDeliveries(endpoint.id, limit)).map(toDeliveryView);
    },

    /** Sends a delivery again (same event id, same body), with a fresh retry window. */
    async redeliver(id: string, deliveryId: string, actor: Actor): Promise<DeliveryView> {
      const endpoint = await requireManageableEndpoint(id, actor);
      const delivery = isUuid(deliveryId) ? await deps.webhooks.findDelivery(endpoint.id, deliveryId) : undefined;
      if (!delivery) throw new KeygateError('not_found', 'no such delivery');
      const retryUntil = new Date(Date.now() + deps.retryWindowSeconds * 1000);
      await change(actor, 'webhook.redeliver', endpoint, { delivery_id: delivery.id, event_id: delivery.event_id }, (webhooks) =>
        webhooks.redeliver(delivery.id, retryUntil),
      );
      const [found] = (await deps.webhooks.listDeliveries(endpoint.id, 1000)).filter((d) => d.id === delivery.id);
      return toDeliveryView(found!);
    },

    /** The signing secret in clear, for the delivery worker only. */
    secretOf: (endpoint: Pick<WebhookEndpoint, 'secret_encrypted'>) => decryptWebhookSecret(deps.pepperRing, endpoint.secret_encrypted),
  };
}

export type WebhookService = ReturnType<typeof createWebhookService>;
