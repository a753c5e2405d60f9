// last_used_at / last_used_ip over real HTTP and Postgres: a token request writes nothing by
// itself; the usage recorder's flush writes the newest sighting per key, and a key it wrote less
// than ten minutes ago from the same address not again; every token route counts; a denied request
// never does.
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateClientSecret } from '../../src/crypto/credentials.ts';
import type { KeyView } from '../../src/keys/model.ts';
import type { CreatedKey } from '../../src/keys/types.ts';
import { toView } from '../../src/keys/view.ts';
import { adminClient, type AdminClient } from '../support/admin.ts';
import { startKeygate, type TestKeygate } from '../support/keygate.ts';
import { waitFor } from '../support/processes.ts';

describe('key last use', () => {
  let keygate: TestKeygate;
  let tenantId: string;
  let admin: AdminClient;

  beforeAll(async () => {
    keygate = await startKeygate({ tokenStore: 'redis' });
    tenantId = await keygate.newTenant();
    admin = await adminClient(keygate, tenantId);
  });
  afterAll(() => keygate?.close());

  /** What Postgres holds for the key right now. */
  const stored = async (key: CreatedKey): Promise<KeyView> => toView((await keygate.runtime.keys.find(key.key.client_id))!, new Date());
  const lastUse = async (key: CreatedKey) => {
    const view = await stored(key);
    return { last_used_at: view.last_used_at, last_used_ip: view.last_used_ip };
  };
  const flush = () => keygate.runtime.usage.flush();

  /** A new key, used once from `ip` and flushed; its first recorded use. */
  async function usedOnceFrom(ip: string) {
    const key = await keygate.createKey(tenantId);
    expect((await keygate.token(key, { from: ip })).status).toBe(200);
    await flush();
    const first = await lastUse(key);
    expect(first.last_used_ip).toBe(ip);
    return { key, first };
  }

  /** Asserts `at` is an ISO timestamp inside [from, to]. */
  function expectWithin(at: string | null, from: number, to: number) {
    expect(at).toEqual(expect.any(String));
    expect(Date.parse(at!)).toBeGreaterThanOrEqual(from);
    expect(Date.parse(at!)).toBeLessThanOrEqual(to);
  }

  /**
   * The recorder also flushes on its own every few seconds. Waiting until one of those periodic
   * flushes has just happened leaves seconds before the next, so "nothing written yet" is not a race.
   */
  async function justAfterPeriodicFlush() {
    const probe = await keygate.createKey(tenantId, { name: 'flush probe' });
    expect((await keygate.token(probe)).status).toBe(200);
    await waitFor(async () => (await stored(probe)).last_used_at !== null, 10_000, 'the periodic usage flush');
  }

  it('writes nothing per token request; the flush records the time and the caller IP', async () => {
    const key = await keygate.createKey(tenantId);
    expect(await lastUse(key)).toEqual({ last_used_at: null, last_used_ip: null });

    await justAfterPeriodicFlush();
    const before = Date.now();
    const response = await keygate.token(key, { from: '127.0.0.5' });
    expect(response.status).toBe(200);
    const after = Date.now();
    expect(await lastUse(key)).toEqual({ last_used_at: null, last_used_ip: null });

    await flush();
    const used = await lastUse(key);
    expect(used.last_used_ip).toBe('127.0.0.5');
    expectWithin(used.last_used_at, before, after);
    expect(Date.now() - Date.parse(used.last_used_at!)).toBeLessThan(5000);

    const shown = await admin.get(`/keys/${key.key.client_id}`);
    expect(shown.status).toBe(200);
    expect(shown.body.key).toMatchObject(used);
    expect(shown.body.key).toEqual(await stored(key));
  });

  it('a later token from another address moves last_used_at and last_used_ip', async () => {
    const { key, first } = await usedOnceFrom('127.0.0.5');

    const before = Date.now();
    expect((await keygate.token(key, { from: '127.0.0.6' })).status).toBe(200);
    const after = Date.now();
    await flush();
    const second = await lastUse(key);
    expect(second.last_used_ip).toBe('127.0.0.6');
    expectWithin(second.last_used_at, before, after);
    expect(Date.parse(second.last_used_at!)).toBeGreaterThan(Date.parse(first.last_used_at!));
    expect((await admin.get(`/keys/${key.key.client_id}`)).body.key).toMatchObject(second);
  });

  it('does not write a key again within ten minutes from the same address (one row update per ten minutes per busy key)', async () => {
    const { key, first } = await usedOnceFrom('127.0.0.5');

    await new Promise((resolve) => setTimeout(resolve, 20)); // so a second write would show a later time
    expect((await keygate.token(key, { from: '127.0.0.5' })).status).toBe(200);
    await flush();
    expect(await lastUse(key)).toEqual(first);

    expect((await keygate.token(key, { from: '127.0.0.6' })).status).toBe(200);
    await flush();
    const moved = await lastUse(key);
    expect(moved.last_used_ip).toBe('127.0.0.6');
    expect(Date.parse(moved.last_used_at!)).toBeGreaterThan(Date.parse(first.last_used_at!));
  });

  it('another replica rewrites a row from the same address only once it is ten minutes old', async () => {
    const other = await startKeygate({ tokenStore: 'redis' });
    try {
      const recent = await usedOnceFrom('127.0.0.9');
      const old = await usedOnceFrom('127.0.0.9');
      const backdate = (key: CreatedKey, minutes: number) =>
        sql`update api_key_last_use set last_used_at = now() - make_interval(mins => ${minutes}) where client_id = ${key.key.client_id}`.execute(
          keygate.runtime.db,
        );
      await backdate(recent.key, 9);
      await backdate(old.key, 11);
      const nineMinutesAgo = await lastUse(recent.key);
      const before = Date.now();
      expect((await other.token(recent.key, { from: '127.0.0.9' })).status).toBe(200);
      expect((await other.token(old.key, { from: '127.0.0.9' })).status).toBe(200);
      const after = Date.now();
      await other.runtime.usage.flush();
      expect(await lastUse(recent.key)).toEqual(nineMinutesAgo);
      const rewritten = await lastUse(old.key);
      expect(rewritten.last_used_ip).toBe('127.0.0.9');
      expectWithin(rewritten.last_used_at, before, after);
    } finally {
      await other.close();
    }
  });

  it('another replica does not rewrite a key recorded less than ten minutes ago from the same address', async () => {
    const other = await startKeygate({ tokenStore: 'redis' });
    try {
      const { key, first } = await usedOnceFrom('127.0.0.7');
      await new Promise((resolve) => setTimeout(resolve, 20)); // so a second write would show a later time
      expect((await other.token(key, { from: '127.0.0.7' })).status).toBe(200);
      await other.runtime.usage.flush();
      expect(await lastUse(key)).toEqual(first);

      expect((await other.token(key, { from: '127.0.0.8' })).status).toBe(200);
      await other.runtime.usage.flush();
      const moved = await lastUse(key);
      expect(moved.last_used_ip).toBe('127.0.0.8');
      expect(Date.parse(moved.last_used_at!)).toBeGreaterThan(Date.parse(first.last_used_at!));
    } finally {
      await other.close();
    }
  });

  it('keeps only the newest sighting when a key is used several times between flushes', async () => {
    const key = await keygate.createKey(tenantId);
    expect((await keygate.token(key, { from: '127.0.0.5' })).status).toBe(200);
    expect((await keygate.token(key, { from: '127.0.0.7' })).status).toBe(200);
    const before = Date.now();
    expect((await keygate.token(key, { from: '127.0.0.6' })).status).toBe(200);
    const after = Date.now();
    await flush();
    const used = await lastUse(key);
    expect(used.last_used_ip).toBe('127.0.0.6');
    expectWithin(used.last_used_at, before, after);
  });

  it('counts the API-key exchanges: /auth/external and /api/v1/auth/authorize', async () => {
    const external = await keygate.createKey(tenantId);
    let before = Date.now();
    const viaExternal = await keygate.send({
      path: '/auth/external',
      json: { clientId: external.key.client_id, accessKey: external.client_secret },
      from: '127.0.0.8',
    });
    expect(viaExternal.status).toBe(200);
    let after = Date.now();
    await flush();
    let used = await lastUse(external);
    expect(used.last_used_ip).toBe('127.0.0.8');
    expectWithin(used.last_used_at, before, after);

    const authorize = await keygate.createKey(tenantId);
    before = Date.now();
    const viaAuthorize = await keygate.send({ path: '/api/v1/auth/authorize', json: { grantType: 'api_key', apiKey: authorize.api_key }, from: '127.0.0.9' });
    expect(viaAuthorize.status).toBe(200);
    after = Date.now();
    await flush();
    used = await lastUse(authorize);
    expect(used.last_used_ip).toBe('127.0.0.9');
    expectWithin(used.last_used_at, before, after);
  });

  it('records an IPv6 caller as such', async () => {
    const key = await keygate.createKey(tenantId);
    expect((await keygate.token(key, { from: '::1' })).status).toBe(200);
    await flush();
    expect((await lastUse(key)).last_used_ip).toBe('::1');
  });

  it('a denied request does not count as use, whatever the reason', async () => {
    const key = await keygate.createKey(tenantId, { scopes: ['devices:read'], networks: ['127.0.0.5/32'] });
    expect((await keygate.token(key, { from: '127.0.0.5' })).status).toBe(200);
    await flush();
    const used = await lastUse(key);
    expect(used.last_used_ip).toBe('127.0.0.5');

    const wrong = { ...key, client_secret: generateClientSecret() };
    const denials = [
      await keygate.token(wrong, { from: '127.0.0.5' }), // secret_mismatch
      await keygate.token(key, { from: '127.0.0.6' }), // ip_not_allowed: the secret was right
      await keygate.token(key, { from: '127.0.0.5', scope: 'devices:write' }), // scope_not_granted
      await keygate.send({ path: '/auth/external', json: { clientId: key.key.client_id, accessKey: wrong.client_secret }, from: '127.0.0.5' }),
      await keygate.send({ path: '/api/v1/auth/authorize', json: { grantType: 'api_key', apiKey: key.api_key }, from: '127.0.0.6' }),
    ];
    expect(denials.map((r) => r.status)).toEqual([401, 401, 400, 401, 401]);
    await flush();
    expect(await lastUse(key)).toEqual(used);

    const fresh = await keygate.createKey(tenantId, { networks: ['127.0.0.5/32'] });
    expect((await keygate.token(fresh, { from: '127.0.0.6' })).status).toBe(401);
    expect((await keygate.token({ ...fresh, client_secret: generateClientSecret() })).status).toBe(401);
    await flush();
    expect(await lastUse(fresh)).toEqual({ last_used_at: null, last_used_ip: null });
  });

  it('a disabled key refused at the token endpoint is not marked used', async () => {
    const key = await keygate.createKey(tenantId);
    expect((await admin.post(`/keys/${key.key.client_id}/disable`)).status).toBe(200);
    expect((await keygate.token(key, { from: '127.0.0.5' })).status).toBe(401);
    await flush();
    expect(await lastUse(key)).toEqual({ last_used_at: null, last_used_ip: null });
  });
});
