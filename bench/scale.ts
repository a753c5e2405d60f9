// Scale mode's data: grow from the real keys to `scaleKeys` keys (bulk insert) and write
// `scaleTokens` live tokens to Redis, then prove both are usable through the real server.
import { sql } from 'kysely';
import { Redis } from 'ioredis';
import { hashToken } from '../src/crypto/token-hash.ts';
import { REDIS_LAYOUT } from '../src/stores/tokens-redis.ts';
import type { Runtime } from '../src/runtime.ts';
import { insertKeys, shuffle, writeTokens, type Credential } from './seed.ts';
import type { Settled } from './settle.ts';

/**
 * The runs of the 1,000-key server paired with each round's runs at scale (run.ts, measureScale):
 * its storm (which only ages it as the scaled one is aged), the warm runs each cold storm is held
 * to (run right after that storm), and the warm runs paired with the scaled warm runs.
 */
export const REFERENCE = {
  storm: 'token-1k-after-restart',
  introspectionBesideCold: 'introspect-live-1k-beside-cold',
  tokenBesideCold: 'token-1k-beside-cold',
  introspection: 'introspect-live-1k',
  token: 'token-1k',
} as const;

export interface ScaleData {
  keys: Credential[];
  /** A shuffled sample of the live tokens, for the load generator. */
  tokens: string[];
  redis: {
    tokensWritten: number;
    usedMemoryDelta: number;
    bytesPerToken: number;
    /** MEMORY USAGE of one token record (key + value + expiry), without its index entry. */
    oneRecordBytes: number;
    redisVersion: string;
    /** The index buckets are hashes, listpack-encoded while small (tokens-redis.ts). */
    indexEncoding: string;
  };
  seconds: { insertKeys: number; writeTokens: number };
  /** After each storm, on both sides: how long its writes took to land and be vacuumed (settle.ts). */
  settles: (Settled & { round: number; keys: number; storm: string })[];
}

export async function growToScale(
  runtime: Runtime,
  redisUrl: string,
  baseUrl: string,
  realKeys: Credential[],
  options: {
    scaleKeys: number;
    scaleTokens: number;
  },
): Promise<ScaleData> {
  let started = performance.now();
  const bulk = await insertKeys(runtime, realKeys[0]!.clientId, options.scaleKeys - realKeys.length);
  await sql`analyze api_keys`.execute(runtime.db);
  await lastUsedAnHourAgo(runtime);
  const insertSeconds = (performance.now() - started) / 1000;
  const keys = [...realKeys, ...bulk.keys];

  started = performance.now();
  const perKey = Math.ceil(options.scaleTokens / keys.length);
  const written = await writeTokens(
    redisUrl,
    keys.map((k) => k.clientId),
    {
      perKey,
      ttlSeconds: 3600,
      generation: bulk.secretGeneration,
      sampleEvery: 5,
    },
  );
  const writeSeconds = (performance.now() - started) / 1000;
  const tokens = shuffle(written.sample);

  // The layout written above must be the store's own, and the tokens live for the real server.
  if (!(await runtime.tokens.find(hashToken(tokens[0]!)))) {
    throw new Error('bulk-written token not found through src/stores token store: the Redis layout changed');
  }
  await expectOk(`${baseUrl}/oauth/token`, bulk.keys.at(-1)!.authorization, 'grant_type=client_credentials', 'a bulk-inserted key could not get a token');

  const redis = new Redis(redisUrl);
  const sampleRecord = (await runtime.tokens.find(hashToken(tokens[0]!)))!;
  const oneRecordBytes = Number(await redis.call('MEMORY', 'USAGE', REDIS_LAYOUT.tokenKey(hashToken(tokens[0]!)), 'SAMPLES', '0'));
  const redisVersion = /redis_version:(\S+)/.exec(await redis.info('server'))?.[1] ?? 'unknown';
  const indexEncoding = String(await redis.call('OBJECT', 'ENCODING', REDIS_LAYOUT.indexKey(sampleRecord.clientId, REDIS_LAYOUT.bucketOf(sampleRecord.exp))));
  await redis.quit();
  const delta = written.usedMemoryAfter - written.usedMemoryBefore;
  return {
    keys,
    tokens,
    redis: {
      tokensWritten: written.written,
      usedMemoryDelta: delta,
      bytesPerToken: delta / written.written,
      oneRecordBytes,
      redisVersion,
      indexEncoding,
    },
    seconds: { insertKeys: insertSeconds, writeTokens: writeSeconds },
    settles: [],
  };
}

/**
 * A fleet that restarts has used its keys before: each bulk key gets a last use an hour old, from
 * the loopback address the load comes from, so the first storm rewrites every key's row, as every
 * storm more than ten minutes after the one before does, rather than filling never-used rows; and
 * the table is vacuumed, as one in service is. What a fleet's very first minute costs is measured
 * apart (docs/performance.md).
 */
async function lastUsedAnHourAgo(runtime: Runtime): Promise<void> {
  await sql`update api_key_last_use set last_used_at = now() - interval '1 hour', last_used_ip = '127.0.0.1' where last_used_at is null`.execute(runtime.db);
  await sql`vacuum analyze api_key_last_use`.execute(runtime.db);
}

async function expectOk(url: string, authorization: string, body: string, message: string): Promise<void> {
  const response = await fetch(url, {
    method: 'POST',
    headers: { authorization, 'content-type': 'application/x-www-form-urlencoded' },
    body,
  });
  if (!response.ok) throw new Error(`${message}: ${response.status} ${await response.text()}`);
}
