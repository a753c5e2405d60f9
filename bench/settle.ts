// Between a cold storm and the warm runs after it: the database work the storm left behind is the
// storm's, not the warm runs'. A token storm rewrites the last-use row of every key last used more
// than ten minutes before (in round 1 of a scale run, all 100,000: the bulk keys start with a last
// use an hour old). Those writes go out every few seconds, and on a core shared with a server
// running flat out the last of them can land after the storm; the dead row versions they leave
// wake autovacuum up to a minute later. Both used to fall into the warm runs, and at 100,000 keys
// only, so the warm ratio measured the storm's tail. The bench now waits for the writes to land,
// vacuums what they left, and reports how long each took (the storm's cost, in the result file).
import { sql } from 'kysely';
import { LAST_USE_FLUSH_INTERVAL_MS } from '../src/keys/usage.ts';
import type { Runtime } from '../src/runtime.ts';
import { secondsSince } from './clock.ts';

export interface Settled {
  /** Seconds from the storm's end until no statement of the database's ran for POLLS_IDLE polls. */
  landedSeconds: number;
  vacuumSeconds: number;
  /** The writes had not landed within LANDING_LIMIT_MS: the warm runs went ahead regardless. */
  timedOut: boolean;
}

/** Sightings pending at the storm's end go out within one flush interval of the usage recorder. */
const LAST_FLUSH_MS = LAST_USE_FLUSH_INTERVAL_MS + 500;
const POLL_MS = 250;
const POLLS_IDLE = 4;
const LANDING_LIMIT_MS = 180_000;

/** Waits for the storm's writes through `runtime`'s database to land, then vacuums the last-use table. */
export async function settleAfterStorm(runtime: Runtime): Promise<Settled> {
  const started = performance.now();
  await new Promise((resolve) => setTimeout(resolve, LAST_FLUSH_MS));
  let idlePolls = 0;
  let timedOut = false;
  while (idlePolls < POLLS_IDLE) {
    if (performance.now() - started > LANDING_LIMIT_MS) {
      timedOut = true;
      break;
    }
    idlePolls = (await busyBackends(runtime)) === 0 ? idlePolls + 1 : 0;
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
  }
  const landedSeconds = secondsSince(started);
  const vacuumStarted = performance.now();
  await sql`vacuum (analyze) api_key_last_use`.execute(runtime.db);
  return { landedSeconds, vacuumSeconds: secondsSince(vacuumStarted), timedOut };
}

/** Statements running in this database now, autovacuum included, other than this query. */
async function busyBackends(runtime: Runtime): Promise<number> {
  const { rows } = await sql<{ busy: number }>`
    select count(*)::int as busy from pg_stat_activity
    where datname = current_database() and pid <> pg_backend_pid() and state = 'active'
      and backend_type in ('client backend', 'autovacuum worker')`.execute(runtime.db);
  return rows[0]!.busy;
}
