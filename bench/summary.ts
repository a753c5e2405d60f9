// After the runs: the table, the target checks, where time went, and the JSON result file.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { BenchOptions } from './options.ts';
import type { StatementStats } from './pg-stats.ts';
import {
  cpuMicrosPerRequest,
  failureRate,
  MB,
  medianRatio,
  medianRound,
  printChecks,
  printProfiles,
  printStatements,
  printTable,
  ratio,
  writeResult,
  type Check,
} from './report.ts';
import type { ScaleData } from './scale.ts';
import type { Measured } from './session.ts';

export interface RunFacts {
  options: BenchOptions;
  /** Scenario name → one result per round. */
  results: Record<string, Measured[]>;
  keys: number;
  liveTokens: number;
  scale: ScaleData | undefined;
  statements: StatementStats[];
  /** Undefined when nothing was pinned; else observed Cpus_allowed_list per process. */
  affinities: Record<string, string> | undefined;
  nproc: number;
  serverPeakRssSinceStart: number;
  serverWarnings: string[];
  wallSeconds: number;
  resultsDir: string;
}

/** Prints everything, writes the JSON; returns the exit code (1 when a run had more than 1% errors). */
export function summarise(run: RunFacts): number {
  const { options, results: all } = run;
  const rows: Record<string, Measured> = Object.fromEntries(Object.entries(all).map(([name, rounds]) => [name, medianRound(rounds)]));
  const r = (name: string) => rows[name]!;
  console.log('');
  printTable(rows, options.rounds);

  const keygateRuns = Object.keys(rows).filter((n) => n.startsWith('token') || n.startsWith('introspect') || n.startsWith('verify'));
  const rssPeak = (runs: string[]) => Math.max(...runs.flatMap((n) => all[n]!.map((x) => x.serverRssPeak)));
  const rssCheck = (name: string, peak: number): Check => ({ name, value: peak / MB, unit: 'MB', target: '≤ 250', pass: peak <= 250 * MB });
  const p99 = (n: string): Check => ({ name: `p99 ${n}`, value: r(n).latencyMs.p99, unit: 'ms', target: '≤ 10', pass: r(n).latencyMs.p99 <= 10 });
  const checks: Check[] = [
    ratio('introspection (live) / ceiling', medianRatio(all['introspect-live']!, all.ceiling!), 0.5),
    ratio('token issuance / bare oidc-provider', medianRatio(all.token!, all['bare-oidc']!), 0.7),
    ratio('introspection (live) / ceiling, per CPU-second', medianRatio(all['introspect-live']!, all.ceiling!, 'cpu'), 0.5),
    ratio('token issuance / bare oidc-provider, per CPU-second', medianRatio(all.token!, all['bare-oidc']!, 'cpu'), 0.7),
    ratio('key verification / ceiling', medianRatio(all.verify!, all.ceiling!), 0.5),
    ratio('key verification / ceiling, per CPU-second', medianRatio(all.verify!, all.ceiling!, 'cpu'), 0.5),
    ...keygateRuns.filter((n) => !n.includes('scale')).map(p99),
    rssCheck(`server RSS peak under load (${run.keys.toLocaleString('en')} keys)`, rssPeak(keygateRuns.filter((n) => !n.includes('scale')))),
  ];
  printChecks('targets', checks);
  console.log(
    `  note: with ${options.connections} connections and no think time, mean latency = ${options.connections} / throughput `
      + `(Little's law), so p99 ≤ 10 ms needs well over ${Math.round(options.connections / 0.01)} req/s; `
      + `the ceiling itself had p99 ${r('ceiling').latencyMs.p99.toFixed(1)} ms. The @rate rows show latency at a fixed offered load.`,
  );

  const scaleChecks = run.scale
    ? [
        ...checkScale(run.scale, r, run.keys, p99),
        rssCheck(`server RSS peak under load (${run.scale.keys.length.toLocaleString('en')} keys)`, rssPeak(keygateRuns.filter((n) => n.includes('scale')))),
      ]
    : [];
  if (run.scale) {
    const { redis } = run.scale;
    printChecks(
      `scale targets (${redis.tokensWritten.toLocaleString('en')} live tokens in Redis ${redis.redisVersion}; `
        + `MEMORY USAGE of one record alone: ${redis.oneRecordBytes} B; per-key index buckets encoded as ${redis.indexEncoding})`,
      scaleChecks,
    );
  }

  const failures = Object.entries(all).flatMap(([name, rounds]) =>
    rounds.filter((x) => failureRate(x) > 0.01).map((x) => `${name}: ${(failureRate(x) * 100).toFixed(2)}% errors/non-2xx`),
  );
  const a = run.affinities;
  const pinned = a
    ? 'taskset: Keygate, baseline servers, Postgres (postmaster + backends) and redis-server on core 0; load generator (autocannon, own process) '
      + `and this orchestrator on core 1. Observed Cpus_allowed_list: keygate ${a.keygate}, redis ${a.redis}, `
      + `postgres ${a.postgres}, orchestrator ${a.orchestrator}, load generator ${r('token').affinity}`
    : `NOT pinned: ${run.nproc < 2 ? `only ${run.nproc} CPU(s)` : 'taskset (util-linux) is not installed'}; every process shares every core`;
  console.log(`\npinning: ${pinned}`);
  if (run.serverWarnings.length > 0) {
    console.log(`server logged ${run.serverWarnings.length} line(s) at warn or above; first: ${run.serverWarnings[0]!.slice(0, 300)}`);
  }
  printStatements(run.statements);
  printProfiles(rows);
  // A profiled server is slower: its numbers never replace a plain run's.
  const name = `latest${options.scale ? '-scale' : ''}${options.cpuProfile ? '-profiled' : ''}.json`;
  const file = writeResult(run.resultsDir, name, {
    timestamp: new Date().toISOString(),
    wallSeconds: run.wallSeconds,
    machine: machine(run.nproc),
    settings: { ...options, pipelining: 1, keys: run.keys, liveTokens: run.liveTokens },
    pinning: pinned,
    scenarios: rows,
    rounds: options.rounds > 1 ? all : undefined,
    checks,
    scale: run.scale && { ...run.scale, keys: run.scale.keys.length, tokens: run.scale.tokens.length, checks: scaleChecks },
    serverPeakRssSinceStart: run.serverPeakRssSinceStart,
    serverWarnings: run.serverWarnings.slice(0, 20),
    postgresStatements: run.statements,
    failures,
  });
  console.log(`\nwrote ${path.relative(process.cwd(), file)}; wall time ${run.wallSeconds} s`);
  if (failures.length > 0) console.error(`bench: FAILED — more than 1% errors: ${failures.join('; ')}`);
  return failures.length > 0 ? 1 : 0;
}

function checkScale(scale: ScaleData, r: (name: string) => Measured, keys: number, p99: (name: string) => Check): Check[] {
  const label = `${scale.keys.length / 1000}k / ${keys / 1000}k keys`;
  return [
    ratio(`introspection, ${label}`, r('introspect-live-scale').requestsPerSecond / r('introspect-live').requestsPerSecond, 0.9),
    ratio(`token issuance, ${label}`, r('token-scale').requestsPerSecond / r('token').requestsPerSecond, 0.9),
    ratio(`introspection, ${label}, per CPU-second`, cpuMicrosPerRequest(r('introspect-live')) / cpuMicrosPerRequest(r('introspect-live-scale')), 0.9),
    ratio(`token issuance, ${label}, per CPU-second`, cpuMicrosPerRequest(r('token')) / cpuMicrosPerRequest(r('token-scale')), 0.9),
    p99('introspect-live-scale'),
    p99('token-scale'),
    {
      name: 'Redis memory per live token (used_memory delta / count)',
      value: scale.redis.bytesPerToken,
      unit: 'B',
      target: '≤ 300',
      pass: scale.redis.bytesPerToken <= 300,
    },
  ];
}

function machine(nproc: number) {
  const model = /model name\s*:\s*(.+)/.exec(readFileSync('/proc/cpuinfo', 'utf8'))?.[1] ?? 'unknown';
  let commit = 'unknown';
  let srcChanges = -1;
  try {
    const root = path.resolve(import.meta.dirname, '..');
    const git = (...args: string[]) => execFileSync('git', ['-C', root, ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
    commit = git('rev-parse', 'HEAD').trim();
    srcChanges = git('status', '--porcelain', '--', 'src').split('\n').filter(Boolean).length;
  } catch {
    // not a git checkout
  }
  return {
    nproc,
    cpuModel: model,
    node: process.version,
    kernel: os.release(),
    memoryBytes: os.totalmem(),
    loadAverageAtEnd: os.loadavg(),
    git: { commit, uncommittedFilesUnderSrc: srcChanges },
  };
}
