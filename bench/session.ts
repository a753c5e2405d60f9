// Runs scenarios and keeps their results: against a baseline server started for the occasion, or
// against the Keygate server (with BENCH_CPU_PROF, profiling exactly each measured run). A run
// during which other tenants of this machine took much of the servers' core is repeated.
import path from 'node:path';
import { startBaseline, type BaselineName } from './baselines.ts';
import { stopChild } from './children.ts';
import type { Profiler } from './inspector.ts';
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
};

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
  /** Set with BENCH_CPU_PROF: the Keygate server's profiler. */
  profiler: Profiler | undefined;
}

interface Target {
  pid: number;
  /** A Keygate server: its /metrics is read around each attempt. */
  metricsUrl?: string;
  profiler?: Profiler | undefined;
  rate?: number | undefined;
}

export function createSession(setup: SessionSetup) {
  const { options } = setup;
  /** Scenario name → one result per round. */
  const results: Record<string, Measured[]> = {};

  async function attempt(scenario: Scenario, target: Target): Promise<Omit<Measured, 'what' | 'attempts'>> {
    const before = target.metricsUrl ? await scrape(target.metricsUrl) : undefined;
    const result = await runScenario({
      name: scenario.name,
      spec: {
        ...scenario.spec,
        rate: target.rate,
        connections: options.connections,
        warmupSeconds: options.warmupSeconds,
        durationSeconds: options.durationSeconds,
      },
      tempDir: setup.tempDir,
      loadCore: setup.loadCore,
      serverCore: setup.serverCore,
      serverPid: target.pid,
      watched: [{ name: 'server', pid: target.pid }, ...setup.watched],
      onMeasureStart: target.profiler && (() => target.profiler!.start()),
    });
    let profile: ProfileSummary | undefined;
    if (target.profiler) {
      const file = path.join(setup.resultsDir, `keygate-${scenario.name.replace(/[^\w.-]/g, '_')}.cpuprofile`);
      await target.profiler.stop(file);
      profile = summariseProfile(file);
    }
    const serverMetrics = target.metricsUrl && before ? difference(before, await scrape(target.metricsUrl)) : undefined;
    return { ...result, serverMetrics, profile };
  }

  async function measure(scenario: Scenario, target: Target): Promise<Measured> {
    await preflight(scenario);
    process.stdout.write(`→ ${scenario.name.padEnd(24)} `);
    let best: Omit<Measured, 'what' | 'attempts'> | undefined;
    let attempts = 0;
    while (attempts <= options.noiseRetries) {
      attempts += 1;
      const result = await attempt(scenario, target);
      if (!best || (result.foreignPercent ?? 0) < (best.foreignPercent ?? 0)) best = result;
      if ((result.foreignPercent ?? 0) <= options.maxNoisePercent) break;
      if (attempts <= options.noiseRetries) process.stdout.write(`(noisy: ${result.foreignPercent}% of core ${setup.serverCore} to others; again) `);
    }
    const measured: Measured = { ...best!, what: scenario.what, attempts };
    (results[scenario.name] ??= []).push(measured);
    console.log(
      `${Math.round(measured.requestsPerSecond)} req/s, p50 ${measured.latencyMs.p50.toFixed(2)} ms, p99 ${measured.latencyMs.p99.toFixed(2)} ms, `
        + `${measured.non2xx} non-2xx, ${measured.errors + measured.timeouts} errors; server CPU ${measured.cpuPercent.server}%`
        + (measured.foreignPercent === undefined ? '' : `, others ${measured.foreignPercent}%`),
    );
    if (measured.serverMetrics) console.log(`    ${describe(measured.serverMetrics)}`);
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

    /** `rate`: a fixed offered load (req/s, all connections together) instead of as fast as possible. */
    /** Measures a restarted Keygate from now on. */
    useKeygate(keygate: KeygateServer, profiler: Profiler | undefined): void {
      setup.keygate = keygate;
      setup.profiler = profiler;
    },

    keygate(scenario: (url: string) => Scenario, rate?: number): Promise<Measured> {
      const { keygate, profiler } = setup;
      return measure(scenario(keygate.baseUrl), { pid: keygate.child.pid, metricsUrl: keygate.baseUrl, profiler, rate });
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
