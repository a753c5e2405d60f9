// Prometheus metrics, served at /metrics. One registry per app, so tests can run several.
import client from 'prom-client';
import { addPendingCounts, counterSeries, SeriesHistogram, type HistogramSeries } from './metric-series.ts';

export function createMetrics() {
  const registry = new client.Registry();
  client.collectDefaultMetrics({ register: registry });
  const storeBuckets = [0.0002, 0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.5];
  return {
    registry,
    requestDuration: new SeriesHistogram({
      name: 'keygate_http_request_duration_seconds',
      help: 'HTTP request duration by route template, method and status',
      labelNames: ['route', 'method', 'status'] as const,
      buckets: [0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1],
      registers: [registry],
    }),
    tokensIssued: new client.Counter({
      name: 'keygate_tokens_issued_total',
      help: 'Tokens issued, by route',
      labelNames: ['route'] as const,
      registers: [registry],
      collect: addPendingCounts,
    }),
    tokensDenied: new client.Counter({
      name: 'keygate_requests_denied_total',
      help: 'Denied token and introspection requests, by action and reason',
      labelNames: ['action', 'reason'] as const,
      registers: [registry],
      collect: addPendingCounts,
    }),
    authLockouts: new client.Counter({
      name: 'keygate_auth_lockouts_total',
      help: 'Failed-authentication lockouts started (once per window each), by limit',
      labelNames: ['limit'] as const,
      registers: [registry],
      collect: addPendingCounts,
    }),
    introspections: new client.Counter({
      name: 'keygate_introspections_total',
      help: 'Introspection answers, by result',
      labelNames: ['result'] as const,
      registers: [registry],
      collect: addPendingCounts,
    }),
    keyVerifications: new client.Counter({
      name: 'keygate_key_verifications_total',
      help: 'Direct key verification answers, by code',
      labelNames: ['result'] as const,
      registers: [registry],
      collect: addPendingCounts,
    }),
    storeDuration: new SeriesHistogram({
      name: 'keygate_store_duration_seconds',
      help: 'Store call latency, by store and operation',
      labelNames: ['store', 'operation'] as const,
      buckets: storeBuckets,
      registers: [registry],
    }),
    keyCache: new client.Counter({
      name: 'keygate_key_cache_lookups_total',
      help: 'Key lookups by cache result (hit, miss, bypass)',
      labelNames: ['result'] as const,
      registers: [registry],
      collect: addPendingCounts,
    }),
  };
}

export type Metrics = ReturnType<typeof createMetrics>;

/** keygate_key_cache_entries: how many keys this replica holds in memory (read at scrape time). */
export function exposeKeyCacheSize(metrics: Metrics, size: () => number): void {
  new client.Gauge({
    name: 'keygate_key_cache_entries',
    help: 'Key snapshots held in the in-process key cache',
    registers: [metrics.registry],
    collect() {
      this.set(size());
    },
  });
}

/** The key cache's lookup counter, one resolved series per result (every request looks keys up). */
export function countKeyCacheLookup(metrics: Metrics): (result: 'hit' | 'miss' | 'bypass') => void {
  const hit = counterSeries(metrics.keyCache, { result: 'hit' });
  const miss = counterSeries(metrics.keyCache, { result: 'miss' });
  const bypass = counterSeries(metrics.keyCache, { result: 'bypass' });
  return (result) => (result === 'hit' ? hit : result === 'miss' ? miss : bypass).inc();
}

/** Times `work` into the store histogram. */
export async function timed<T>(metrics: Metrics, store: 'postgres' | 'redis' | 'memory', operation: string, work: () => Promise<T>): Promise<T> {
  const startedAt = process.hrtime.bigint();
  try {
    return await work();
  } finally {
    observeStoreCall(metrics, store, operation, startedAt);
  }
}

/** Records a store call that started at `startedAt` (process.hrtime.bigint()); for callers that time inline. */
export function observeStoreCall(metrics: Metrics, store: 'postgres' | 'redis' | 'memory', operation: string, startedAt: bigint): void {
  storeSeries(metrics, store, operation).observe(Number(process.hrtime.bigint() - startedAt) / 1e9);
}

// Token reads and writes are timed on every request: each (store, operation) series is resolved once.
const storeSeriesByRegistry = new WeakMap<Metrics, Map<string, HistogramSeries>>();

function storeSeries(metrics: Metrics, store: string, operation: string) {
  let series = storeSeriesByRegistry.get(metrics);
  if (!series) storeSeriesByRegistry.set(metrics, (series = new Map()));
  const name = `${store} ${operation}`;
  let histogram = series.get(name);
  if (!histogram) series.set(name, (histogram = metrics.storeDuration.labels({ store, operation })));
  return histogram;
}

/** Event delivery: queue depth (read at scrape time), webhook latency and failures, audit streaming. */
export function createEventMetrics(metrics: Metrics, depth: () => Promise<{ queue: string; count: number }[]>) {
  new client.Gauge({
    name: 'keygate_events_queue_depth',
    help: 'Events waiting: outbox rows by destination, and webhook deliveries not yet delivered or given up',
    labelNames: ['queue'] as const,
    registers: [metrics.registry],
    async collect() {
      this.reset();
      for (const { queue, count } of await depth().catch(() => [])) this.set({ queue }, count);
    },
  });
  return {
    webhookDuration: new client.Histogram({
      name: 'keygate_webhook_delivery_duration_seconds',
      help: 'Webhook delivery attempts, by outcome (delivered, failed)',
      labelNames: ['outcome'] as const,
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers: [metrics.registry],
    }),
    webhookFailures: new client.Counter({
      name: 'keygate_webhook_delivery_failures_total',
      help: 'Failed webhook delivery attempts, by kind (status, network, refused)',
      labelNames: ['kind'] as const,
      registers: [metrics.registry],
    }),
    webhooksDisabled: new client.Counter({
      name: 'keygate_webhook_endpoints_disabled_total',
      help: 'Webhook endpoints disabled after sustained failure',
      registers: [metrics.registry],
    }),
    auditStreamed: new client.Counter({
      name: 'keygate_audit_stream_records_total',
      help: 'Audit records handed to a sink, by sink and outcome (sent, failed: to be retried)',
      labelNames: ['sink', 'outcome'] as const,
      registers: [metrics.registry],
    }),
  };
}

export type EventMetrics = ReturnType<typeof createEventMetrics>;
