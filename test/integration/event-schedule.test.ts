// Scheduled events with shortened settings, on two replicas at once: expiry reminders (the
// tenant's own offsets, or the default), the expiry itself and the end of a rotation's grace each
// fire once, not before they are due, however many replicas look.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { adminClient, type AdminClient } from '../support/admin.ts';
import { waitFor } from '../support/processes.ts';
import { FAST_EVENTS, startHttpReceiver, verifiedEvent, type HttpReceiver } from '../support/receivers.ts';
import { startKeygate, type TestKeygate } from '../support/keygate.ts';

const DAY_MS = 86_400_000;
const SCHEDULED = ['key.expiring', 'key.expired', 'key.rotation_grace_ending'];

describe('scheduled events: reminders, expiry, grace ending — once across replicas', () => {
  let a: TestKeygate;
  let b: TestKeygate;
  let hook: HttpReceiver;

  beforeAll(async () => {
    [a, b] = await Promise.all([
      startKeygate({ tokenStore: 'redis', deliverEvents: true, env: FAST_EVENTS }),
      startKeygate({ tokenStore: 'redis', deliverEvents: true, env: FAST_EVENTS }),
    ]);
    hook = await startHttpReceiver();
  });
  afterAll(async () => {
    await a?.close();
    await b?.close();
    await hook?.close();
  });

  async function tenantWithHook(): Promise<{ id: string; admin: AdminClient; secret: string }> {
    const id = await a.newTenant();
    const admin = await adminClient(a, id);
    const created = await admin.post('/webhooks', { url: hook.url, event_types: SCHEDULED });
    expect(created.status, created.text).toBe(201);
    return { id, admin, secret: created.body.secret };
  }

  const eventsFor = (secret: string, clientId: string) =>
    hook.requests
      .filter((request) => JSON.parse(request.body).data.client_id === clientId)
      .map((request) => ({ event: verifiedEvent(secret, request), at: request.at }));

  /** Waits until the event arrived, then lets several more scheduler rounds pass on both replicas. */
  async function settle(secret: string, clientId: string, count: number) {
    await waitFor(async () => eventsFor(secret, clientId).length >= count, 20_000, `${count} events for ${clientId}`);
    await waitFor(async () => (await a.runtime.outbox.depth()).every((d) => d.destination !== 'webhooks' || d.count === 0), 5000, 'an empty outbox');
    await new Promise((resolve) => setTimeout(resolve, 20 * Number(FAST_EVENTS.KEYGATE_EVENTS_POLL_MS)));
    return eventsFor(secret, clientId);
  }

  it('fires the tenant’s own reminder offset once, at its due time, not before', async () => {
    const tenant = await tenantWithHook();
    const set = await tenant.admin.patch(`/tenants/${tenant.id}`, { expiry_reminder_days: [1] });
    expect(set.status, set.text).toBe(200);
    expect(set.body.tenant.expiry_reminder_days).toEqual([1]);
    const expiresAt = new Date(Date.now() + DAY_MS + 2_000);
    const key = (await tenant.admin.post('/keys', { name: 'expires tomorrow', scopes: ['devices:read'], expires_at: expiresAt.toISOString() })).body;
    const dueAt = expiresAt.getTime() - DAY_MS;
    const events = await settle(tenant.secret, key.key.client_id, 1);
    expect(events).toHaveLength(1);
    expect(events[0]!.event).toMatchObject({ type: 'key.expiring', data: { client_id: key.key.client_id, days_before: 1, expires_at: key.key.expires_at } });
    expect(events[0]!.at).toBeGreaterThanOrEqual(dueAt);
  });

  it('fires a tenant’s reminder further out than the default, for a key expiring in 50 days', async () => {
    const tenant = await tenantWithHook();
    const set = await tenant.admin.patch(`/tenants/${tenant.id}`, { expiry_reminder_days: [60] });
    expect(set.status, set.text).toBe(200);
    const expiresAt = new Date(Date.now() + 50 * DAY_MS);
    const key = (await tenant.admin.post('/keys', { name: 'expires in 50 days', scopes: ['devices:read'], expires_at: expiresAt.toISOString() })).body;
    const events = await settle(tenant.secret, key.key.client_id, 1);
    expect(events).toHaveLength(1);
    expect(events[0]!.event).toMatchObject({ type: 'key.expiring', data: { client_id: key.key.client_id, days_before: 60 } });
  });

  it('fires the nearest default reminder at once for a key already inside it, then the expiry when it comes', async () => {
    const tenant = await tenantWithHook();
    const expiresAt = new Date(Date.now() + 2_000);
    const key = (await tenant.admin.post('/keys', { name: 'short lived', scopes: ['devices:read'], expires_at: expiresAt.toISOString() })).body;
    const events = await settle(tenant.secret, key.key.client_id, 2);
    expect(events.map((e) => e.event.type)).toEqual(['key.expiring', 'key.expired']);
    expect(events[0]!.event.data.days_before).toBe(1);
    expect(events[1]!.at).toBeGreaterThanOrEqual(expiresAt.getTime());
    expect(events[1]!.event.data).toMatchObject({ client_id: key.key.client_id, expires_at: key.key.expires_at });
  });

  it('fires rotation_grace_ending an hour before the old secret stops, once', async () => {
    const tenant = await tenantWithHook();
    const key = (await tenant.admin.post('/keys', { name: 'rotated', scopes: ['devices:read'], expires_at: null })).body;
    const rotated = await tenant.admin.post(`/keys/${key.key.client_id}/rotate`, { grace_seconds: 3600 + 2 });
    expect(rotated.status).toBe(200);
    const endsAt = new Date(rotated.body.previous_secret_expires_at).getTime();
    const events = await settle(tenant.secret, key.key.client_id, 1);
    expect(events).toHaveLength(1);
    expect(events[0]!.event).toMatchObject({
      type: 'key.rotation_grace_ending',
      data: { previous_secret_expires_at: rotated.body.previous_secret_expires_at },
    });
    expect(events[0]!.at).toBeGreaterThanOrEqual(endsAt - 3600 * 1000);
  });

  it('refuses reminder offsets that are not whole days from 1 to 365', async () => {
    const tenant = await tenantWithHook();
    for (const days of [[0], [400], [1, 1], [], [1.5]]) {
      expect((await tenant.admin.patch(`/tenants/${tenant.id}`, { expiry_reminder_days: days })).status, JSON.stringify(days)).toBe(400);
    }
    expect((await tenant.admin.patch(`/tenants/${tenant.id}`, { expiry_reminder_days: null })).body.tenant.expiry_reminder_days).toBeNull();
  });
});
