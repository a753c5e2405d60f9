// Token saves of one event-loop turn go to one Redis node as one script call: for each token its
// key's index entry, the index's expiry and the record, index first. Separate calls (even
// auto-pipelined) cost Redis a script run and ioredis a command, a promise and a callback per
// token, kept alive until the pipeline's reply. Single node and Sentinel only: on a Cluster the
// records of one batch live in different slots.
import type { Redis } from 'ioredis';
import { batchPerTurn } from './turn-batches.ts';

/** Tokens one script call saves at most. */
const MAX_BATCH = 200;

export interface TokenWrite {
  /** The key's index bucket (a hash of token hash → ''). */
  index: string;
  /** The index bucket's expiry, unix seconds. */
  indexExpiresAt: number;
  /** Where the record lives. */
  recordKey: string;
  tokenHash: string;
  /** The encoded record. */
  value: string;
  ttlSeconds: number;
}

export type BatchedSave = (write: TokenWrite) => Promise<void>;

// KEYS, per token: its index bucket, its record. ARGV, per token: the token hash, the bucket's
// expiry (unix seconds), the encoded record, its time to live (seconds).
const SAVE_SCRIPT = `
for i = 1, #KEYS, 2 do
  local a = (i - 1) * 2
  redis.call('hset', KEYS[i], ARGV[a + 1], '')
  redis.call('expireat', KEYS[i], ARGV[a + 2])
  redis.call('set', KEYS[i + 1], ARGV[a + 3], 'EX', ARGV[a + 4])
end
return #KEYS / 2`;

/** The script's command name: the connection sends it without auto-pipelining (redis-connection.ts). */
export const BATCHED_SAVE_COMMAND = 'keygateSaveTokens';

type SavingClient = Redis & {
  /** numkeys, then the keys, then the arguments (ioredis's form for a script without a fixed key count). */
  keygateSaveTokens(...numKeysKeysAndArgs: (string | number)[]): Promise<number>;
};

export function batchedSave(redis: Redis): BatchedSave {
  if (!(BATCHED_SAVE_COMMAND in redis)) redis.defineCommand(BATCHED_SAVE_COMMAND, { lua: SAVE_SCRIPT });
  const client = redis as SavingClient;
  // A script that fails part-way may have saved some of the batch: those tokens are never handed
  // out, and their records expire on their own.
  return batchPerTurn(MAX_BATCH, async (writes: TokenWrite[]) => {
    const keys: string[] = [];
    const args: (string | number)[] = [];
    for (const write of writes) {
      keys.push(write.index, write.recordKey);
      args.push(write.tokenHash, write.indexExpiresAt, write.value, write.ttlSeconds);
    }
    try {
      await client.keygateSaveTokens(keys.length, ...keys, ...args);
    } catch (error) {
      // ioredis answers a NOSCRIPT with one more try, which may again be an EVALSHA; a second
      // flush of Redis's script cache in between lands here, with Redis up. EVAL carries the
      // script itself, and writing a batch twice writes the same values.
      if (!isNoScript(error)) throw error;
      await client.eval(SAVE_SCRIPT, keys.length, ...keys, ...args);
    }
    return writes.map(() => undefined);
  });
}

function isNoScript(error: unknown): boolean {
  return error instanceof Error && error.message.startsWith('NOSCRIPT');
}
