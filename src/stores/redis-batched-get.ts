// Reads of token records issued in the same event-loop turn go to Redis as one MGET: one command,
// one reply and one promise for the batch, where auto-pipelining sends a GET per read and keeps
// a command, a promise and a callback alive per read until the pipeline's reply.
import type { Redis } from 'ioredis';

/** Reads one batch holds at most; a full batch is sent at once. */
const MAX_BATCH = 500;

export type BatchedGet = (key: string) => Promise<string | null>;

export function batchedGet(redis: Redis): BatchedGet {
  // Parallel arrays rather than a record per read.
  let keys: string[] = [];
  let resolvers: ((value: string | null) => void)[] = [];
  let rejecters: ((error: unknown) => void)[] = [];

  const send = () => {
    if (keys.length === 0) return;
    const sent = keys;
    const resolve = resolvers;
    const reject = rejecters;
    keys = [];
    resolvers = [];
    rejecters = [];
    redis.mget(sent).then(
      (values) => {
        for (let i = 0; i < resolve.length; i += 1) resolve[i]!(values[i] ?? null);
      },
      (error: unknown) => {
        for (const fail of reject) fail(error);
      },
    );
  };

  return (key) =>
    new Promise<string | null>((resolve, reject) => {
      // setImmediate, not nextTick: the reads of every request that arrived in this turn's I/O
      // join the batch.
      if (keys.length === 0) setImmediate(send);
      keys.push(key);
      resolvers.push(resolve);
      rejecters.push(reject);
      if (keys.length >= MAX_BATCH) send();
    });
}
