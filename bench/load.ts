// One scenario: the load worker (autocannon) as a child on the load core, against a server on the
// servers' core, while this process samples the server's RSS and everyone's CPU time.
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import type { LoopGaps } from './loop-gaps.ts';
import { coreTicks, cpuTicksOf, exited, memoryOf, startChild, stopChild, threadTicksOf, TICKS_PER_SECOND, treeCpuTicksOf } from './children.ts';

export interface LoadSpec {
  url: string;
  method: 'GET' | 'POST';
  path: string;
  headers: Record<string, string>;
  body?: string;
  /** Taken in turn, one per request, by all connections together. */
  variants?: { authorization?: string; body?: string }[];
  connections: number;
  /** Offered load, req/s over all connections; undefined = as fast as answers come. */
  rate?: number | undefined;
  warmupSeconds: number;
  durationSeconds: number;
  /** Flat out only: also report the measured run in windows of this many seconds (the cold-start storm). */
  bucketSeconds?: number | undefined;
}

/** One window of a bucketed run. */
export interface LoadBucket {
  fromSecond: number;
  requestsPerSecond: number;
  p99: number;
  non2xx: number;
  errors: number;
}

export interface LoadResult {
  durationSeconds: number;
  /** Responses received (any status). */
  requests: number;
  requestsPerSecond: number;
  ok: number;
  non2xx: number;
  errors: number;
  timeouts: number;
  /** CPU the load generator itself used during the measured run, % of one core. */
  loadCpuPercent: number;
  /** Cpus_allowed_list of the load generator process. */
  affinity: string;
  statusCodes: Record<string, number>;
  latencyMs: { p50: number; p90: number; p99: number; p999: number; max: number; mean: number };
  buckets?: LoadBucket[] | undefined;
  /** Paced runs: how long the load generator's own event loop was held (a request due then went out late). */
  loopGaps?: LoopGaps | undefined;
}

/** Processes whose CPU use is reported: name → main PID (with `tree`, its children's, live or ended, are added). */
export interface Watched {
  name: string;
  pid: number;
  tree?: boolean;
}

export interface ScenarioResult extends LoadResult {
  /** Peak VmRSS of the server sampled during warm-up and measurement, bytes. */
  serverRssPeak: number;
  /** CPU used during the measured run, in % of one core. */
  cpuPercent: Record<string, number>;
  /** Whole-machine busy and steal % per core during the measured run (other tenants included). */
  cores: Record<string, { busyPercent: number; stealPercent: number }>;
  /** Servers' core: busy % not used by the watched processes, i.e. taken by others. Undefined when not pinned. */
  foreignPercent: number | undefined;
  /**
   * The server's CPU in the measured run by thread name, in % of one core: the main thread's share
   * against V8's helper threads' (concurrent marking and sweeping, compilation), which share the
   * pinned core with it.
   */
  serverThreads: Record<string, number>;
}

const WORKER = path.join(import.meta.dirname, 'load-worker.ts');

export async function runScenario(options: {
  name: string;
  spec: LoadSpec;
  tempDir: string;
  loadCore: number | undefined;
  serverCore: number | undefined;
  serverPid: number;
  watched: Watched[];
  /** Called once warm-up is over; the measured run starts when it has finished. */
  onMeasureStart?: () => Promise<void>;
}): Promise<ScenarioResult> {
  const { spec } = options;
  const specFile = path.join(options.tempDir, `${options.name.replace(/[^\w.-]/g, '_')}.json`);
  writeFileSync(specFile, JSON.stringify(spec));
  let rssPeak = 0;
  const sample = () => {
    try {
      rssPeak = Math.max(rssPeak, memoryOf(options.serverPid).rss);
    } catch {
      // the server exited; the scenario fails below
    }
  };
  const sampler = setInterval(sample, 200);
  let cpuStart: Map<string, number> | undefined;
  let coresStart: ReturnType<typeof coreTicks> | undefined;
  let threadsStart: Map<string, number> | undefined;
  let measureStart = 0;
  let result: LoadResult | undefined;
  let measureHook: Promise<void> | undefined;
  const worker = startChild(`load:${options.name}`, process.execPath, [WORKER, specFile], {
    core: options.loadCore,
    stdin: true,
    onStdoutLine(line) {
      let message: { phase?: string; result?: LoadResult };
      try {
        message = JSON.parse(line) as typeof message;
      } catch {
        return; // not one of the worker's JSON lines
      }
      if (message.phase === 'measure') {
        // The server's counters start before the worker does: their set-up is not measured.
        measureHook = (async () => {
          await options.onMeasureStart?.();
          cpuStart = cpuTicks(options.watched);
          coresStart = coreTicks();
          threadsStart = threadTicksOf(options.serverPid);
          measureStart = performance.now();
          worker.process.stdin!.end('go\n');
        })();
      }
      if (message.result) result = message.result;
    },
  });
  const limitMs = (spec.warmupSeconds + spec.durationSeconds + 60) * 1000;
  const timer = setTimeout(() => void stopChild(worker), limitMs);
  const code = await exited(worker);
  await measureHook;
  clearTimeout(timer);
  clearInterval(sampler);
  sample();
  const cpuEnd = cpuTicks(options.watched);
  const coresEnd = coreTicks();
  const threadsEnd = threadTicksOf(options.serverPid);
  const elapsed = (performance.now() - measureStart) / 1000;
  if (code !== 0 || !result || !cpuStart || !coresStart) {
    throw new Error(`load generator for ${options.name} failed (exit ${code})\n${worker.tail()}`);
  }
  const cpuPercent: Record<string, number> = {};
  for (const [name, ticks] of cpuEnd) {
    cpuPercent[name] = Math.round((ticksUsed(cpuStart.get(name), ticks) / TICKS_PER_SECOND / elapsed) * 100);
  }
  const cores: ScenarioResult['cores'] = {};
  for (const [name, end] of coresEnd) {
    const start = coresStart.get(name) ?? end;
    const total = Math.max(1, end.total - start.total);
    cores[name] = {
      busyPercent: Math.round(((end.busy - start.busy) / total) * 100),
      stealPercent: Math.round(((end.steal - start.steal) / total) * 100),
    };
  }
  const serverThreads: Record<string, number> = {};
  for (const [name, ticks] of threadsEnd) {
    // A thread started during the run counts from zero.
    serverThreads[name] = Math.round(((ticks - (threadsStart?.get(name) ?? 0)) / TICKS_PER_SECOND / elapsed) * 100);
  }
  const serverCoreBusy = options.serverCore === undefined ? undefined : cores[`cpu${options.serverCore}`]?.busyPercent;
  const foreignPercent = serverCoreBusy === undefined ? undefined : Math.max(0, serverCoreBusy - Object.values(cpuPercent).reduce((a, b) => a + b, 0));
  return { ...result, serverRssPeak: rssPeak, cpuPercent, cores, foreignPercent, serverThreads };
}

/** name → CPU ticks (of the whole tree for a watched tree). */
function cpuTicks(watched: Watched[]): Map<string, number> {
  return new Map(watched.map((w) => [w.name, w.tree ? treeCpuTicksOf(w.pid) : cpuTicksOf(w.pid)]));
}

/** Ticks used between two readings; none when the process was gone at the end. */
function ticksUsed(start: number | undefined, end: number): number {
  return start === undefined ? 0 : Math.max(0, end - start);
}
