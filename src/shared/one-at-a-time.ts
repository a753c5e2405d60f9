// A write that must never run twice at once, for the batching recorders (keys/usage.ts,
// keys/activity.ts): a flush of many keys is several store calls, and whoever closes a recorder
// closes its store's connection right after, so close() must be able to wait for the flush on its
// way, and a flush called meanwhile must not overtake it.

/**
 * `write` wrapped so that calls run one after another. A call while one runs starts another
 * once it ends (what waits now arrived after the running one took its batch); calls made while
 * that one has not started yet share it, so a slow store never queues up more than one.
 */
export function oneAtATime(write: () => Promise<void>): () => Promise<void> {
  let running: Promise<void> = Promise.resolve();
  let next: Promise<void> | undefined;
  return () => {
    if (next) return next;
    const call = running.then(() => {
      next = undefined;
      return write();
    });
    // The caller sees the call's failure; the calls after it still run.
    running = call.catch(() => undefined);
    next = call;
    return call;
  };
}
