// Reads of token records issued in the same event-loop turn go to Redis as one MGET: one command,
// one reply and one promise for the batch, where auto-pipelining sends a GET per read and keeps
// a command, a promise and a callback alive per read until the pipeline's reply.
import type { Redis } from 'ioredis';
import { batchPerTurn } from './turn-batches.ts';

/** Reads one MGET holds at most. */
const MAX_BATCH = 500;

/** The command a batch goes out as (below): the connection sends it without auto-pipelining (redis-connection.ts). */
export const BATCHED_GET_COMMAND = 'mget';

export type BatchedGet = (key: string) => Promise<string | null>;

export function batchedGet(redis: Redis): BatchedGet {
  return batchPerTurn(MAX_BATCH, (keys: string[]) => redis.mget(keys));
}
