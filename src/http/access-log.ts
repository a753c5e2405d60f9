// One log line and one duration sample per request. Routes are labelled by template, never by
// raw path, so ids and tokens never reach a metric label; the log holds no headers or bodies.
import type { Middleware } from 'koa';
import type { Logger } from 'pino';
import type { Metrics } from './metrics.ts';

export function accessLog(log: Logger, metrics: Metrics, routeOf: (path: string) => string): Middleware {
  return async function logRequest(ctx, next) {
    const started = process.hrtime.bigint();
    try {
      await next();
    } finally {
      // Routes handed to oidc-provider write the response themselves: read the raw status.
      const status = ctx.respond === false ? ctx.res.statusCode : ctx.status;
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      const route = routeOf(ctx.path);
      metrics.requestDuration.observe({ route, method: ctx.method, status: String(status) }, seconds);
      log.info({
        requestId: ctx.state.scope?.requestId, method: ctx.method, route, status, ms: Math.round(seconds * 10_000) / 10,
        ip: ctx.state.scope?.clientIpText,
      }, 'request');
    }
  };
}
