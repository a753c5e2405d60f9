// The load generator, run as its own process on the load core: `node bench/load-worker.ts spec.json`.
// A warm-up (autocannon, flat out), then the measured run: autocannon flat out, or paced.ts at
// `rate` (after a lead-in at that rate, unmeasured, that opens the pool's connections). Prints
// JSON lines: {"phase":"measure"}, then waits for a line on stdin (the orchestrator starts its
// counters in the server first, so that work does not fall inside the run), then {"result":…}.
// Latencies are kept per response (autocannon's own histogram has 1 ms resolution).
import { readFileSync } from 'node:fs';
import autocannon, { type Request } from 'autocannon';
import type { LoadBucket, LoadSpec, LoadResult } from './load.ts';
import { watchLoopGaps } from './loop-gaps.ts';
import { pacedClient, type PacedRequest, type PacedResult } from './paced.ts';

/** Seconds at the paced rate before a paced run is measured. */
const PACED_LEAD_IN_SECONDS = 1;

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

interface Window {
  latencies: number[];
  non2xx: number;
  errors: number;
}

async function flatOut(seconds: number, latencies?: number[], windows?: Window[]): Promise<PacedResult> {
  const nextRequest = requestSource();
  const request: Request = spec.variants?.length ? { setupRequest: (r) => ({ ...r, ...nextRequest() }) } : nextRequest();
  const instance = autocannon({ url: spec.url, connections: spec.connections, pipelining: 1, duration: seconds, timeout: 10, requests: [request] });
  const started = performance.now();
  const windowOf = () => {
    // The last answers arrive just after the run ends: they belong to its last window.
    const last = Math.ceil(spec.durationSeconds / spec.bucketSeconds!) - 1;
    const index = Math.min(last, Math.floor((performance.now() - started) / 1000 / spec.bucketSeconds!));
    while (windows!.length <= index) windows!.push({ latencies: [], non2xx: 0, errors: 0 });
    return windows![index]!;
  };
  if (latencies) {
    instance.on('response', (_client: unknown, status: number, _bytes: number, ms: number) => {
      latencies.push(ms);
      if (!windows) return;
      const window = windowOf();
      window.latencies.push(ms);
      if (status < 200 || status >= 300) window.non2xx += 1;
    });
  }
  if (windows) instance.on('reqError', () => void (windowOf().errors += 1));
  const result = await instance;
  const statusCodes = Object.fromEntries(Object.entries(result.statusCodeStats).map(([code, s]) => [code, s.count]));
  return { durationSeconds: result.duration, statusCodes, errors: result.errors, timeouts: result.timeouts, latencies: latencies ?? [] };
}

function percentile(sorted: Float64Array, p: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

function summariseWindows(windows: Window[]): LoadBucket[] {
  return windows.map((w, i) => ({
    fromSecond: i * spec.bucketSeconds!,
    requestsPerSecond: (w.latencies.length + w.errors) / Math.min(spec.bucketSeconds!, spec.durationSeconds - i * spec.bucketSeconds!),
    p99: percentile(Float64Array.from(w.latencies).sort(), 99),
    non2xx: w.non2xx,
    errors: w.errors,
  }));
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
    buckets: windows && summariseWindows(windows),
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

/** Tells the orchestrator the measured run is next, and waits for its go-ahead on stdin. */
async function measureWhenTold(): Promise<void> {
  process.stdout.write(`${JSON.stringify({ phase: 'measure' })}\n`);
  await new Promise((resolve) => process.stdin.once('data', resolve).once('end', resolve));
  process.stdin.destroy();
}

// The warm-up always runs flat out, so caches are as warm for a fixed-rate run as for the others.
if (spec.warmupSeconds > 0) await flatOut(spec.warmupSeconds);
const client = spec.rate ? pacedClient(spec.url, spec.connections) : undefined;
const nextRequest = requestSource();
if (client) await client.run({ rate: spec.rate!, seconds: PACED_LEAD_IN_SECONDS, next: nextRequest });
await measureWhenTold();
const cpuBefore = process.cpuUsage();
const started = performance.now();
const windows: Window[] | undefined = spec.bucketSeconds && !spec.rate ? [] : undefined;
const stopWatchingLoop = client ? watchLoopGaps() : undefined;
const result = client
  ? await client.run({ rate: spec.rate!, seconds: spec.durationSeconds, next: nextRequest })
  : await flatOut(spec.durationSeconds, [], windows);
client?.close();
const loopGaps = stopWatchingLoop?.();
const cpu = process.cpuUsage(cpuBefore);
const loadCpuPercent = Math.round(((cpu.user + cpu.system) / 1000 / (performance.now() - started)) * 100);
process.stdout.write(`${JSON.stringify({ result: { ...summarise(result, loadCpuPercent), loopGaps } })}\n`);
