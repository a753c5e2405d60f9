// Per-key usage over real HTTP, Postgres and Redis: every outcome is counted by sending the real
// /oauth/token or /oauth/introspect request that produces it, the batch is flushed the way tests
// flush last use, and GET /admin/v1/keys/{id}/usage shows it to those who may see the key only.
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { generateClientId, generateClientSecret } from '../../src/crypto/credentials.ts';
import type { CreatedKey } from '../../src/keys/types.ts';
import { ALL_KEYGATE_SCOPES, adminClient, clientFor, errorBody, type AdminClient } from '../support/admin.ts';
import { createActivityRecorder } from '../../src/keys/activity.ts';
import { createLogger } from '../../src/logger.ts';
import { createRedisActivityStore } from '../../src/stores/key-activity-redis.ts';
import { basicAuth } from '../support/http.ts';
import { startKeygate, type TestKeygate } from '../support/keygate.ts';

interface Point {
  at: string;
  issued: number;
  denied: Record<string, number>;
  introspection: { active: number; inactive: number };
}

const ZERO_DENIED = { bad_secret: 0, network: 0, expired: 0, disabled: 0, owner: 0, scope: 0, rate_limited: 0 };

describe('per-key usage', () => {
  let keygate: TestKeygate;
  let tenantId: string;
  let admin: AdminClient;
  let introspector: CreatedKey;

  beforeAll(async () => {
    keygate = await startKeygate({ tokenStore: 'redis' });
    tenantId = await keygate.newTenant();
    admin = await adminClient(keygate, tenantId, ALL_KEYGATE_SCOPES);
    introspector = await keygate.createKey(tenantId, { name: 'resource server', scopes: ['token:introspect'] });
  });
  afterAll(() => keygate?.close());

  /** Every count of the last 24 hours, summed (a test may straddle an hour). */
  async function totals(client: AdminClient, key: CreatedKey) {
    await keygate.runtime.activity.flush();
    const response = await client.get(`/keys/${key.key.client_id}/usage?window=24h`);
    expect(response.status).toBe(200);
    const series = response.body.series as Point[];
    const denied = { ...ZERO_DENIED };
    for (const point of series) for (const [reason, n] of Object.entries(point.denied)) denied[reason as keyof typeof denied] += n;
    return {
      issued: series.reduce((sum, p) => sum + p.issued, 0),
      denied,
      introspection: {
        active: series.reduce((sum, p) => sum + p.introspection.active, 0),
        inactive: series.reduce((sum, p) => sum + p.introspection.inactive, 0),
      },
    };
  }
  const withSecret = (key: CreatedKey, secret: string): CreatedKey => ({ ...key, client_secret: secret });

  it('counts issued tokens, on every token route', async () => {
    const key = await keygate.createKey(tenantId);
    expect((await keygate.token(key)).status).toBe(200);
    expect((await keygate.token(key)).status).toBe(200);
    const exchange = await keygate.send({ method: 'POST', path: '/api/v1/auth/authorize', json: { grantType: 'api_key', apiKey: key.api_key } });
    expect(exchange.status).toBe(200);
    expect(await totals(admin, key)).toEqual({ issued: 3, denied: ZERO_DENIED, introspection: { active: 0, inactive: 0 } });
  });

  it('counts a wrong secret, a network outside the key’s, a scope the key lacks', async () => {
    const key = await keygate.createKey(tenantId, { networks: ['127.0.0.5/32'] });
    expect((await keygate.token(withSecret(key, generateClientSecret()), { from: '127.0.0.5' })).status).toBe(401);
    expect((await keygate.token(key, { from: '127.0.0.6' })).status).toBe(401);
    expect((await keygate.token(key, { from: '127.0.0.5', scope: 'billing:read' })).status).toBe(400);
    expect((await keygate.token(key, { from: '127.0.0.5' })).status).toBe(200);
    expect((await totals(admin, key)).denied).toEqual({ ...ZERO_DENIED, bad_secret: 1, network: 1, scope: 1 });
  });

  it('counts an expired key and a disabled one', async () => {
    const expired = await keygate.createKey(tenantId);
    await keygate.runtime.db
      .updateTable('api_keys')
      .set({ expires_at: new Date(Date.now() - 1000) })
      .where('client_id', '=', expired.key.client_id)
      .execute();
    keygate.afterDirectWrite();
    expect((await keygate.token(expired)).status).toBe(401);
    const disabled = await keygate.createKey(tenantId);
    expect((await admin.post(`/keys/${disabled.key.client_id}/disable`)).status).toBe(200);
    expect((await keygate.token(disabled)).status).toBe(401);
    expect((await totals(admin, expired)).denied).toEqual({ ...ZERO_DENIED, expired: 1 });
    expect((await totals(admin, disabled)).denied).toEqual({ ...ZERO_DENIED, disabled: 1 });
  });

  it('counts a key whose creator lost the right to create keys', async () => {
    const creator = await adminClient(keygate, tenantId, ['admin:keys:write']);
    const made = (await creator.post('/keys', { name: 'made', scopes: ['devices:read'] })).body as CreatedKey;
    expect((await keygate.token(made)).status).toBe(200);
    expect((await admin.patch(`/keys/${creator.key.key.client_id}`, { scopes: ['devices:read'] })).status).toBe(200);
    expect((await keygate.token(made)).status).toBe(401);
    expect(await totals(admin, made)).toMatchObject({ issued: 1, denied: { ...ZERO_DENIED, owner: 1 } });
  });

  it('counts requests over the key’s own issuance limit', async () => {
    const key = await keygate.createKey(tenantId, { rateLimitPerMinute: 1 });
    expect((await keygate.token(key)).status).toBe(200);
    expect((await keygate.token(key)).status).toBe(429);
    expect((await keygate.token(key)).status).toBe(429);
    expect(await totals(admin, key)).toMatchObject({ issued: 1, denied: { ...ZERO_DENIED, rate_limited: 2 } });
  });

  it('counts introspections of the key’s tokens as active or inactive', async () => {
    const key = await keygate.createKey(tenantId, { networks: ['127.0.0.0/8'] });
    const token = (await keygate.token(key)).body.access_token as string;
    expect((await keygate.introspect(introspector, token)).body.active).toBe(true);
    expect((await keygate.introspect(introspector, token)).body.active).toBe(true);
    expect((await keygate.introspect(introspector, token, { client_ip: '10.0.0.1' })).body.active).toBe(false);
    expect((await totals(admin, key)).introspection).toEqual({ active: 2, inactive: 1 });
    // The resource server's own authentication is not an introspection of its tokens.
    expect((await totals(admin, introspector)).introspection).toEqual({ active: 0, inactive: 0 });
  });

  it('keeps one small hash per key and day in Redis, expiring 30 days after the day ends', async () => {
    const key = await keygate.createKey(tenantId);
    expect((await keygate.token(key)).status).toBe(200);
    expect((await keygate.token(withSecret(key, generateClientSecret()))).status).toBe(401);
    await keygate.runtime.activity.flush();
    const redis = new Redis(inject('redisUrl'));
    try {
      const keys = await redis.keys(`kg:u:{${key.key.client_id}}:*`);
      expect(keys).toEqual([`kg:u:{${key.key.client_id}}:${Math.floor(Date.now() / 86_400_000)}`]);
      const hour = new Date().getUTCHours();
      expect(await redis.hgetall(keys[0]!)).toEqual({ [`${hour}i`]: '1', [`${hour}s`]: '1' });
      const ttlDays = (await redis.ttl(keys[0]!)) / 86_400;
      expect(ttlDays).toBeGreaterThan(30);
      expect(ttlDays).toBeLessThanOrEqual(31);
    } finally {
      redis.disconnect();
    }
  });

  it('writes a flush bigger than one script call in several, each key’s counts whole, its hash expiring as any other', async () => {
    // As the recorder hands them over: by outcome, then key, so a key's outcomes lie far apart
    // and some keys' hashes are counted into by two calls.
    const clientIds = Array.from({ length: 1500 }, () => generateClientId());
    const hour = Math.floor(Date.now() / 3_600_000);
    const outcomes = ['issued', 'denied_bad_secret', 'introspection_active'] as const;
    const increments = outcomes.flatMap((outcome, o) => clientIds.map((clientId, k) => ({ clientId, hour, outcome, count: 1 + ((k + o) % 4) })));
    await keygate.runtime.activityStore.add(increments);
    const read = await keygate.runtime.activityStore.read(clientIds, 'hour', hour, hour);
    expect(read.map(([counts]) => counts)).toEqual(
      clientIds.map((_, k) => ({ issued: 1 + (k % 4), denied_bad_secret: 1 + ((k + 1) % 4), introspection_active: 1 + ((k + 2) % 4) })),
    );
    const redis = new Redis(inject('redisUrl'));
    try {
      const day = Math.floor(hour / 24);
      for (const clientId of [clientIds[0]!, clientIds[700]!, clientIds.at(-1)!]) {
        const ttlDays = (await redis.ttl(`kg:u:{${clientId}}:${day}`)) / 86_400;
        expect(ttlDays).toBeGreaterThan(30);
        expect(ttlDays).toBeLessThanOrEqual(31);
      }
    } finally {
      redis.disconnect();
    }
  });

  it('counts a flush that spans midnight into each day’s hash, each expiring 30 days after its own day', async () => {
    const clientId = generateClientId();
    const lastHourOfDay = Math.floor(Date.now() / 86_400_000) * 24 - 1; // 23:00 yesterday (UTC)
    const yesterday = (lastHourOfDay + 1) / 24 - 1;
    const hashOf = (day: number) => `kg:u:{${clientId}}:${day}`;
    const expiryOf = (day: number) => ((day + 1) * 86_400_000 + 30 * 86_400_000) / 1000;
    await keygate.runtime.activityStore.add([
      { clientId, hour: lastHourOfDay, outcome: 'issued', count: 3 },
      { clientId, hour: lastHourOfDay + 1, outcome: 'issued', count: 2 },
      // No key has such an id (ids are kg_ and base62): it is not counted, and nothing else is lost.
      { clientId: 'kg_ x 1\nkg_y', hour: lastHourOfDay + 1, outcome: 'issued', count: 5 },
      { clientId, hour: lastHourOfDay + 1, outcome: 'denied_network', count: 1 },
    ]);
    const redis = new Redis(inject('redisUrl'));
    try {
      const expiresAt = async (day: number) => (await redis.pexpiretime(hashOf(day))) / 1000;
      expect(await expiresAt(yesterday)).toBe(expiryOf(yesterday));
      expect(await expiresAt(yesterday + 1)).toBe(expiryOf(yesterday + 1));
      // A hash that has lost its expiry gets it back when it gains a field, as a new hash does.
      await redis.persist(hashOf(yesterday + 1));
      await keygate.runtime.activityStore.add([
        { clientId, hour: lastHourOfDay + 1, outcome: 'issued', count: 4 },
        { clientId, hour: lastHourOfDay + 1, outcome: 'denied_scope', count: 1 },
      ]);
      expect(await redis.hgetall(hashOf(yesterday))).toEqual({ '23i': '3' });
      expect(await redis.hgetall(hashOf(yesterday + 1))).toEqual({ '0i': '6', '0n': '1', '0c': '1' });
      expect(await expiresAt(yesterday + 1)).toBe(expiryOf(yesterday + 1));
      expect(await redis.keys('kg:u:{kg_ *')).toEqual([]);
      expect(await redis.keys('kg:u:{kg_}*')).toEqual([]);
      expect(await redis.keys('kg:u:{kg_y}*')).toEqual([]);
    } finally {
      redis.disconnect();
    }
  });

  it('shutting down while a flush of many keys is on its way writes all of it before the connection closes', async () => {
    // As the runtime shuts down: close the recorder, then the connection its store rides on. The
    // flush already on its way is many script calls, sent one after another.
    const connection = new Redis(inject('redisUrl'));
    const recorder = createActivityRecorder(createRedisActivityStore(connection), createLogger('silent'), { intervalMs: 3_600_000 });
    const clientIds = Array.from({ length: 5000 }, () => generateClientId());
    const firstHour = Math.floor(Date.now() / 3_600_000);
    for (const clientId of clientIds) recorder.count(clientId, 'issued');
    const onItsWay = recorder.flush();
    recorder.count(clientIds[0]!, 'issued');
    await recorder.close();
    await connection.quit();
    await onItsWay;
    const reader = new Redis(inject('redisUrl'));
    try {
      const read = await createRedisActivityStore(reader).read(clientIds, 'hour', firstHour, Math.floor(Date.now() / 3_600_000));
      const issued = read.map((hours) => hours.reduce((sum, counts) => sum + (counts.issued ?? 0), 0));
      expect(issued).toEqual(clientIds.map((_, k) => (k === 0 ? 2 : 1)));
    } finally {
      reader.disconnect();
    }
  });

  it('counts nothing for a client id that names no key', async () => {
    const ghost = generateClientId();
    const response = await keygate.send({
      path: '/oauth/token',
      headers: { authorization: basicAuth(ghost, generateClientSecret()) },
      form: { grant_type: 'client_credentials' },
    });
    expect(response.status).toBe(401);
    await keygate.runtime.activity.flush();
    const hour = Math.floor(Date.now() / 3_600_000);
    const [hours] = await keygate.runtime.activityStore.read([ghost], 'hour', hour - 1, hour);
    expect(hours!.filter((counts) => Object.keys(counts).length > 0)).toEqual([]);
  });

  it('shows 24 hours by the hour, 7 and 30 days by the day, oldest first, now last', async () => {
    const key = await keygate.createKey(tenantId);
    expect((await keygate.token(key)).status).toBe(200);
    await keygate.runtime.activity.flush();
    for (const [window, bucket, length, stepMs] of [
      ['24h', 'hour', 24, 3_600_000],
      ['7d', 'day', 7, 86_400_000],
      ['30d', 'day', 30, 86_400_000],
    ] as const) {
      const response = await admin.get(`/keys/${key.key.client_id}/usage?window=${window}`);
      expect(response.body).toMatchObject({ window, bucket });
      const series = response.body.series as Point[];
      expect(series).toHaveLength(length);
      const starts = series.map((p) => Date.parse(p.at));
      expect(starts.slice(1).map((at, i) => at - starts[i]!)).toEqual(Array(length - 1).fill(stepMs));
      expect(Date.now() - starts.at(-1)!).toBeLessThan(stepMs);
      expect(series.at(-1)!.issued + (series.at(-2)?.issued ?? 0)).toBe(1);
    }
    expect((await admin.get(`/keys/${key.key.client_id}/usage`)).body.window).toBe('24h');
    const bad = await admin.get(`/keys/${key.key.client_id}/usage?window=1y`);
    expect(bad.status).toBe(400);
  });

  it('attack: another tenant, or a user key of another user, asks for a key’s usage and gets 404', async () => {
    const key = await keygate.createKey(tenantId);
    const stranger = await adminClient(keygate, await keygate.newTenant(), ['admin:keys:read']);
    const response = await stranger.get(`/keys/${key.key.client_id}/usage`);
    expect(response.status).toBe(404);
    expect(response.body).toEqual(errorBody(response, 'not_found', 'no such key'));
    const user = await keygate.newUser(tenantId, 'admin');
    const own = (await admin.post('/keys', { name: 'own', kind: 'user', user_id: user.id, scopes: ['admin:keys:read'] })).body as CreatedKey;
    const asUser = clientFor(keygate, own, (await keygate.token(own)).body.access_token);
    expect((await asUser.get(`/keys/${key.key.client_id}/usage`)).status).toBe(404);
    expect((await asUser.get(`/keys/${own.key.client_id}/usage`)).status).toBe(200);
  });
});

describe('per-key usage without Redis', () => {
  it('is kept in process memory and read the same way', async () => {
    const keygate = await startKeygate({ tokenStore: 'memory' });
    try {
      const tenantId = await keygate.newTenant();
      const admin = await adminClient(keygate, tenantId);
      const key = await keygate.createKey(tenantId);
      expect((await keygate.token(key)).status).toBe(200);
      expect((await keygate.token(withWrongSecret(key))).status).toBe(401);
      await keygate.runtime.activity.flush();
      const series = (await admin.get(`/keys/${key.key.client_id}/usage?window=7d`)).body.series as Point[];
      expect(series.at(-1)).toMatchObject({ issued: 1, denied: { bad_secret: 1 } });
      const listed = (await admin.get(`/keys?q=${key.key.client_id}`)).body.data[0];
      expect(listed.usage_7d).toEqual([0, 0, 0, 0, 0, 0, 1]);
    } finally {
      await keygate.close();
    }
  });
});

function withWrongSecret(key: CreatedKey): CreatedKey {
  return { ...key, client_secret: generateClientSecret() };
}
