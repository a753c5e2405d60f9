// Data the scenarios need: keys created through the real key service, keys inserted in bulk for
// scale (same columns as a real key, own secrets and hashes), tokens minted through the real
// endpoint, and tokens written to Redis in bulk in the token store's own layout.
import { randomBytes } from 'node:crypto';
import type { Insertable } from 'kysely';
import { Redis } from 'ioredis';
import { generateClientId, generateClientSecret } from '../src/crypto/credentials.ts';
import { hashSecret } from '../src/crypto/secret-hash.ts';
import { hashToken } from '../src/crypto/token-hash.ts';
import type { Runtime } from '../src/runtime.ts';
import type { ApiKeysTable } from '../src/stores/db.ts';
import { encodeRecord } from '../src/stores/tokens.ts';
import { REDIS_LAYOUT } from '../src/stores/tokens-redis.ts';

export interface Credential {
  clientId: string;
  secret: string;
  /** `Basic base64(client_id:client_secret)` (base62 needs no form-encoding first). */
  authorization: string;
}

const credential = (clientId: string, secret: string): Credential => ({
  clientId,
  secret,
  authorization: `Basic ${Buffer.from(`${clientId}:${secret}`).toString('base64')}`,
});

const ACTOR = { keyId: null, userId: null, via: 'bench' };

/** `count` keys through keyService.create (validation, insert, audit), a few at a time. */
export async function createKeys(runtime: Runtime, tenantId: string, count: number, scopes: string[]): Promise<Credential[]> {
  const out: Credential[] = [];
  await inParallel(count, 8, async (i) => {
    const created = await runtime.keyService.create({ tenant_id: tenantId, name: `bench ${i}`, scopes }, ACTOR);
    out.push(credential(created.key.client_id, created.client_secret));
  });
  return out;
}

/** `count` more keys copied from `template`'s row (so new columns come along), each with its own secret. */
export async function insertKeys(runtime: Runtime, template: string, count: number): Promise<{ keys: Credential[]; secretGeneration: number }> {
  const row = await runtime.db.selectFrom('api_keys').selectAll().where('client_id', '=', template).executeTakeFirstOrThrow();
  const out: Credential[] = [];
  const batchSize = 1000; // ~25 columns a row: well under Postgres' 65,535 bind parameters
  for (let start = 0; start < count; start += batchSize) {
    const rows: Insertable<ApiKeysTable>[] = [];
    for (let i = start; i < Math.min(count, start + batchSize); i++) {
      const clientId = generateClientId();
      const secret = generateClientSecret();
      rows.push({ ...row, client_id: clientId, name: `bench bulk ${i}`, secret_hash: hashSecret(runtime.pepperRing, secret) });
      out.push(credential(clientId, secret));
    }
    await runtime.db.insertInto('api_keys').values(rows).execute();
  }
  return { keys: out, secretGeneration: row.secret_generation };
}

/** `perKey` tokens for every key through POST /oauth/token, 50 requests in flight. */
export async function issueTokens(baseUrl: string, keys: Credential[], perKey: number): Promise<string[]> {
  const tokens: string[] = [];
  await inParallel(keys.length * perKey, 50, async (i) => {
    const key = keys[i % keys.length]!;
    const response = await fetch(`${baseUrl}/oauth/token`, {
      method: 'POST',
      headers: { authorization: key.authorization, 'content-type': 'application/x-www-form-urlencoded' },
      body: 'grant_type=client_credentials',
    });
    const body = (await response.json()) as { access_token?: string };
    if (!response.ok || !body.access_token) throw new Error(`token request failed: ${response.status} ${JSON.stringify(body)}`);
    tokens.push(body.access_token);
  });
  return tokens;
}

export interface BulkTokens {
  written: number;
  /** Every `sampleEvery`-th token, for the load generator. */
  sample: string[];
  usedMemoryBefore: number;
  usedMemoryAfter: number;
}

/**
 * `perKey` live tokens for each key, written straight to Redis in the layout of
 * src/stores/tokens-redis.ts (REDIS_LAYOUT: the record under the token's hash with the token's TTL,
 * and the key's index bucket for that expiry). run.ts checks the result through the store and over HTTP.
 */
export async function writeTokens(
  redisUrl: string,
  clientIds: string[],
  options: {
    perKey: number;
    ttlSeconds: number;
    /** The keys' secret_generation: a token minted with an older secret is not live. */
    generation: number;
    sampleEvery: number;
  },
): Promise<BulkTokens> {
  const { perKey, ttlSeconds, generation, sampleEvery } = options;
  const redis = new Redis(redisUrl);
  try {
    const usedMemoryBefore = await usedMemory(redis);
    const iat = Math.floor(Date.now() / 1000);
    const sample: string[] = [];
    let written = 0;
    const keysPerBatch = 2000;
    for (let start = 0; start < clientIds.length; start += keysPerBatch) {
      const pipeline = redis.pipeline();
      for (const clientId of clientIds.slice(start, start + keysPerBatch)) {
        const hashes: string[] = [];
        for (let t = 0; t < perKey; t++) {
          const token = randomBytes(32).toString('base64url');
          const hash = hashToken(token);
          hashes.push(hash);
          const record = { clientId, scope: 'devices:read devices:write', iat, exp: iat + ttlSeconds, generation, epoch: 0 };
          pipeline.set(REDIS_LAYOUT.tokenKey(hash), encodeRecord(record), 'EX', ttlSeconds);
          if (written++ % sampleEvery === 0) sample.push(token);
        }
        const bucket = REDIS_LAYOUT.bucketOf(iat + ttlSeconds);
        const index = REDIS_LAYOUT.indexKey(clientId, bucket);
        pipeline.hset(index, Object.fromEntries(hashes.map((hash) => [hash, '']))).expireat(index, REDIS_LAYOUT.bucketExpiresAt(bucket));
      }
      for (const [error] of (await pipeline.exec()) ?? []) if (error) throw error;
    }
    return { written, sample, usedMemoryBefore, usedMemoryAfter: await usedMemory(redis) };
  } finally {
    await redis.quit();
  }
}

export async function usedMemory(redis: Redis): Promise<number> {
  return Number(/used_memory:(\d+)/.exec(await redis.info('memory'))?.[1]);
}

/** Runs `task(0..count-1)` with at most `width` in flight; the first failure stops the rest. */
export async function inParallel(count: number, width: number, task: (i: number) => Promise<void>): Promise<void> {
  let next = 0;
  const lane = async () => {
    while (next < count) await task(next++);
  };
  await Promise.all(Array.from({ length: Math.min(width, count) }, lane));
}

export function shuffle<T>(items: T[]): T[] {
  for (let i = items.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [items[i], items[j]] = [items[j]!, items[i]!];
  }
  return items;
}
