// The printed table, the performance target checks, and the JSON written to bench/results/.
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { StatementStats } from './pg-stats.ts';
import type { Measured } from './session.ts';

export interface Check {
  name: string;
  value: number;
  unit: string;
  target: string;
  pass: boolean;
}

export const MB = 1024 * 1024;
const fmt = (n: number, digits = 0) => n.toLocaleString('en', { minimumFractionDigits: digits, maximumFractionDigits: digits });

/** Errors, timeouts and non-2xx answers as a share of everything sent. */
export function failureRate(r: Measured): number {
  return (r.errors + r.timeouts + r.non2xx) / Math.max(1, r.requests + r.errors + r.timeouts);
}

/** The round with the median throughput (the lower middle for an even count). */
export function medianRound(rounds: Measured[]): Measured {
  return [...rounds].sort((a, b) => a.requestsPerSecond - b.requestsPerSecond)[Math.floor((rounds.length - 1) / 2)]!;
}

/**
 * CPU the bench's own server-side processes (server, Redis, Postgres) spent per request, µs. It moves
 * much less than req/s when other tenants take CPU (caches and frequency still suffer), so ratios
 * of it are a second opinion on a noisy machine.
 */
export function cpuMicrosPerRequest(r: Measured): number {
  const percent = (r.cpuPercent.server ?? 0) + (r.cpuPercent.redis ?? 0) + (r.cpuPercent.postgres ?? 0);
  return ((percent / 100) * 1e6) / Math.max(1, r.requestsPerSecond);
}

/** Median over rounds of a / b (throughput, or requests per CPU-second), each pair run back to back. */
export function medianRatio(a: Measured[], b: Measured[], by: 'throughput' | 'cpu' = 'throughput'): number {
  const value = (r: Measured) => (by === 'throughput' ? r.requestsPerSecond : 1 / cpuMicrosPerRequest(r));
  const ratios = a.map((r, i) => value(r) / value(b[i]!)).sort((x, y) => x - y);
  const mid = (ratios.length - 1) / 2;
  return (ratios[Math.floor(mid)]! + ratios[Math.ceil(mid)]!) / 2;
}

export function ratio(name: string, value: number, min: number): Check {
  return { name, value, unit: '×', target: `≥ ${min}`, pass: value >= min };
}

export function printTable(rows: Record<string, Measured>, rounds: number): void {
  const head = [
    'scenario',
    'req/s',
    'p50 ms',
    'p99 ms',
    'errors',
    'non-2xx',
    'server CPU',
    'redis CPU',
    'pg CPU',
    'CPU µs/req',
    'others',
    'load CPU',
    'server RSS',
  ];
  const cells = Object.entries(rows).map(([name, r]) => [
    name,
    fmt(r.requestsPerSecond),
    fmt(r.latencyMs.p50, 2),
    fmt(r.latencyMs.p99, 2),
    fmt(r.errors + r.timeouts),
    fmt(r.non2xx),
    `${r.cpuPercent.server ?? '-'}%`,
    `${r.cpuPercent.redis ?? '-'}%`,
    `${r.cpuPercent.postgres ?? '-'}%`,
    fmt(cpuMicrosPerRequest(r)),
    `${r.foreignPercent ?? '-'}%`,
    `${r.loadCpuPercent}%`,
    `${fmt(r.serverRssPeak / MB)} MB`,
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...cells.map((c) => c[i]!.length)));
  const line = (row: string[]) => row.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');
  console.log(line(head));
  console.log(widths.map((w) => '-'.repeat(w)).join('  '));
  for (const row of cells) console.log(line(row));
  console.log(
    `(${rounds > 1 ? `median of ${rounds} rounds by req/s; ` : ''}CPU: % of one core in the measured run; CPU µs/req: server+Redis+Postgres CPU per request; others: CPU other `
      + "processes of this machine took on the servers' core; RSS: peak VmRSS of the server in the scenario)",
  );
  for (const [name, r] of Object.entries(rows)) {
    const steal = Math.max(0, ...Object.values(r.cores).map((c) => c.stealPercent));
    if ((r.foreignPercent ?? 0) > 10 || steal > 5 || r.attempts > 1) {
      console.log(
        `  NOISE ${name}: ${r.foreignPercent ?? '?'}% of the servers' core went to processes outside this bench, steal up to ${steal}% (attempt kept: least noisy of ${r.attempts})`,
      );
    }
  }
  for (const [name, r] of Object.entries(rows)) console.log(`  ${name}: ${r.what}`);
}

export function printChecks(title: string, checks: Check[]): void {
  console.log(`\n${title}`);
  for (const c of checks) {
    const value = fmt(c.value, c.unit === '×' ? 2 : 1);
    console.log(`  ${c.pass ? 'PASS' : 'FAIL'}  ${c.name.padEnd(64)} ${value.padStart(8)} ${c.unit.padEnd(3)} (target ${c.target})`);
  }
}

export function printStatements(statements: StatementStats[]): void {
  if (statements.length === 0) return;
  console.log('\nPostgres over the whole run (pg_stat_statements, seeding included): calls, mean plan ms, mean exec ms, total ms');
  for (const s of statements) {
    console.log(
      `  ${fmt(s.calls).padStart(9)} ${s.meanPlanMs.toFixed(3).padStart(7)} ${s.meanExecMs.toFixed(3).padStart(7)} ${fmt(s.totalMs).padStart(7)}  ${s.query}`,
    );
  }
}

export function printProfiles(rows: Record<string, Measured>): void {
  for (const [name, { profile: p }] of Object.entries(rows)) {
    if (!p) continue;
    console.log(
      `\nCPU profile of Keygate in ${name} (busy ${fmt(p.busyMs)} ms, idle ${fmt(p.idleMs)} ms; a profiled server is slower: compare no numbers from this run)`,
    );
    console.log(
      `  by package: ${p.byPackage
        .slice(0, 10)
        .map((x) => `${x.name} ${x.percentOfBusy}%`)
        .join(', ')}`,
    );
    for (const f of p.topFunctions.slice(0, 15)) console.log(`  ${f.percentOfBusy.toFixed(1).padStart(5)}%  ${f.name}  ${f.where}`);
  }
}

export function writeResult(dir: string, file: string, result: unknown): string {
  mkdirSync(dir, { recursive: true });
  const target = path.join(dir, file);
  writeFileSync(target, `${JSON.stringify(result, null, 2)}\n`);
  return target;
}
