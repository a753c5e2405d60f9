// When to try a failed delivery again: exponential backoff with full jitter over the upper half,
// so receivers coming back up are not hit by every replica's retries at the same instant.

export interface Backoff {
  baseMs: number;
  maxMs: number;
}

/** Delay before attempt `attempt + 1`, after `attempt` failed attempts (1 = the first failed). */
export function retryDelayMs(backoff: Backoff, attempt: number, random: () => number = Math.random): number {
  const ceiling = Math.min(backoff.maxMs, backoff.baseMs * 2 ** Math.min(attempt - 1, 30));
  return Math.round(ceiling / 2 + random() * (ceiling / 2));
}
