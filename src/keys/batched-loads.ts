// Key lookups that miss the cache, gathered into one query. After a restart every key misses once,
// and a fleet asks for all of them at once: one query per key queues each behind the others in the
// connection pool, while one query for every key asked about in the same turn of the event loop
// costs little more than a single one.

/** Most keys read by one query; more waiting keys make another query. */
const MAX_BATCH = 500;

interface Waiter<T> {
  resolve(value: T | undefined): void;
  reject(error: unknown): void;
}

/**
 * `loadMany` returns what it found by id; an id it does not return was not found. Lookups of the
 * same id in one batch share its answer; a failed query fails every lookup in its batch.
 */
export function batchLoads<T>(loadMany: (ids: readonly string[]) => Promise<ReadonlyMap<string, T>>): (id: string) => Promise<T | undefined> {
  let waiting = new Map<string, Waiter<T>[]>();
  let scheduled = false;

  const run = () => {
    scheduled = false;
    const batch = waiting;
    waiting = new Map();
    const ids = [...batch.keys()];
    for (let start = 0; start < ids.length; start += MAX_BATCH) {
      const chunk = ids.slice(start, start + MAX_BATCH);
      loadMany(chunk).then(
        (found) => {
          for (const id of chunk) for (const waiter of batch.get(id)!) waiter.resolve(found.get(id));
        },
        (error: unknown) => {
          for (const id of chunk) for (const waiter of batch.get(id)!) waiter.reject(error);
        },
      );
    }
  };

  return (id) =>
    new Promise<T | undefined>((resolve, reject) => {
      const waiters = waiting.get(id);
      if (waiters) waiters.push({ resolve, reject });
      else waiting.set(id, [{ resolve, reject }]);
      // After the current I/O phase: every request read in it has asked for its key by then.
      if (!scheduled) {
        scheduled = true;
        setImmediate(run);
      }
    });
}
