import type { Context } from 'koa';
import type { Metrics } from '../shared/metrics.ts';

export function healthz(ctx: Context): void {
  ctx.body = { status: 'ok' };
}

/** A readiness check that fails with this reports its state (e.g. 'warming') instead of 'unavailable'. */
export class NotReadyYet extends Error {
  readonly state: string;
  constructor(state: string) {
    super(state);
    this.state = state;
  }
}

/** /readyz: every dependency answers and start-up work is done; 503 names what is not. */
export function createReadiness(checks: Record<string, () => Promise<void>>) {
  return async function readyz(ctx: Context): Promise<void> {
    const results = await Promise.all(
      Object.entries(checks).map(async ([name, check]) => {
        try {
          await withTimeout(check(), 2000);
          return [name, 'ok'] as const;
        } catch (error) {
          return [name, error instanceof NotReadyYet ? error.state : 'unavailable'] as const;
        }
      }),
    );
    const ready = results.every(([, state]) => state === 'ok');
    ctx.status = ready ? 200 : 503;
    ctx.body = { status: ready ? 'ready' : 'not_ready', checks: Object.fromEntries(results) };
  };
}

export function serveMetrics(metrics: Metrics) {
  return async function metricsEndpoint(ctx: Context): Promise<void> {
    ctx.type = metrics.registry.contentType;
    ctx.body = await metrics.registry.metrics();
  };
}

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error('timeout')), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}
