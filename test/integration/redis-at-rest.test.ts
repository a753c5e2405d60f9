// a Redis dump must not yield a usable token. Issue tokens, then read every key and
// value Redis holds and look for any raw token in them.
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { hashToken } from '../../src/crypto/token-hash.ts';
import { REDIS_LAYOUT } from '../../src/stores/tokens-redis.ts';
import { startKeygate, type TestKeygate } from '../support/keygate.ts';

describe('token state at rest in Redis', () => {
  let keygate: TestKeygate;
  let redis: Redis;

  beforeAll(async () => {
    keygate = await startKeygate({ tokenStore: 'redis' });
    redis = new Redis(inject('redisUrl')!);
  });
  afterAll(async () => {
    redis?.disconnect();
    await keygate?.close();
  });

  async function dumpEverything(): Promise<string> {
    const parts: string[] = [];
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'COUNT', 1000);
      cursor = next;
      for (const key of keys) {
        parts.push(key);
        const type = await redis.type(key);
        if (type === 'string') parts.push((await redis.get(key)) ?? '');
        else if (type === 'hash') parts.push(...Object.entries(await redis.hgetall(key)).flat());
        else parts.push(`<${type}>`);
      }
    } while (cursor !== '0');
    return parts.join('\n');
  }

  it('stores tokens only under a hash, indexed per key, with no raw token anywhere', async () => {
    const tenantId = await keygate.newTenant();
    const key = await keygate.createKey(tenantId);
    const tokens: string[] = [];
    for (let i = 0; i < 5; i++) tokens.push((await keygate.token(key)).body.access_token);
    tokens.push((await keygate.send({ path: '/api/v1/auth/authorize', json: { grantType: 'api_key', apiKey: key.api_key } })).body.data.accessToken);

    const dump = await dumpEverything();
    for (const token of tokens) {
      expect(token).toMatch(/^[A-Za-z0-9_-]{43}$/);
      expect(dump).not.toContain(token);
      expect(await redis.exists(`kg:t:${hashToken(token)}`)).toBe(1);
    }
    const indexed: string[] = [];
    for (const bucket of await redis.keys(`kg:i:{${key.key.client_id}}:*`)) indexed.push(...(await redis.hkeys(bucket)));
    expect(indexed.sort()).toEqual(tokens.map(hashToken).sort());
    expect(dump).not.toContain(key.client_secret);
  });

  it('expires each token record with its token', async () => {
    const key = await keygate.createKey(await keygate.newTenant(), { tokenTtlSeconds: 90 });
    const token = (await keygate.token(key)).body.access_token;
    const ttl = await redis.ttl(`kg:t:${hashToken(token)}`);
    expect(ttl).toBeGreaterThan(85);
    expect(ttl).toBeLessThanOrEqual(90);
  });

  it('expires each index bucket after the last token that can expire in it', async () => {
    const key = await keygate.createKey(await keygate.newTenant(), { tokenTtlSeconds: 90 });
    const token = (await keygate.token(key)).body.access_token;
    const record = await keygate.runtime.tokens.find(hashToken(token));
    const bucket = REDIS_LAYOUT.bucketOf(record!.exp);
    const index = REDIS_LAYOUT.indexKey(key.key.client_id, bucket);
    expect(await redis.hkeys(index)).toEqual([hashToken(token)]);
    const expiresAt = Number(await redis.call('EXPIRETIME', index));
    expect(expiresAt).toBe(REDIS_LAYOUT.bucketExpiresAt(bucket));
    expect(expiresAt).toBeGreaterThan(record!.exp);
    expect(expiresAt - record!.exp).toBeLessThanOrEqual(3600 + 60);
  });
});
