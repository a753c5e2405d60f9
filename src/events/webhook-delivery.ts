// Sends due webhook deliveries. A delivery is leased to this replica for the length of one
// attempt and a margin; if the replica dies, the lease runs out and another replica sends it
// again, with the same `webhook-id`: receivers deduplicate on it. A failed attempt is retried with
// exponential backoff and jitter until the retry window closes; an endpoint failing without a
// success for long enough is disabled, with an audit record and a `webhook.disabled` event.
import type { Logger } from 'pino';
import { signWebhook } from '../crypto/webhook-secret.ts';
import { auditedChange, type AuditedChangeDeps } from '../keys/audited-change.ts';
import type { EventMetrics } from '../shared/metrics.ts';
import type { Network } from '../shared/network.ts';
import type { LeasedDelivery, WebhookStore } from '../stores/webhooks.ts';
import { retryDelayMs, type Backoff } from './backoff.ts';
import { resolveTarget, TargetRefused } from './outbound-target.ts';
import { postTo, succeeded, type PostResult } from './post.ts';

const BATCH = 20;

export interface WebhookDeliveryDeps extends AuditedChangeDeps {
  webhooks: WebhookStore;
  secretOf(endpoint: Pick<LeasedDelivery, 'secret_encrypted'>): string;
  allowedNetworks: readonly Network[];
  timeoutMs: number;
  leaseSeconds: number;
  backoff: Backoff;
  disableAfterFailures: number;
  disableAfterSeconds: number;
  metrics: EventMetrics;
  log: Logger;
}

export function createWebhookDelivery(deps: WebhookDeliveryDeps) {
  async function attempt(delivery: LeasedDelivery, secret: string): Promise<PostResult> {
    try {
      // Checked again now, and the connection goes to the address checked (DNS rebinding).
      const target = await resolveTarget(delivery.url, deps.allowedNetworks);
      const headers = { 'content-type': 'application/json', ...signWebhook(secret, delivery.event_id, Math.floor(Date.now() / 1000), delivery.body) };
      return await postTo(target, headers, delivery.body, deps.timeoutMs);
    } catch (error) {
      const refused = error instanceof TargetRefused;
      deps.metrics.webhookFailures.inc({ kind: refused ? 'refused' : 'network' });
      return { status: null, latencyMs: 0, error: refused ? `refused: ${error.message}` : (error as Error).message, excerpt: null };
    }
  }

  async function disableForFailures(delivery: LeasedDelivery, run: { consecutive_failures: number; failing_since: Date | null }) {
    await auditedChange(deps, { keyId: null, userId: null, via: 'delivery' }, async (tx, record) => {
      const disabled = await tx.webhooks.disableIfActive(delivery.endpoint_id, 'sustained_failure');
      if (!disabled) return; // another replica got there first
      deps.metrics.webhooksDisabled.inc();
      deps.log.warn({ webhookId: delivery.endpoint_id, failures: run.consecutive_failures }, 'webhook endpoint disabled after sustained failure');
      await record({
        action: 'webhook.disable',
        tenantId: delivery.tenant_id,
        details: {
          webhook_id: delivery.endpoint_id,
          reason: 'sustained_failure',
          consecutive_failures: run.consecutive_failures,
          failing_since: run.failing_since?.toISOString() ?? null,
        },
      });
    });
  }

  /** The signing secret, or undefined when this replica cannot read it (its pepper lacks the version). */
  function secretFor(delivery: LeasedDelivery): string | undefined {
    try {
      return deps.secretOf(delivery);
    } catch (error) {
      deps.log.error(
        { err: error, webhookId: delivery.endpoint_id },
        'cannot read the webhook signing secret: is KEYGATE_SECRET_PEPPER the same on every replica?',
      );
      return undefined;
    }
  }

  async function deliver(delivery: LeasedDelivery): Promise<void> {
    const secret = secretFor(delivery);
    if (secret === undefined) {
      // This replica's fault, not the receiver's: nothing is sent or counted against the endpoint,
      // and the delivery goes back for a replica that can sign it.
      await deps.webhooks.releaseFailed(delivery.id, { retryAt: new Date(Date.now() + retryDelayMs(deps.backoff, 1)) });
      return;
    }
    const result = await attempt(delivery, secret);
    const ok = succeeded(result);
    deps.metrics.webhookDuration.observe({ outcome: ok ? 'delivered' : 'failed' }, result.latencyMs / 1000);
    if (!ok && result.status !== null) deps.metrics.webhookFailures.inc({ kind: 'status' });
    else if (!ok && !result.error?.startsWith('refused:')) deps.metrics.webhookFailures.inc({ kind: 'network' });
    await deps.webhooks.recordAttempt({
      delivery_id: delivery.id,
      status_code: result.status,
      latency_ms: result.latencyMs,
      error: result.error,
      response_excerpt: result.excerpt,
    });
    if (ok) {
      await deps.webhooks.markDelivered(delivery.id, delivery.endpoint_id);
      return;
    }
    // The endpoint is disabled, if it must be, before the delivery is given back: no replica may
    // take it for another attempt in between.
    const run = await deps.webhooks.countFailure(delivery.endpoint_id);
    const failingFor = run.failing_since ? Date.now() - run.failing_since.getTime() : 0;
    if (run.consecutive_failures >= deps.disableAfterFailures && failingFor >= deps.disableAfterSeconds * 1000) await disableForFailures(delivery, run);
    const retryAt = new Date(Date.now() + retryDelayMs(deps.backoff, delivery.attempts));
    await deps.webhooks.releaseFailed(delivery.id, retryAt > delivery.retry_until ? 'give_up' : { retryAt });
  }

  return {
    /** Sends up to one batch of due deliveries, in parallel; returns how many it took. */
    async once(): Promise<number> {
      const leased = await deps.webhooks.leaseDue(BATCH, deps.leaseSeconds);
      await Promise.all(
        leased.map((delivery) =>
          deliver(delivery).catch((error: unknown) => deps.log.error({ err: error, deliveryId: delivery.id }, 'webhook delivery failed')),
        ),
      );
      return leased.length;
    },
  };
}
