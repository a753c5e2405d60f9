// Key lookups that miss the cache, gathered into few queries. After a restart every key misses once,
// and a fleet asks for all of them at once: one query per key queues each behind the others in the
// connection pool. Here the lookups of one turn of the event loop share a query, and while two
// queries are out, new lookups wait and join the next one: under a storm each query carries
// every key asked about while the previous ones ran, instead of the few of a single turn. A query
// that takes too long gives up its place, so a stuck one holds the others back a moment at most.

/** Most keys read by one query; more waiting keys make another query. */
const MAX_BATCH = 500;
/** Queries out at once; lookups made meanwhile wait for the next. */
const MAX_IN_FLIGHT = 2;
/**
 * A query out longer than this stops counting against MAX_IN_FLIGHT (its lookups still wait for
 * it): a query stuck on a backend that never answers must not hold every other cold key back.
 */
const SLOT_MS = 250;

interface Waiter<T> {
  resolve(value: T | undefined): void;
  reject(error: unknown): void;
}

/**
 * `loadMany` returns what it found by id; an id it does not return was not found. Lookups of the
 * same id in one batch share its answer; a failed query fails every lookup in its batch.
 */
export function batchLoads<T>(loadMany: (ids: readonly string[]) => Promise<ReadonlyMap<string, T>>): (id: string) => Promise<T | undefined> {
  // Insertion order: the longest-waiting ids go first.
  const waiting = new Map<string, Waiter<T>[]>();
  let scheduled = false;
  let inFlight = 0;

  const schedule = () => {
    if (scheduled || waiting.size === 0) return;
    scheduled = true;
    // After the current I/O phase: every request read in it has asked for its key by then.
    setImmediate(run);
  };

  const run = () => {
    scheduled = false;
    while (inFlight < MAX_IN_FLIGHT && waiting.size > 0) {
      const batch = new Map<string, Waiter<T>[]>();
      for (const [id, waiters] of waiting) {
        if (batch.size === MAX_BATCH) break;
        batch.set(id, waiters);
        waiting.delete(id);
      }
      inFlight += 1;
      let released = false;
      const release = () => {
        if (released) return;
        released = true;
        inFlight -= 1;
        schedule();
      };
      const slow = setTimeout(release, SLOT_MS);
      slow.unref();
      loadMany([...batch.keys()])
        .then(
          (found) => {
            for (const [id, waiters] of batch) for (const waiter of waiters) waiter.resolve(found.get(id));
          },
          (error: unknown) => {
            for (const waiters of batch.values()) for (const waiter of waiters) waiter.reject(error);
          },
        )
        .finally(() => {
          clearTimeout(slow);
          release();
        });
    }
  };

  return (id) =>
    new Promise<T | undefined>((resolve, reject) => {
      const waiters = waiting.get(id);
      if (waiters) waiters.push({ resolve, reject });
      else waiting.set(id, [{ resolve, reject }]);
      if (inFlight < MAX_IN_FLIGHT) schedule();
    });
}
