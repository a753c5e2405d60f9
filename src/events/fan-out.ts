// Events in the outbox → one delivery per subscribed endpoint. An endpoint receives the events of
// its own tenant and of every tenant below it, of the types it subscribed to. The body is built
// here once (Standard Webhooks' `type`, `timestamp`, `data`, plus the event's `id`) so every
// attempt sends the same bytes. Claiming the events, writing their deliveries and removing them
// from the outbox is one transaction: a replica that dies in the middle leaves them for another.
import type { Transact } from '../keys/audited-change.ts';
import { WEBHOOKS_DESTINATION } from '../stores/outbox.ts';

const BATCH = 200;

export function createFanOut(deps: { transact: Transact; retryWindowSeconds: number }) {
  return {
    /** Fans out up to one batch of events; returns how many it took. */
    async once(): Promise<number> {
      return deps.transact(async (tx) => {
        const events = await tx.outbox.lockDue(WEBHOOKS_DESTINATION, BATCH);
        if (events.length === 0) return 0;
        const paths = new Map<string, string[]>();
        for (const tenantId of new Set(events.map((e) => e.tenant_id).filter((id): id is string => id !== null))) {
          const tenant = await tx.tenants.findById(tenantId);
          paths.set(tenantId, tenant ? [...tenant.ancestors, tenant.id] : []);
        }
        const endpoints = await tx.webhooks.activeEndpointsOf([...new Set([...paths.values()].flat())]);
        const retryUntil = new Date(Date.now() + deps.retryWindowSeconds * 1000);
        const deliveries = events.flatMap((event) => {
          const path = event.tenant_id ? (paths.get(event.tenant_id) ?? []) : [];
          const body = JSON.stringify({ id: event.event_id, type: event.type, timestamp: event.created_at.toISOString(), data: event.payload });
          return (
            endpoints
              // An endpoint hears what happens once it exists, nothing raised before it.
              .filter((endpoint) => path.includes(endpoint.tenant_id) && endpoint.event_types.includes(event.type) && endpoint.created_at <= event.created_at)
              .map((endpoint) => ({ endpoint_id: endpoint.id, event_id: event.event_id, type: event.type, body, retry_until: retryUntil }))
          );
        });
        await tx.webhooks.insertDeliveries(deliveries);
        await tx.outbox.remove(events.map((e) => e.id));
        return events.length;
      });
    },
  };
}
