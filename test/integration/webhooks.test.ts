// Webhooks end to end: a real receiver verifies every request with the standardwebhooks package;
// failing receivers get the event on a later attempt; the delivery log, manual redelivery, an
// endpoint disabled after sustained failure; SSRF refusals at creation and at delivery; and who
// may subscribe to what.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createEventRetention } from '../../src/events/retention.ts';
import { createEventScheduleStore } from '../../src/stores/event-schedule.ts';
import { adminClient, ALL_ADMIN_SCOPES, type AdminClient } from '../support/admin.ts';
import { waitFor } from '../support/processes.ts';
import { FAST_EVENTS, startHttpReceiver, verifiedEvent, type HttpReceiver, type ReceivedRequest } from '../support/receivers.ts';
import { startKeygate, type TestKeygate } from '../support/keygate.ts';

describe('webhooks', () => {
  let keygate: TestKeygate;
  let tenantId: string;
  let admin: AdminClient;
  const receivers: HttpReceiver[] = [];

  beforeAll(async () => {
    keygate = await startKeygate({ tokenStore: 'redis', deliverEvents: true, env: FAST_EVENTS });
    tenantId = await keygate.newTenant();
    admin = await adminClient(keygate, tenantId, [...ALL_ADMIN_SCOPES, 'token:introspect']);
  });
  afterAll(async () => {
    await keygate?.close();
    for (const receiver of receivers) await receiver.close();
  });

  async function receiver(host?: string): Promise<HttpReceiver> {
    const started = await startHttpReceiver(host);
    receivers.push(started);
    return started;
  }

  /** A fresh tenant with its own admin, so events of other tests never reach this one's receiver. */
  async function freshTenant(scopes = ALL_ADMIN_SCOPES) {
    const id = await keygate.newTenant();
    return { id, admin: await adminClient(keygate, id, scopes) };
  }

  async function subscribe(client: AdminClient, url: string, eventTypes: string[], extra: Record<string, unknown> = {}) {
    const response = await client.post('/webhooks', { url, event_types: eventTypes, ...extra });
    expect(response.status, response.text).toBe(201);
    return response.body as { webhook: { id: string }; secret: string };
  }

  const eventsOf = (secret: string, requests: ReceivedRequest[]) => requests.map((request) => verifiedEvent(secret, request));

  it('delivers a key change signed in the Standard Webhooks format; the secret is shown once', async () => {
    const hook = await receiver();
    const { webhook, secret } = await subscribe(admin, hook.url, ['key.created']);
    expect(secret).toMatch(/^whsec_[A-Za-z0-9+/]{43}=$/);
    const shown = await admin.get(`/webhooks/${webhook.id}`);
    expect(shown.status).toBe(200);
    expect(shown.text).not.toContain(secret.slice('whsec_'.length));
    expect((await admin.get('/webhooks')).text).not.toContain(secret.slice('whsec_'.length));

    const created = await admin.post('/keys', { name: 'announced', scopes: ['devices:read'] });
    await hook.waitForRequests(1);
    const [event] = eventsOf(secret, hook.requests);
    expect(event!.type).toBe('key.created');
    expect(event!.data).toMatchObject({
      tenant_id: tenantId,
      client_id: created.body.key.client_id,
      by: { key_id: admin.key.key.client_id, via: 'admin-api' },
    });
    expect(event!.id).toBe(hook.requests[0]!.headers['webhook-id']);
    expect(hook.requests[0]!.headers['content-type']).toBe('application/json');
    // A forged body fails the same verification.
    expect(() => verifiedEvent(secret, { ...hook.requests[0]!, body: hook.requests[0]!.body.replace('key.created', 'key.deleted') })).toThrow();
    expect(() => verifiedEvent(`whsec_${Buffer.alloc(32).toString('base64')}`, hook.requests[0]!)).toThrow();
  });

  it('tells every key change: updated, rotated, disabled, enabled, deleted, and keys stopped by their owner rule', async () => {
    const tenant = await freshTenant();
    const hook = await receiver();
    const { secret } = await subscribe(tenant.admin, hook.url, ['key.updated', 'key.rotated', 'key.disabled', 'key.enabled', 'key.deleted', 'key.stopped']);
    const creator = (await tenant.admin.post('/keys', { name: 'creator', scopes: ['admin:keys:write'] })).body;
    const creatorToken = (await keygate.token(creator)).body.access_token;
    const made = await keygate.send({
      method: 'POST',
      path: '/admin/v1/keys',
      headers: { authorization: `Bearer ${creatorToken}` },
      json: { name: 'made by a key', scopes: ['devices:read'] },
    });
    expect(made.status, made.text).toBe(201);
    const id = creator.key.client_id;
    expect((await tenant.admin.patch(`/keys/${id}`, { description: 'changed' })).status).toBe(200);
    expect((await tenant.admin.post(`/keys/${id}/rotate`, { grace_seconds: 60 })).status).toBe(200);
    expect((await tenant.admin.post(`/keys/${id}/disable`)).status).toBe(200);
    expect((await tenant.admin.post(`/keys/${id}/enable`)).status).toBe(200);
    expect((await tenant.admin.delete(`/keys/${id}`)).status).toBe(204);
    // disable stops the made key, and so does delete: 7 events.
    await hook.waitForRequests(7);
    const events = eventsOf(secret, hook.requests);
    expect(events.map((e) => e.type).sort()).toEqual(
      ['key.updated', 'key.rotated', 'key.disabled', 'key.stopped', 'key.enabled', 'key.deleted', 'key.stopped'].sort(),
    );
    for (const event of events.filter((e) => e.type === 'key.stopped')) {
      expect(event.data).toMatchObject({ client_id: made.body.key.client_id, reason: 'owner_not_authorized' });
    }
    expect(new Set(events.map((e) => e.id)).size).toBe(7);
  });

  it('tells user and tenant changes, and an endpoint of a parent tenant hears its child tenants, never the reverse', async () => {
    const parent = await freshTenant();
    const parentHook = await receiver();
    const { secret } = await subscribe(parent.admin, parentHook.url, ['tenant.created', 'user.created', 'key.created']);
    const child = await parent.admin.post('/tenants', { name: 'child' });
    expect(child.status).toBe(201);
    const childAdmin = await adminClient(keygate, child.body.tenant.id);
    const childHook = await receiver();
    await subscribe(childAdmin, childHook.url, ['key.created', 'user.created']);
    expect((await childAdmin.post('/users', { email: 'someone@example.test', role: 'viewer' })).status).toBe(201);
    // the parent's own key: the child's endpoint must not hear it
    expect((await parent.admin.post('/keys', { name: 'parent key', scopes: ['devices:read'] })).status).toBe(201);
    await parentHook.waitForRequests(4); // tenant.created, the child admin's key, user.created, the parent key
    const types = eventsOf(secret, parentHook.requests).map((e) => e.type);
    expect(types.sort()).toEqual(['key.created', 'key.created', 'tenant.created', 'user.created']);
    await childHook.waitForRequests(1);
    // The parent key's event was fanned out with the user's (same round or earlier): nothing more arrived.
    await waitFor(async () => (await keygate.runtime.outbox.depth()).every((d) => d.destination !== 'webhooks' || d.count === 0), 5000, 'an empty outbox');
    expect(childHook.requests.map((r) => JSON.parse(r.body).type)).toEqual(['user.created']);
  });

  it('deleting a user tells user.deleted, and key.deleted for each key deleted with them', async () => {
    const tenant = await freshTenant();
    const hook = await receiver();
    const { secret } = await subscribe(tenant.admin, hook.url, ['user.deleted', 'key.deleted']);
    const user = await keygate.newUser(tenant.id, 'viewer');
    const keys = [
      await keygate.createKey(tenant.id, { kind: 'user', userId: user.id, scopes: ['devices:read'] }),
      await keygate.createKey(tenant.id, { kind: 'user', userId: user.id, scopes: ['devices:read'] }),
    ];
    expect((await tenant.admin.delete(`/users/${user.id}`)).status).toBe(204);
    await hook.waitForRequests(3);
    const events = eventsOf(secret, hook.requests);
    expect(events.find((e) => e.type === 'user.deleted')!.data).toMatchObject({ user_id: user.id });
    const deleted = events.filter((e) => e.type === 'key.deleted');
    expect(deleted.map((e) => e.data.client_id).sort()).toEqual(keys.map((k) => k.key.client_id).sort());
    for (const event of deleted) expect(event.data).toMatchObject({ tenant_id: tenant.id, cause: 'user.delete' });
  });

  it('signs with the new secret after a rotation, and sends to the new URL after a change', async () => {
    const tenant = await freshTenant();
    const first = await receiver();
    const second = await receiver();
    const { webhook, secret: oldSecret } = await subscribe(tenant.admin, first.url, ['key.created']);
    const rotated = await tenant.admin.post(`/webhooks/${webhook.id}/rotate-secret`);
    expect(rotated.status).toBe(200);
    const newSecret = rotated.body.secret as string;
    expect(newSecret).not.toBe(oldSecret);
    expect((await tenant.admin.patch(`/webhooks/${webhook.id}`, { url: second.url, description: 'moved' })).body.webhook).toMatchObject({
      url: second.url,
      description: 'moved',
    });
    await tenant.admin.post('/keys', { name: 'after rotation', scopes: ['devices:read'] });
    await second.waitForRequests(1);
    expect(verifiedEvent(newSecret, second.requests[0]!).type).toBe('key.created');
    expect(() => verifiedEvent(oldSecret, second.requests[0]!)).toThrow();
    expect(first.requests).toHaveLength(0);
    const audit = (await tenant.admin.get('/audit?action=webhook.update')).body.data;
    expect(audit[0].details).toMatchObject({ webhook_id: webhook.id, url: second.url, fields: ['url', 'description'] });
    expect(audit[0].details.changes).toMatchObject({ url: { from: first.url, to: second.url }, description: { to: 'moved' } });
  });

  it('a receiver failing its first two attempts gets the event on the third; the delivery log shows each attempt', async () => {
    const tenant = await freshTenant();
    const hook = await receiver();
    hook.respond = (n) => (n <= 2 ? 503 : 200);
    const { webhook, secret } = await subscribe(tenant.admin, hook.url, ['key.created']);
    await tenant.admin.post('/keys', { name: 'retried', scopes: ['devices:read'] });
    await hook.waitForRequests(3);
    const events = eventsOf(secret, hook.requests);
    expect(new Set(events.map((e) => e.id)).size).toBe(1); // the same event id on every attempt
    await waitFor(async () => (await tenant.admin.get(`/webhooks/${webhook.id}/deliveries`)).body.data[0]?.status === 'delivered', 5000, 'delivered');
    const [delivery] = (await tenant.admin.get(`/webhooks/${webhook.id}/deliveries`)).body.data;
    expect(delivery).toMatchObject({ event_id: events[0]!.id, type: 'key.created', status: 'delivered', attempts: 3 });
    expect(delivery.attempt_log.map((a: { status_code: number }) => a.status_code)).toEqual([503, 503, 200]);
    expect(delivery.attempt_log[0].response_excerpt).toBe('failing on purpose (1)');
    for (const attempt of delivery.attempt_log) expect(attempt.latency_ms).toBeGreaterThanOrEqual(0);
    // Backoff: the retries were spaced out, not sent back to back.
    expect(hook.requests[1]!.at - hook.requests[0]!.at).toBeGreaterThanOrEqual(50);
  });

  it('redelivers on request, with the same event id and body', async () => {
    const tenant = await freshTenant();
    const hook = await receiver();
    const { webhook, secret } = await subscribe(tenant.admin, hook.url, ['key.created']);
    await tenant.admin.post('/keys', { name: 'redelivered', scopes: ['devices:read'] });
    await hook.waitForRequests(1);
    await waitFor(async () => (await tenant.admin.get(`/webhooks/${webhook.id}/deliveries`)).body.data[0]?.status === 'delivered', 5000, 'delivered');
    const [delivery] = (await tenant.admin.get(`/webhooks/${webhook.id}/deliveries`)).body.data;
    const again = await tenant.admin.post(`/webhooks/${webhook.id}/deliveries/${delivery.id}/redeliver`);
    expect(again.status, again.text).toBe(202);
    await hook.waitForRequests(2);
    const [first, second] = eventsOf(secret, hook.requests);
    expect(second).toEqual(first);
    expect(hook.requests[1]!.body).toBe(hook.requests[0]!.body);
    const missing = await tenant.admin.post(`/webhooks/${webhook.id}/deliveries/00000000-0000-4000-8000-000000000000/redeliver`);
    expect(missing.status).toBe(404);
  });

  it('disables an endpoint after sustained failure, with an audit record and a webhook.disabled event', async () => {
    const tenant = await freshTenant();
    const failing = await receiver();
    failing.respond = () => 500;
    const watcher = await receiver();
    const { webhook } = await subscribe(tenant.admin, failing.url, ['key.created']);
    const { secret: watcherSecret } = await subscribe(tenant.admin, watcher.url, ['webhook.disabled']);
    await tenant.admin.post('/keys', { name: 'never delivered', scopes: ['devices:read'] });
    await watcher.waitForRequests(1);
    const [event] = eventsOf(watcherSecret, watcher.requests);
    expect(event).toMatchObject({ type: 'webhook.disabled', data: { webhook_id: webhook.id, reason: 'sustained_failure', by: { via: 'delivery' } } });
    const shown = (await tenant.admin.get(`/webhooks/${webhook.id}`)).body.webhook;
    expect(shown).toMatchObject({ status: 'disabled', disabled_reason: 'sustained_failure' });
    expect(failing.requests.length).toBe(4);
    const audit = (await tenant.admin.get('/audit?action=webhook.disable')).body.data;
    expect(audit).toHaveLength(1);
    expect(audit[0]).toMatchObject({ outcome: 'success', tenant_id: tenant.id, details: { webhook_id: webhook.id, reason: 'sustained_failure' } });
    // Enabled again, the waiting delivery goes out once the receiver recovers.
    failing.respond = () => 200;
    expect((await tenant.admin.post(`/webhooks/${webhook.id}/enable`)).body.webhook.status).toBe('active');
    await failing.waitForRequests(5);
  });

  it('refuses private, loopback and link-local targets that are not allowed, and never follows a redirect', async () => {
    const refusals = [
      'http://127.0.0.2:8080/hook',
      'http://10.1.2.3/hook',
      'http://169.254.169.254/latest/meta-data',
      'http://[::1]:8080/',
      'http://[fe80::1]/',
      'ftp://example.com/',
    ];
    for (const url of refusals) {
      const response = await admin.post('/webhooks', { url, event_types: ['key.created'] });
      expect(response.status, url).toBe(400);
      expect(response.body.error.details[0].field).toBe('url');
    }
    const redirecting = await receiver();
    redirecting.respond = () => 302;
    const tenant = await freshTenant();
    const { webhook } = await subscribe(tenant.admin, redirecting.url, ['key.created']);
    await tenant.admin.post('/keys', { name: 'redirected', scopes: ['devices:read'] });
    await redirecting.waitForRequests(2);
    const [delivery] = (await tenant.admin.get(`/webhooks/${webhook.id}/deliveries`)).body.data;
    expect(delivery.attempt_log[0].status_code).toBe(302);
    expect(delivery.status).not.toBe('delivered');
  });

  it('checks the address again at delivery time: a target that became private is refused, nothing is sent', async () => {
    const tenant = await freshTenant();
    const target = await receiver('127.0.0.2');
    // Saved as if its name had resolved to a public address then (the creation check passed).
    const endpoint = await keygate.runtime.webhooks.insertEndpoint({
      tenant_id: tenant.id,
      url: target.url,
      description: null,
      event_types: ['key.created'],
      secret_encrypted: (await import('../../src/crypto/webhook-secret.ts')).encryptWebhookSecret(keygate.runtime.pepperRing, 'whsec_AAAA'),
      created_by_key_id: null,
    });
    await tenant.admin.post('/keys', { name: 'to a private address', scopes: ['devices:read'] });
    await waitFor(async () => (await tenant.admin.get(`/webhooks/${endpoint.id}/deliveries`)).body.data[0]?.attempts >= 1, 10_000, 'a delivery attempt');
    const log = (await tenant.admin.get(`/webhooks/${endpoint.id}/deliveries`)).body.data[0].attempt_log;
    expect(log[0].error).toMatch(/^refused: resolves to 127\.0\.0\.2/);
    expect(log[0].status_code).toBeNull();
    expect(target.requests).toHaveLength(0);
  });

  it('never holds it against an endpoint when a replica cannot read its signing secret', async () => {
    const tenant = await freshTenant();
    const target = await receiver();
    const { createPepperRing } = await import('../../src/crypto/secret-hash.ts');
    const { encryptWebhookSecret } = await import('../../src/crypto/webhook-secret.ts');
    // Encrypted under a pepper version no replica holds (a pepper rotated away too early).
    const foreign = createPepperRing([{ version: 9, secret: Buffer.from('a pepper no replica of this run holds, 0123456789') }]);
    const endpoint = await keygate.runtime.webhooks.insertEndpoint({
      tenant_id: tenant.id,
      url: target.url,
      description: null,
      event_types: ['key.created'],
      secret_encrypted: encryptWebhookSecret(foreign, 'whsec_AAAA'),
      created_by_key_id: null,
    });
    await tenant.admin.post('/keys', { name: 'unsignable', scopes: ['devices:read'] });
    await waitFor(async () => (await tenant.admin.get(`/webhooks/${endpoint.id}/deliveries`)).body.data[0]?.attempts >= 6, 10_000, 'several tries');
    const [delivery] = (await tenant.admin.get(`/webhooks/${endpoint.id}/deliveries`)).body.data;
    expect(delivery).toMatchObject({ status: 'pending', attempt_log: [] });
    expect((await tenant.admin.get(`/webhooks/${endpoint.id}`)).body.webhook).toMatchObject({ status: 'active', consecutive_failures: 0 });
    expect(target.requests).toHaveLength(0);
    expect((await tenant.admin.delete(`/webhooks/${endpoint.id}`)).status).toBe(204);
  });

  it('subscribes only within the caller’s subtree and to events the caller may read; user keys never manage webhooks', async () => {
    const parent = await freshTenant();
    const child = await parent.admin.post('/tenants', { name: 'child' });
    const childAdmin = await adminClient(keygate, child.body.tenant.id);
    const hook = await receiver();
    // A child's admin cannot subscribe its parent.
    const upward = await childAdmin.post('/webhooks', { url: hook.url, event_types: ['key.created'], tenant_id: parent.id });
    expect(upward.status).toBe(400);
    expect(upward.body.error.details).toEqual([{ field: 'tenant_id', message: 'no such tenant' }]);
    const parentHook = await subscribe(parent.admin, hook.url, ['key.created']);
    expect((await childAdmin.get(`/webhooks/${parentHook.webhook.id}`)).status).toBe(404);
    expect((await childAdmin.delete(`/webhooks/${parentHook.webhook.id}`)).status).toBe(404);
    expect((await childAdmin.get('/webhooks')).body.data).toEqual([]);
    // The parent may subscribe a child.
    expect((await parent.admin.post('/webhooks', { url: hook.url, event_types: ['key.created'], tenant_id: child.body.tenant.id })).status).toBe(201);

    // Without admin:keys:read a tenant admin cannot read key events, so cannot subscribe to them.
    const tenantOnly = await adminClient(keygate, parent.id, ['admin:tenants:write']);
    const refused = await tenantOnly.post('/webhooks', { url: hook.url, event_types: ['tenant.created', 'key.created', 'key.denials'] });
    expect(refused.status).toBe(400);
    expect(refused.body.error.details.map((d: { message: string }) => d.message)).toEqual([
      "'key.created' needs the 'admin:keys:read' scope, which this caller lacks",
      "'key.denials' needs the 'admin:audit:read' scope, which this caller lacks",
    ]);
    // …nor change an endpoint that receives them.
    expect((await tenantOnly.patch(`/webhooks/${parentHook.webhook.id}`, { url: `${hook.url}/mine` })).status).toBe(403);
    expect((await tenantOnly.post('/webhooks', { url: hook.url, event_types: ['tenant.created'] })).status).toBe(201);

    // User keys never hold the tenant-admin scope: the routes refuse them.
    const user = await keygate.newUser(parent.id, 'admin');
    const userKey = await keygate.createKey(parent.id, { kind: 'user', userId: user.id, scopes: ['admin:keys:read', 'admin:audit:read'] });
    const token = (await keygate.token(userKey)).body.access_token;
    const asUser = await keygate.send({ method: 'GET', path: '/admin/v1/webhooks', headers: { authorization: `Bearer ${token}` } });
    expect(asUser.status).toBe(403);
  });

  it('summarises denials per key and window: one key.denials event, never one per failed request', async () => {
    const tenant = await freshTenant();
    const hook = await receiver();
    const { secret } = await subscribe(tenant.admin, hook.url, ['key.denials']);
    const fenced = await keygate.createKey(tenant.id, { networks: ['203.0.113.0/24'] });
    for (let i = 0; i < 6; i++) expect((await keygate.token(fenced)).status).toBe(401);
    await waitFor(
      async () =>
        eventsOf(secret, hook.requests)
          .filter((e) => e.data.client_id === fenced.key.client_id)
          .reduce((sum, e) => sum + e.data.counts.network_denied, 0) === 6,
      10_000,
      'six network denials summarised',
    );
    const summaries = eventsOf(secret, hook.requests).filter((e) => e.data.client_id === fenced.key.client_id);
    expect(summaries.length).toBeLessThanOrEqual(2); // a window may end mid-burst
    expect(summaries[0]!.data).toMatchObject({ tenant_id: tenant.id, counts: { locked_out: 0, rate_limited: 0 } });
  });

  it('counts a lockout of a key into its summary, once per window, not once per refused request', async () => {
    const locking = await startKeygate({ tokenStore: 'redis', authFailuresPerClientSource: 3 });
    try {
      const tenant = await freshTenant();
      const hook = await receiver();
      const { secret } = await subscribe(tenant.admin, hook.url, ['key.denials']);
      const key = await locking.createKey(tenant.id);
      const wrong = { ...key, client_secret: `${key.client_secret.slice(0, -8)}AAAAAAAA` };
      for (let i = 0; i < 8; i++) expect([401, 429]).toContain((await locking.token(wrong)).status);
      // Flushed by the replica that saw the denials when its window ends (here: now), delivered by any.
      await locking.runtime.denialSummaries.flush();
      await waitFor(async () => hook.requests.length >= 1, 10_000, 'a denial summary');
      const [summary] = eventsOf(secret, hook.requests);
      expect(summary!.data).toMatchObject({ client_id: key.key.client_id, counts: { locked_out: 1, network_denied: 0 } });
    } finally {
      await locking.close();
    }
  });

  it('removes finished deliveries past the retention, keeping pending ones', async () => {
    const tenant = await freshTenant();
    const hook = await receiver();
    const { webhook } = await subscribe(tenant.admin, hook.url, ['key.created', 'key.updated']);
    const created = (await tenant.admin.post('/keys', { name: 'kept briefly', scopes: ['devices:read'] })).body;
    await hook.waitForRequests(1);
    await waitFor(async () => (await tenant.admin.get(`/webhooks/${webhook.id}/deliveries`)).body.data[0]?.status === 'delivered', 5000, 'delivered');
    hook.respond = (n) => (n === 1 ? 204 : 500); // the next one keeps failing: it stays pending
    await tenant.admin.patch(`/keys/${created.key.client_id}`, { description: 'pending' });
    await hook.waitForRequests(2);
    // As if two days had passed, with a one-day retention: the delivered one goes, the pending one stays.
    const retention = createEventRetention({ webhooks: keygate.runtime.webhooks, schedule: createEventScheduleStore(keygate.runtime.db), retentionDays: 1 });
    await retention.once(Date.now() + 2 * 86_400_000);
    const left = (await tenant.admin.get(`/webhooks/${webhook.id}/deliveries`)).body.data;
    expect(left.map((d: { type: string; status: string }) => [d.type, d.status])).toEqual([['key.updated', 'pending']]);
  });

  it('exposes queue depth, delivery latency and failures as metrics', async () => {
    const text = (await keygate.send({ method: 'GET', path: '/metrics' })).text;
    expect(text).toMatch(/keygate_events_queue_depth\{queue="webhook_deliveries"\} \d+/);
    expect(text).toMatch(/keygate_webhook_delivery_duration_seconds_count\{outcome="delivered"\} [1-9]/);
    expect(text).toMatch(/keygate_webhook_delivery_failures_total\{kind="status"\} [1-9]/);
    expect(text).toMatch(/keygate_webhook_endpoints_disabled_total [1-9]/);
  });
});
