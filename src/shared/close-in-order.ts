// Shutting down a process's parts in order. A part that fails to close must not keep the parts
// after it open: a Redis connection that errors on QUIT would otherwise leave the database pool
// and an embedded Postgres (a child process) running after Keygate has exited.

/**
 * Runs every step in turn, each after the one before it has settled, whatever it ended with.
 * Rejects once all have run: with the one failure, or an AggregateError of them all, in order.
 */
export async function closeInOrder(steps: ReadonlyArray<() => unknown>): Promise<void> {
  const failures: unknown[] = [];
  for (const step of steps) {
    try {
      await step();
    } catch (error) {
      failures.push(error);
    }
  }
  if (failures.length === 1) throw failures[0];
  if (failures.length > 1) throw new AggregateError(failures, `${failures.length} parts failed to close`);
}
