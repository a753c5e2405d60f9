// One log line and one duration sample per request. Routes are labelled by template, never by
// raw path, so ids and tokens never reach a metric label; the log holds no headers or bodies.
import type { Middleware } from 'koa';
import type { Logger } from 'pino';
import type { Metrics } from '../shared/metrics.ts';
import type { HistogramSeries } from '../shared/metric-series.ts';

export interface CompletedRequest {
  method: string;
  /** Route template (or 'unmatched'). */
  route: string;
  status: number;
  /** process.hrtime.bigint() when the request arrived. */
  startedAt: bigint;
  requestId: string | undefined;
  ip: string | null | undefined;
}

export type RequestRecorder = (request: CompletedRequest) => void;

export function createRequestRecorder(log: Logger, metrics: Metrics): RequestRecorder {
  // Each route/method/status series is resolved once and kept: no label object and no status
  // text per request.
  const series = new Map<string, HistogramSeries>();
  return function recordRequest({ method, route, status, startedAt, requestId, ip }) {
    const seconds = Number(process.hrtime.bigint() - startedAt) / 1e9;
    const name = `${route} ${method} ${status}`;
    let histogram = series.get(name);
    if (!histogram) {
      histogram = metrics.requestDuration.labels({ route, method, status: String(status) });
      series.set(name, histogram);
    }
    histogram.observe(seconds);
    log.info({ requestId, method, route, status, ms: Math.round(seconds * 10_000) / 10, ip }, 'request');
  };
}

export function accessLog(recordRequest: RequestRecorder, routeOf: (path: string) => string): Middleware {
  return async function logRequest(ctx, next) {
    const startedAt = process.hrtime.bigint();
    try {
      await next();
    } finally {
      // Routes handed to oidc-provider write the response themselves: read the raw status.
      const status = ctx.respond === false ? ctx.res.statusCode : ctx.status;
      recordRequest({
        method: ctx.method,
        route: routeOf(ctx.path),
        status,
        startedAt,
        requestId: ctx.state.scope?.requestId,
        ip: ctx.state.scope?.clientIpText,
      });
    }
  };
}
