// Elapsed time as the bench prints it.

/** Seconds since `start` (a performance.now() reading), to a tenth. */
export function secondsSince(start: number): number {
  return Math.round((performance.now() - start) / 100) / 10;
}
