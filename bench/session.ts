// Runs scenarios and keeps their results: against a baseline server started for the occasion, or
// against the Keygate server (with BENCH_CPU_PROF, profiling exactly each measured run). A run
// during which other tenants of this machine took much of the servers' core is repeated.
import path from 'node:path';
import { startBaseline, type BaselineName } from './baselines.ts';
import { stopChild } from './children.ts';
import type { HostProbe, HostSpeed } from './host-probe.ts';
import type { AllocationCount, AllocationSites, Inspector } from './inspector.ts';
import { LOOP_TICK_MS, type LoopGaps } from './loop-gaps.ts';
import { readRedisLatency, REDIS_LATENCY_THRESHOLD_MS, resetRedisLatency, type RedisStalls } from './redis-latency.ts';
import type { KeygateServer, Stores } from './keygate.ts';
import { runScenario, type ScenarioResult, type Watched } from './load.ts';
import { difference, scrape, type ServerMetrics } from './metrics.ts';
import type { BenchOptions } from './options.ts';
import { summariseProfile, type ProfileSummary } from './profile.ts';
import { preflight, type Scenario } from './scenarios.ts';

export type Measured = ScenarioResult & {
  what: string;
  /** Attempts made; the kept one is the one with the least foreign CPU. */
  attempts: number;
  serverMetrics?: ServerMetrics | undefined;
  profile?: ProfileSummary | undefined;
  /** Keygate only: V8 heap allocation and collections in the measured run (inspector.ts). */
  allocation?: (AllocationCount & { bytesPerRequest: number }) | undefined;
  /** With BENCH_HEAP_PROF=1: the sampled allocation sites of the measured run. */
  allocationSites?: AllocationSites | undefined;
  /** Paced Keygate runs: how long the server's event loop was held (the load generator's is `loopGaps`). */
  serverLoopGaps?: LoopGaps | undefined;
  /** Paced Keygate runs: Redis' events that took REDIS_LATENCY_THRESHOLD_MS or more (redis-latency.ts). */
  redisStalls?: RedisStalls | undefined;
  /** The host probe's readings on the servers' core during the measured run (host-probe.ts). */
  hostSpeed?: HostSpeed | undefined;
};

/** A Keygate run that differs from the defaults: paced, or the cold-start storm (no warm-up, windows, never repeated). */
export interface RunShape {
  rate?: number | undefined;
  warmupSeconds?: number;
  durationSeconds?: number;
  bucketSeconds?: number;
  /** Repeats of a noisy run; 0 for a run that cannot be repeated as it was (a cold start). */
  noiseRetries?: number;
}

export interface SessionSetup {
  options: BenchOptions;
  tempDir: string;
  resultsDir: string;
  serverCore: number | undefined;
  loadCore: number | undefined;
  stores: Stores;
  /** Redis and Postgres, whose CPU is reported with every scenario. */
  watched: Watched[];
  keygate: KeygateServer;
  /** The Keygate server's inspector (allocation counts; CPU profiles with BENCH_CPU_PROF). */
  inspector: Inspector | undefined;
  hostProbe: HostProbe;
}

interface Target {
  pid: number;
  /** A Keygate server: its /metrics is read around each attempt. */
  metricsUrl?: string;
  inspector?: Inspector | undefined;
  shape?: RunShape | undefined;
}

export function createSession(setup: SessionSetup) {
  const { options } = setup;
  /** Scenario name → one result per round. */
  const results: Record<string, Measured[]> = {};

  async function attempt(scenario: Scenario, target: Target): Promise<Omit<Measured, 'what' | 'attempts'>> {
    const before = target.metricsUrl ? await scrape(target.metricsUrl) : undefined;
    let measuredFromMs = Date.now();
    const watchStalls = target.shape?.rate !== undefined && target.inspector !== undefined;
    const result = await runScenario({
      name: scenario.name,
      spec: {
        ...scenario.spec,
        rate: target.shape?.rate,
        connections: options.connections,
        warmupSeconds: target.shape?.warmupSeconds ?? options.warmupSeconds,
        durationSeconds: target.shape?.durationSeconds ?? options.durationSeconds,
        bucketSeconds: target.shape?.bucketSeconds,
      },
      tempDir: setup.tempDir,
      loadCore: setup.loadCore,
      serverCore: setup.serverCore,
      serverPid: target.pid,
      watched: [{ name: 'server', pid: target.pid }, ...setup.watched],
      onMeasureStart: async () => {
        if (target.inspector) {
          await target.inspector.startAllocationCount();
          if (watchStalls) {
            await target.inspector.startLoopGaps();
            await resetRedisLatency(setup.stores.redisUrl);
          }
          await target.inspector.profiler?.start();
          await target.inspector.allocationSampler?.start();
        }
        measuredFromMs = Date.now();
      },
    });
    const hostSpeed = setup.hostProbe.between(measuredFromMs, Date.now());
    const allocationSites = await target.inspector?.allocationSampler?.stop();
    const counted = await target.inspector?.stopAllocationCount();
    const serverLoopGaps = watchStalls ? await target.inspector!.stopLoopGaps() : undefined;
    const redisStalls = watchStalls ? await readRedisLatency(setup.stores.redisUrl) : undefined;
    const allocation = counted && { ...counted, bytesPerRequest: counted.allocatedBytes / Math.max(1, result.requests) };
    let profile: ProfileSummary | undefined;
    if (target.inspector?.profiler) {
      const file = path.join(setup.resultsDir, `keygate-${scenario.name.replace(/[^\w.-]/g, '_')}.cpuprofile`);
      await target.inspector.profiler.stop(file);
      profile = summariseProfile(file);
    }
    const serverMetrics = target.metricsUrl && before ? difference(before, await scrape(target.metricsUrl)) : undefined;
    return { ...result, serverMetrics, profile, allocation, allocationSites, serverLoopGaps, redisStalls, hostSpeed };
  }

  async function measure(scenario: Scenario, target: Target): Promise<Measured> {
    await preflight(scenario);
    process.stdout.write(`→ ${scenario.name.padEnd(24)} `);
    let best: Omit<Measured, 'what' | 'attempts'> | undefined;
    let attempts = 0;
    const retries = target.shape?.noiseRetries ?? options.noiseRetries;
    while (attempts <= retries) {
      attempts += 1;
      const result = await attempt(scenario, target);
      if (!best || (result.foreignPercent ?? 0) < (best.foreignPercent ?? 0)) best = result;
      if ((result.foreignPercent ?? 0) <= options.maxNoisePercent) break;
      if (attempts <= retries) process.stdout.write(`(noisy: ${result.foreignPercent}% of core ${setup.serverCore} to others; again) `);
    }
    const measured: Measured = { ...best!, what: scenario.what, attempts };
    (results[scenario.name] ??= []).push(measured);
    console.log(
      `${Math.round(measured.requestsPerSecond)} req/s, p50 ${measured.latencyMs.p50.toFixed(2)} ms, p99 ${measured.latencyMs.p99.toFixed(2)} ms, `
        + `${measured.non2xx} non-2xx, ${measured.errors + measured.timeouts} errors; server CPU ${measured.cpuPercent.server}%`
        + (measured.foreignPercent === undefined ? '' : `, others ${measured.foreignPercent}%`),
    );
    if (measured.serverMetrics) console.log(`    ${describe(measured.serverMetrics)}`);
    console.log(`    server's threads: ${describeThreads(measured.serverThreads)}; ${describeHostSpeed(measured.hostSpeed)}`);
    const a = measured.allocation;
    if (a) {
      const kinds = Object.entries(a.collections)
        .map(([kind, n]) => `${kind} ×${n}`)
        .join(', ');
      console.log(
        `    V8 heap: ${Math.round(a.bytesPerRequest).toLocaleString('en')} B allocated per request; collections ${kinds || 'none'}, `
          + `${a.gcTotalMs.toFixed(0)} ms in all, longest ${a.gcMaxMs.toFixed(1)} ms`,
      );
    }
    if (measured.serverLoopGaps || measured.loopGaps) console.log(`    ${describeStalls(measured)}`);
    for (const site of measured.allocationSites?.top.slice(0, 12) ?? []) {
      console.log(`      ${site.percent.toFixed(1).padStart(5)}%  ${site.site}`);
    }
    for (const b of measured.buckets ?? []) {
      console.log(
        `    ${String(b.fromSecond).padStart(3)}–${b.fromSecond + (target.shape?.bucketSeconds ?? 0)} s: ${Math.round(b.requestsPerSecond)} req/s, `
          + `p99 ${b.p99.toFixed(1)} ms, ${b.non2xx} non-2xx, ${b.errors} errors`,
      );
    }
    return measured;
  }

  return {
    results,

    async baseline(name: BaselineName, scenario: (url: string) => Scenario): Promise<Measured> {
      const server = await startBaseline(name, setup.serverCore, setup.stores.redisUrl);
      try {
        return await measure(scenario(server.url), { pid: server.child.pid });
      } finally {
        await stopChild(server.child);
      }
    },

    /** Measures a restarted Keygate from now on. */
    useKeygate(keygate: KeygateServer, inspector: Inspector | undefined): void {
      setup.keygate = keygate;
      setup.inspector = inspector;
    },

    keygate(scenario: (url: string) => Scenario, shape?: RunShape): Promise<Measured> {
      const { keygate, inspector } = setup;
      return measure(scenario(keygate.baseUrl), { pid: keygate.child.pid, metricsUrl: keygate.baseUrl, inspector, shape });
    },
  };
}

export type Session = ReturnType<typeof createSession>;

function describe(m: ServerMetrics): string {
  const cache = Object.entries(m.keyCache)
    .map(([k, v]) => `${k} ${v}`)
    .join(', ');
  const stores = Object.entries(m.stores)
    .map(([op, s]) => `${op} ${s.meanMs} ms ×${s.calls}`)
    .join(', ');
  return `server's /metrics: key cache ${cache || 'n/a'}; store calls (mean, event-loop wait included) ${stores || 'n/a'}`;
}

/** The server's CPU by thread, busiest first (threads that used none left out). */
function describeThreads(threads: Record<string, number>): string {
  const busy = Object.entries(threads)
    .filter(([, percent]) => percent > 0)
    .sort((a, b) => b[1] - a[1]);
  return busy.map(([name, percent]) => `${name} ${percent}%`).join(', ') || 'n/a';
}

/** The host probe's medians for one run (host-probe.ts). */
function describeHostSpeed(speed: HostSpeed | undefined): string {
  if (!speed) return 'host probe: no reading';
  return `host probe: ${speed.memoryNsPerRead.toFixed(0)} ns per memory read, ${speed.computeNsPerStep.toFixed(2)} ns per step (${speed.samples} readings)`;
}

/** Who was held, and how long: the server's and the load generator's event loops, and Redis. */
export function describeStalls(m: Pick<Measured, 'serverLoopGaps' | 'loopGaps' | 'redisStalls'>): string {
  const gaps = (g: LoopGaps | undefined) => (g ? `p99 ${g.p99Ms.toFixed(1)}, p99.9 ${g.p999Ms.toFixed(1)}, longest ${g.maxMs.toFixed(1)} ms` : 'n/a');
  const events = Object.entries(m.redisStalls?.events ?? {})
    .map(([event, ms]) => `${event} ${ms} ms`)
    .join(', ');
  const slowest = (m.redisStalls?.slowest ?? []).map((c) => `${c.command} ${c.ms.toFixed(1)} ms`).join(', ');
  return (
    `event-loop gaps (${LOOP_TICK_MS} ms timer): server ${gaps(m.serverLoopGaps)}; load generator ${gaps(m.loopGaps)}; `
    + `Redis events ≥ ${REDIS_LATENCY_THRESHOLD_MS} ms: ${m.redisStalls ? events || 'none' : 'n/a'}${slowest ? ` (slowest: ${slowest})` : ''}`
  );
}
