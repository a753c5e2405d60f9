// Where Postgres time went over the whole run, from pg_stat_statements (loaded by services.ts).
import { sql } from 'kysely';
import type { Runtime } from '../src/runtime.ts';

export interface StatementStats {
  query: string;
  calls: number;
  meanPlanMs: number;
  meanExecMs: number;
  totalMs: number;
}

export async function enableStatementStats(runtime: Runtime): Promise<void> {
  await sql`create extension if not exists pg_stat_statements`.execute(runtime.db);
}

export async function topStatements(runtime: Runtime, limit = 6): Promise<StatementStats[]> {
  try {
    const { rows } = await sql<{ query: string; calls: string; plan: number; exec: number }>`
      select query, calls, total_plan_time as plan, total_exec_time as exec
      from pg_stat_statements where dbid = (select oid from pg_database where datname = current_database())
      order by total_plan_time + total_exec_time desc limit ${limit}`.execute(runtime.db);
    return rows.map((r) => ({
      query: r.query.replace(/\s+/g, ' ').slice(0, 160),
      calls: Number(r.calls),
      meanPlanMs: round(r.plan / Number(r.calls)),
      meanExecMs: round(r.exec / Number(r.calls)),
      totalMs: Math.round(r.plan + r.exec),
    }));
  } catch {
    return []; // the extension could not be loaded: nothing to report
  }
}

const round = (ms: number) => Math.round(ms * 1000) / 1000;
