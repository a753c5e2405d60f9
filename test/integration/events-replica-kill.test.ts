// At least once across a crash: two `keygate serve` child processes deliver webhooks over one
// Postgres. Replica B is paused (SIGSTOP) so that replica A alone takes the deliveries, A is
// SIGKILLed while deliveries are in flight at a slow receiver, then B is resumed. Every event must
// arrive, delivered by B once A's leases run out; an event may arrive twice, only ever under the
// same webhook-id with the same body.
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { loadConfig } from '../../src/config.ts';
import { createLogger } from '../../src/logger.ts';
import { openRuntime, type Runtime } from '../../src/runtime.ts';
import { FAULT_ISSUER, spawnKeygate, type KeygateProcess } from '../support/faults.ts';
import { TEST_PEPPER } from '../support/keygate.ts';
import { waitFor } from '../support/processes.ts';
import { FAST_EVENTS, startHttpReceiver, verifiedEvent, type HttpReceiver } from '../support/receivers.ts';

const KEYS = 40;
const EVENTS_ENV = { ...FAST_EVENTS, KEYGATE_WEBHOOK_TIMEOUT_MS: '1500', KEYGATE_EVENTS_LEASE_SECONDS: '3' };

describe('events: a replica SIGKILLed mid-delivery loses nothing', () => {
  let runtime: Runtime;
  let a: KeygateProcess;
  let b: KeygateProcess;
  let hook: HttpReceiver;

  beforeAll(async () => {
    const config = loadConfig({
      DATABASE_URL: inject('databaseUrl'),
      // The pepper of the other event suites, whose replicas may deliver this suite's events too.
      KEYGATE_SECRET_PEPPER: TEST_PEPPER,
      KEYGATE_ISSUER: FAULT_ISSUER,
      KEYGATE_WEBHOOK_ALLOWED_NETWORKS: '127.0.0.1/32',
      LOG_LEVEL: 'silent',
    });
    runtime = await openRuntime(config, createLogger('silent'), { migrate: false });
    hook = await startHttpReceiver();
    const stores = { databaseUrl: inject('databaseUrl'), redisUrl: inject('redisUrl') ?? '', pepper: TEST_PEPPER, extra: EVENTS_ENV };
    [a, b] = await Promise.all([spawnKeygate(stores), spawnKeygate(stores)]);
  }, 90_000);

  afterAll(async () => {
    if (b) process.kill(b.pid, 'SIGCONT');
    await a?.stop('SIGKILL');
    await b?.stop('SIGTERM');
    await hook?.close();
    await runtime?.close();
  });

  it('delivers every event through the surviving replica, duplicates only under the same id', async () => {
    const actor = { keyId: null, userId: null, via: 'test' };
    const tenantId = (await runtime.tenants.insert({ name: 'replica kill events' })).id;
    const { webhook, secret } = await runtime.webhookService.create({ tenant_id: tenantId, url: hook.url, event_types: ['key.created'] }, actor);
    hook.delayMs = 300;

    process.kill(b.pid, 'SIGSTOP'); // our own child: A alone delivers from now on
    const created: string[] = [];
    for (let i = 0; i < KEYS; i++) {
      created.push((await runtime.keyService.create({ tenant_id: tenantId, name: `key ${i}`, scopes: ['devices:read'] }, actor)).key.client_id);
    }
    await waitFor(async () => hook.inFlight() >= 1, 20_000, 'a delivery in flight from replica A');
    const inFlightAtKill = hook.inFlight();
    const receivedAtKill = hook.requests.length;
    await a.stop('SIGKILL');
    process.kill(b.pid, 'SIGCONT');

    await waitFor(
      async () => {
        const deliveries = await runtime.webhooks.listDeliveries(webhook.id, 1000);
        return deliveries.length === KEYS && deliveries.every((d) => d.status === 'delivered');
      },
      60_000,
      'every delivery delivered',
    );
    expect(inFlightAtKill).toBeGreaterThanOrEqual(1);
    expect(receivedAtKill).toBeLessThan(KEYS); // A died with work left, which B then did

    const events = hook.requests.map((request) => ({ event: verifiedEvent(secret, request), body: request.body }));
    const byClient = new Map<string, Set<string>>();
    const bodyById = new Map<string, string>();
    for (const { event, body } of events) {
      expect(event.type).toBe('key.created');
      const ids = byClient.get(event.data.client_id) ?? new Set();
      ids.add(event.id);
      byClient.set(event.data.client_id, ids);
      // A duplicate is the same event: same id, same bytes.
      expect(bodyById.get(event.id) ?? body).toBe(body);
      bodyById.set(event.id, body);
    }
    expect([...byClient.keys()].sort()).toEqual([...created].sort());
    for (const ids of byClient.values()) expect(ids.size).toBe(1);
  }, 120_000);
});
