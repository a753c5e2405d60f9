// The event machinery a serving replica runs: every `pollMs` it fans new events out to webhook
// deliveries, sends due deliveries, streams the audit log and raises scheduled events that fell
// due, each step until it has nothing left. Every replica runs the same loop; row locks and leases
// in Postgres keep them from doing the same work twice.
import type { Logger } from 'pino';

export interface EventStep {
  name: string;
  /** Does one batch; returns how much it did (0 = nothing left for now). */
  once(): Promise<number>;
}

export function startEventWorkers(steps: readonly EventStep[], pollMs: number, log: Logger) {
  let stopped = false;
  let wake: (() => void) | undefined;
  async function runStep(step: EventStep): Promise<void> {
    // Bounded, so one busy step cannot starve the others.
    for (let round = 0; round < 50 && !stopped; round++) {
      if ((await step.once()) === 0) return;
    }
  }
  const loop = (async () => {
    while (!stopped) {
      for (const step of steps) {
        if (stopped) break;
        await runStep(step).catch((error: unknown) => log.error({ err: error, step: step.name }, 'event step failed; retrying next round'));
      }
      await new Promise<void>((resolve) => {
        wake = resolve;
        setTimeout(resolve, pollMs).unref();
      });
    }
  })();
  return {
    /** Finishes the round in progress (no attempt is cut off), then stops. */
    async stop(): Promise<void> {
      stopped = true;
      wake?.();
      await loop;
    },
  };
}
