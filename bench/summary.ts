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
  medianRound,
  printChecks,
  printProfiles,
  printStatements,
  printTable,
  writeResult,
  type Check,
} from './report.ts';
import type { HeapFacts } from './run.ts';
import { REFERENCE, type ScaleData } from './scale.ts';
import type { TableSlots } from './redis-tables.ts';
import { describeStalls, type Measured } from './session.ts';

export interface RunFacts {
  options: BenchOptions;
  /** Scenario name → one result per round. */
  results: Record<string, Measured[]>;
  keys: number;
  liveTokens: number;
  scale: ScaleData | undefined;
  heap: HeapFacts;
  statements: StatementStats[];
  /** Undefined when nothing was pinned; else observed Cpus_allowed_list per process. */
  affinities: Record<string, string> | undefined;
  nproc: number;
  serverPeakRssSinceStart: number;
  /** Each Redis database's table slots once sized before measuring, and at the end (redis-tables.ts). */
  redisTables: { database: string; sized: TableSlots; atEnd: TableSlots }[];
  serverWarnings: string[];
  wallSeconds: number;
  resultsDir: string;
}

/** Prints everything, writes the JSON; returns the exit code (1 when a run had more than 1% errors). */
export function summarise(run: RunFacts): number {
  const { options, results: all } = run;
  const rows: Record<string, Measured> = Object.fromEntries(Object.entries(all).map(([name, rounds]) => [name, medianRound(rounds)]));
  console.log('');
  printTable(rows, options.rounds);

  const keygateRuns = Object.keys(rows).filter((n) => n.startsWith('token') || n.startsWith('introspect') || n.startsWith('verify'));
  const rssPeak = (runs: string[]) => Math.max(...runs.flatMap((n) => all[n]!.map((x) => x.serverRssPeak)));
  const rssCheck = (name: string, peak: number, limitMb: number): Check => ({
    name,
    value: peak / MB,
    unit: 'MB',
    target: `≤ ${limitMb}`,
    pass: peak <= limitMb * MB,
  });
  // Every target holds in every round: the check shows the worst round, and each round's value.
  const pacedRuns = keygateRuns.filter((n) => n.includes('@'));
  const checks: Check[] = [
    // BENCH_ONLY may leave out one side of a ratio: that check is then not made.
    ...ratioCheck('introspection (live) / ceiling', all['introspect-live'], all.ceiling, 0.8),
    ...ratioCheck('token issuance / bare oidc-provider', all.token, all['bare-oidc'], 1.0),
    ...ratioCheck('introspection (live) / ceiling, per CPU-second', all['introspect-live'], all.ceiling, 0.8, 'cpu'),
    ...ratioCheck('token issuance / bare oidc-provider, per CPU-second', all.token, all['bare-oidc'], 1.0, 'cpu'),
    ...ratioCheck('key verification / ceiling', all.verify, all.ceiling, 0.5),
    ...pacedRuns.map((n) =>
      everyRound(
        `p99 ${n}`,
        all[n]!.map((x) => x.latencyMs.p99),
        10,
        'ms',
      ),
    ),
    rssCheck(`server RSS peak under load (${run.keys.toLocaleString('en')} keys)`, rssPeak(keygateRuns.filter((n) => !n.includes('scale'))), 250),
  ];
  printChecks('targets (worst round; every round in brackets)', checks);
  console.log(
    `  note: flat out at ${options.connections} connections, mean latency = ${options.connections} / throughput (Little's law), so the `
      + `p99 of the flat-out rows is queueing (the ceiling's own: ${rows.ceiling?.latencyMs.p99.toFixed(1) ?? '–'} ms); the paced rows are the latency target.`,
  );
  printAllocation(rows);
  printStalls(all, pacedRuns);

  const scaleChecks = run.scale
    ? [
        ...checkScale(run.scale, all, run.keys),
        rssCheck(
          `server RSS peak under load (${run.scale.keys.length.toLocaleString('en')} keys)`,
          rssPeak(keygateRuns.filter((n) => n.includes('scale'))),
          350,
        ),
      ]
    : [];
  if (run.scale) {
    const { redis } = run.scale;
    printChecks(
      `scale targets, worst round (${redis.tokensWritten.toLocaleString('en')} live tokens in Redis ${redis.redisVersion}; `
        + `MEMORY USAGE of one record alone: ${redis.oneRecordBytes} B; per-key index buckets encoded as ${redis.indexEncoding})`,
      scaleChecks,
    );
  }
  printHostUnderRatios(all);
  const keyBytes = bytesPerKey(run.heap);
  if (keyBytes) {
    console.log(
      `\nV8 heap per cached key (live heap after a full collection, ${run.heap.keys.toLocaleString('en')} → ${run.heap.scale!.keys.toLocaleString('en')} keys): `
        + `${Math.round(keyBytes.cached)} B once the key cache holds it, ${Math.round(keyBytes.afterFirstUse)} B after every key took a token`,
    );
  }

  const failures = Object.entries(all).flatMap(([name, rounds]) =>
    rounds.filter((x) => failureRate(x) > 0.01).map((x) => `${name}: ${(failureRate(x) * 100).toFixed(2)}% errors/non-2xx`),
  );
  const a = run.affinities;
  const pinned = a
    ? 'taskset: Keygate, baseline servers, Postgres (postmaster + backends) and redis-server on core 0; load generator (autocannon, own process) '
      + `and this orchestrator on core 1. Observed Cpus_allowed_list: keygate ${a.keygate}, redis ${a.redis}, `
      + `postgres ${a.postgres}, orchestrator ${a.orchestrator}, load generator ${Object.values(rows)[0]?.affinity ?? '–'}`
    : `NOT pinned: ${run.nproc < 2 ? `only ${run.nproc} CPU(s)` : 'taskset (util-linux) is not installed'}; every process shares every core`;
  console.log(`\npinning: ${pinned}`);
  printRedisTables(run.redisTables);
  if (run.serverWarnings.length > 0) {
    console.log(`server logged ${run.serverWarnings.length} line(s) at warn or above; first: ${run.serverWarnings[0]!.slice(0, 300)}`);
  }
  printStatements(run.statements);
  printProfiles(rows);
  // A profiled server is slower and a partial run lacks rows: neither replaces a plain full run's numbers.
  const profiled = options.cpuProfile || options.heapProfile;
  const name = `latest${options.scale ? '-scale' : ''}${profiled ? '-profiled' : ''}${options.only ? '-partial' : ''}.json`;
  const file = writeResult(run.resultsDir, name, {
    timestamp: new Date().toISOString(),
    wallSeconds: run.wallSeconds,
    machine: machine(run.nproc),
    settings: { ...options, pipelining: 1, keys: run.keys, liveTokens: run.liveTokens },
    pinning: pinned,
    scenarios: rows,
    rounds: options.rounds > 1 ? all : undefined,
    checks,
    heap: { ...run.heap, bytesPerKey: bytesPerKey(run.heap) },
    scale: run.scale && { ...run.scale, keys: run.scale.keys.length, tokens: run.scale.tokens.length, checks: scaleChecks },
    serverPeakRssSinceStart: run.serverPeakRssSinceStart,
    redisTables: run.redisTables,
    serverWarnings: run.serverWarnings.slice(0, 20),
    postgresStatements: run.statements,
    failures,
  });
  console.log(`\nwrote ${path.relative(process.cwd(), file)}; wall time ${run.wallSeconds} s`);
  if (failures.length > 0) console.error(`bench: FAILED — more than 1% errors: ${failures.join('; ')}`);
  return failures.length > 0 ? 1 : 0;
}

/** Whether any run could have met Redis doubling a table: only if a table grew after it was sized. */
function printRedisTables(tables: RunFacts['redisTables']): void {
  const grew = tables.filter((t) => t.atEnd.keys > t.sized.keys || t.atEnd.expires > t.sized.expires);
  const slots = tables.map((t) => `database ${t.database}: ${t.sized.keys.toLocaleString('en')} → ${t.atEnd.keys.toLocaleString('en')}`).join(', ');
  console.log(
    grew.length === 0
      ? `Redis key tables sized before the first run held their size to the end (slots, ${slots}): no run met a doubling`
      : `WARNING: Redis tables grew during the runs (slots, ${slots}): some run measured Redis doubling a table`,
  );
}

/**
 * The 1,000-key runs each scale ratio divides by, all of the same round of the server kept beside
 * the scaled one (run.ts, measureScale). A warm run is divided by its neighbour. A cold storm is
 * divided by the faster of the two warm runs of its path: the one right after it shares the
 * storm's minute of this machine, but its server sat idle through the storm, and a reference
 * slowed by sitting idle would flatter the ratio; the faster of the two can only make it stricter.
 */
const SCALE_DIVISORS = {
  warmIntrospection: [REFERENCE.introspection],
  warmToken: [REFERENCE.token],
  coldIntrospection: [REFERENCE.introspectionBesideCold, REFERENCE.introspection],
  coldToken: [REFERENCE.tokenBesideCold, REFERENCE.token],
} as const;

/** Per round, of the named runs of that round, the one with the highest `value`; undefined when none ran. */
function divisors(all: Record<string, Measured[]>, names: readonly string[], value: (x: Measured) => number): Measured[] | undefined {
  const series = names.map((name) => all[name]).filter((runs): runs is Measured[] => runs !== undefined && runs.length > 0);
  if (series.length === 0) return undefined;
  const rounds = Math.max(...series.map((runs) => runs.length));
  return Array.from({ length: rounds }, (_, i) => series.map((runs) => runs[i] ?? runs.at(-1)!).reduce((a, b) => (value(b) > value(a) ? b : a)));
}

/** Per round: 100,000 keys against 1,000, warm and cold, on both paths (cold: the whole storm). */
function checkScale(scale: ScaleData, all: Record<string, Measured[]>, keys: number): Check[] {
  const label = `${scale.keys.length / 1000}k / ${keys / 1000}k keys`;
  const rate = (x: Measured) => x.requestsPerSecond;
  const perCpu = (x: Measured) => 1 / cpuMicrosPerRequest(x);
  // A pair left out of this run (BENCH_ONLY) is left out of the checks, as ratioCheck does.
  const per = (name: string, big: string, smalls: readonly string[], value: (x: Measured) => number): Check[] => {
    const bigRuns = all[big];
    const smallRuns = divisors(all, smalls, value);
    if (!bigRuns?.length || !smallRuns) return [];
    return [
      everyRound(
        name,
        bigRuns.map((x, i) => value(x) / value(smallRuns[i] ?? smallRuns.at(-1)!)),
        0.9,
      ),
    ];
  };
  const { warmIntrospection, warmToken, coldIntrospection, coldToken } = SCALE_DIVISORS;
  return [
    ...per(`introspection, ${label}, warm`, 'introspect-live-scale', warmIntrospection, rate),
    ...per(`token issuance, ${label}, warm`, 'token-scale', warmToken, rate),
    ...per(`introspection, ${label}, cold start (whole storm)`, 'introspect-live-cold-scale', coldIntrospection, rate),
    ...per(`token issuance, ${label}, cold start (whole storm)`, 'token-cold-scale', coldToken, rate),
    ...per(`introspection, ${label}, warm, per CPU-second`, 'introspect-live-scale', warmIntrospection, perCpu),
    ...per(`token issuance, ${label}, warm, per CPU-second`, 'token-scale', warmToken, perCpu),
    ...per(`token issuance, ${label}, cold start, per CPU-second`, 'token-cold-scale', coldToken, perCpu),
    {
      name: 'Redis memory per live token (used_memory delta / count)',
      value: scale.redis.bytesPerToken,
      unit: 'B',
      target: '≤ 300',
      pass: scale.redis.bytesPerToken <= 300,
    },
  ];
}

/** A ratio (or, with unit 'ms', a ceiling) that must hold in every round: the worst round decides. */
function everyRound(name: string, values: number[], limit: number, unit: '×' | 'ms' = '×'): Check {
  const atMost = unit === 'ms';
  const worst = atMost ? Math.max(...values) : Math.min(...values);
  const each = values.map((v) => v.toFixed(unit === '×' ? 2 : 1)).join(', ');
  return { name: `${name} [${each}]`, value: worst, unit, target: `${atMost ? '≤' : '≥'} ${limit}`, pass: atMost ? worst <= limit : worst >= limit };
}

function ratioCheck(name: string, a: Measured[] | undefined, b: Measured[] | undefined, limit: number, by: 'throughput' | 'cpu' = 'throughput'): Check[] {
  return a && b ? [everyRound(name, roundRatios(a, b, by), limit)] : [];
}

function roundRatios(a: Measured[], b: Measured[], by: 'throughput' | 'cpu' = 'throughput'): number[] {
  const value = (r: Measured) => (by === 'throughput' ? r.requestsPerSecond : 1 / cpuMicrosPerRequest(r));
  return a.map((r, i) => value(r) / value(b[i]!));
}

function bytesPerKey(heap: HeapFacts): { cached: number; afterFirstUse: number } | undefined {
  if (!heap.scale) return undefined;
  const keys = heap.scale.keys - heap.keys;
  return { cached: (heap.scale.usedAfterGc - heap.usedAfterGc) / keys, afterFirstUse: (heap.scale.usedAfterGcAfterStorm - heap.usedAfterGc) / keys };
}

function printAllocation(rows: Record<string, Measured>): void {
  console.log('\nV8 heap allocation per request in the measured run (median round), and its collections');
  for (const [name, x] of Object.entries(rows)) {
    const a = x.allocation;
    if (!a) continue;
    const kinds = Object.entries(a.collections)
      .map(([kind, n]) => `${kind} ×${n}`)
      .join(', ');
    console.log(
      `  ${name.padEnd(28)} ${Math.round(a.bytesPerRequest).toLocaleString('en').padStart(7)} B/req  `
        + `GC ${a.gcTotalMs.toFixed(0)} ms in all, longest ${a.gcMaxMs.toFixed(1)} ms (${kinds || 'none'})`,
    );
  }
}

/** The two runs of each ratio the targets divide: the run, the runs it is divided by (see divisors). */
const RATIO_PAIRS: [string, string, readonly string[]][] = [
  ['introspection / ceiling', 'introspect-live', ['ceiling']],
  ['token / bare oidc-provider', 'token', ['bare-oidc']],
  ['introspection, 100k / 1k, warm', 'introspect-live-scale', SCALE_DIVISORS.warmIntrospection],
  ['introspection, 100k / 1k, cold', 'introspect-live-cold-scale', SCALE_DIVISORS.coldIntrospection],
  ['token, 100k / 1k, warm', 'token-scale', SCALE_DIVISORS.warmToken],
  ['token, 100k / 1k, cold', 'token-cold-scale', SCALE_DIVISORS.coldToken],
];

/**
 * Every round of each ratio next to the host probe's readings of its two runs, divided the same
 * way (host-probe.ts): a probe ratio above 1 means the host was slower under the first run than
 * under the second, by a yardstick Keygate does not touch.
 */
function printHostUnderRatios(all: Record<string, Measured[]>): void {
  const lines: string[] = [];
  for (const [label, top, divisorNames] of RATIO_PAIRS) {
    const tops = all[top];
    const bottoms = divisors(all, divisorNames, (x) => x.requestsPerSecond);
    if (!tops?.length || !bottoms) continue;
    const rounds = tops.map((x, i) => {
      const y = bottoms[i] ?? bottoms.at(-1)!;
      const ratio = (x.requestsPerSecond / y.requestsPerSecond).toFixed(2);
      const a = x.hostSpeed;
      const b = y.hostSpeed;
      const probe =
        a && b ? `memory ${(a.memoryNsPerRead / b.memoryNsPerRead).toFixed(2)}, compute ${(a.computeNsPerStep / b.computeNsPerStep).toFixed(2)}` : 'no reading';
      return `${ratio} × (probe ${probe})`;
    });
    lines.push(`  ${label.padEnd(34)} ${rounds.join('; ')}`);
  }
  if (lines.length === 0) return;
  console.log("\nEach ratio's rounds, with the host probe's reading under its two runs divided the same way (above 1: that run's host was slower)");
  for (const line of lines) console.log(line);
}

/** Every round of each paced run: the tail next to who was held (session.ts describeStalls), and for how long. */
function printStalls(all: Record<string, Measured[]>, pacedRuns: string[]): void {
  if (pacedRuns.length === 0) return;
  console.log("\nPaced runs, every round: p99, the longest collection, the event loops' gaps and Redis' stalls");
  for (const name of pacedRuns) {
    for (const [i, x] of all[name]!.entries()) {
      console.log(
        `  ${name.padEnd(22)} round ${i + 1}: p99 ${x.latencyMs.p99.toFixed(1)} ms, longest collection ${x.allocation?.gcMaxMs.toFixed(1) ?? '–'} ms; ${describeStalls(x)}`,
      );
    }
  }
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
