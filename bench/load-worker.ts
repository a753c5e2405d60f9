// The load generator, run as its own process on the load core: `node bench/load-worker.ts spec.json`.
// A warm-up (autocannon, flat out), then the measured run: autocannon flat out, or paced.ts at
// `rate`. Prints JSON lines: {"phase":"measure"}, then {"result":…}. Latencies are kept per
// response (autocannon's own histogram has 1 ms resolution).
import { readFileSync } from 'node:fs';
import autocannon, { type Request } from 'autocannon';
import type { LoadSpec, LoadResult } from './load.ts';
import { paced, type PacedRequest, type PacedResult } from './paced.ts';

const spec = JSON.parse(readFileSync(process.argv[2]!, 'utf8')) as LoadSpec;

/** The next request: consecutive calls, from every connection, take consecutive variants. */
function requestSource(): () => PacedRequest {
  let next = 0;
  return () => {
    const variant = spec.variants?.[next++ % spec.variants.length];
    return {
      method: spec.method,
      path: spec.path,
      headers: variant?.authorization ? { ...spec.headers, authorization: variant.authorization } : spec.headers,
      body: variant?.body ?? spec.body,
    };
  };
}

async function flatOut(seconds: number, latencies?: number[]): Promise<PacedResult> {
  const nextRequest = requestSource();
  const request: Request = spec.variants?.length ? { setupRequest: (r) => ({ ...r, ...nextRequest() }) } : nextRequest();
  const instance = autocannon({ url: spec.url, connections: spec.connections, pipelining: 1, duration: seconds, timeout: 10, requests: [request] });
  if (latencies) instance.on('response', (_client: unknown, _status: number, _bytes: number, ms: number) => void latencies.push(ms));
  const result = await instance;
  const statusCodes = Object.fromEntries(Object.entries(result.statusCodeStats).map(([code, s]) => [code, s.count]));
  return { durationSeconds: result.duration, statusCodes, errors: result.errors, timeouts: result.timeouts, latencies: latencies ?? [] };
}

function percentile(sorted: Float64Array, p: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

function summarise(result: PacedResult, loadCpuPercent: number): LoadResult {
  const sorted = Float64Array.from(result.latencies).sort();
  const count = (test: (code: number) => boolean) =>
    Object.entries(result.statusCodes)
      .filter(([code]) => test(Number(code)))
      .reduce((sum, [, n]) => sum + n, 0);
  const requests = count(() => true);
  return {
    durationSeconds: result.durationSeconds,
    requests,
    requestsPerSecond: requests / result.durationSeconds,
    ok: count((c) => c >= 200 && c < 300),
    non2xx: count((c) => c < 200 || c >= 300),
    errors: result.errors,
    timeouts: result.timeouts,
    loadCpuPercent,
    affinity: /Cpus_allowed_list:\s*(\S+)/.exec(readFileSync('/proc/self/status', 'utf8'))?.[1] ?? '?',
    statusCodes: result.statusCodes,
    latencyMs: {
      p50: percentile(sorted, 50),
      p90: percentile(sorted, 90),
      p99: percentile(sorted, 99),
      p999: percentile(sorted, 99.9),
      max: sorted.at(-1) ?? 0,
      mean: sorted.reduce((a, b) => a + b, 0) / (sorted.length || 1),
    },
  };
}

// The warm-up always runs flat out, so caches are as warm for a fixed-rate run as for the others.
if (spec.warmupSeconds > 0) await flatOut(spec.warmupSeconds);
process.stdout.write(`${JSON.stringify({ phase: 'measure' })}\n`);
const cpuBefore = process.cpuUsage();
const started = performance.now();
const result = spec.rate
  ? await paced(spec.url, { rate: spec.rate, seconds: spec.durationSeconds, connections: spec.connections, next: requestSource() })
  : await flatOut(spec.durationSeconds, []);
const cpu = process.cpuUsage(cpuBefore);
const loadCpuPercent = Math.round(((cpu.user + cpu.system) / 1000 / (performance.now() - started)) * 100);
process.stdout.write(`${JSON.stringify({ result: summarise(result, loadCpuPercent) })}\n`);
