// SQL for a key's last use (api_key_last_use): batches of sightings from the usage recorder
// (keys/usage.ts) written in one statement per chunk. Every key has its row from its creation on.
import { sql } from 'kysely';
import type { Db } from './db.ts';
import { LAST_USE_CHANNEL } from './key-changes.ts';

export interface KeyUsage {
  clientId: string;
  at: Date;
  ip: string | null;
}

/** Keys per usage UPDATE: bounds how many rows one statement locks. */
const USAGE_CHUNK = 5000;

/**
 * Every row a statement changes is announced on LAST_USE_CHANNEL as a line "client_id ip at_ms"
 * ('-' for no address), lines grouped into payloads of about NOTIFY_PAYLOAD_BYTES: under
 * Postgres' 8,000-byte limit with a line of any announced id. A key whose id is longer than
 * MAX_NOTIFIED_ID_LENGTH bytes (only an operator's own SQL makes one) is written but not announced.
 */
const NOTIFY_PAYLOAD_BYTES = 7000;
const MAX_NOTIFIED_ID_LENGTH = 200;

/**
 * One statement for a batch of sightings; an older sighting never overwrites a newer one, and a
 * row already recorded less than `unchangedWithinMs` before the sighting, from the same address,
 * is left as it is (another replica wrote it): each such row would cost a new row version and
 * an entry in every index of the table for no news. Every key has its last-use row from its
 * creation on, so this only updates; a sighting of a key deleted since matches no row.
 *
 * Returns the keys whose row names another address, left alone because its use is as new or
 * newer: the caller's sighting is not on record, so the caller must not take it as written.
 */
export async function recordKeyUsage(db: Db, sightings: readonly KeyUsage[], unchangedWithinMs = 0): Promise<string[]> {
  const superseded: string[] = [];
  // Three array parameters however many keys: a plan that costs the same every time (a VALUES
  // list of 3 × n parameters took Postgres longer to plan than to run). The rows to change are
  // locked first, in client_id order whatever join the planner picks (FOR UPDATE above a
  // sort), and chunks go in client_id order too, so two replicas flushing at once cannot
  // deadlock; a row another flush changed meanwhile is checked again once locked, so the newer
  // sighting still wins.
  const sorted = [...sightings].sort((a, b) => (a.clientId < b.clientId ? -1 : a.clientId > b.clientId ? 1 : 0));
  for (let start = 0; start < sorted.length; start += USAGE_CHUNK) {
    const chunk = sorted.slice(start, start + USAGE_CHUNK);
    const { rows } = await sql<{ client_id: string | null }>`
      with changed as materialized (
        select u.client_id, v.at, v.ip
        from api_key_last_use u
        join unnest(${chunk.map((s) => s.clientId)}::text[], ${chunk.map((s) => s.at.toISOString())}::timestamptz[], ${chunk.map((s) => s.ip)}::text[])
          as v(client_id, at, ip) on v.client_id = u.client_id
        where u.last_used_at is null or (u.last_used_at < v.at
          and (u.last_used_at <= v.at - make_interval(secs => ${unchangedWithinMs / 1000}) or u.last_used_ip is distinct from v.ip))
        order by u.client_id
        for update of u
      )
      , updated as (
        update api_key_last_use u set last_used_at = changed.at, last_used_ip = changed.ip
        from changed where u.client_id = changed.client_id
        returning u.client_id, u.last_used_ip, u.last_used_at
      ), lines as (
        select u.client_id || ' ' || coalesce(u.last_used_ip, '-') || ' ' || floor(extract(epoch from u.last_used_at) * 1000)::bigint as line
        from updated u where octet_length(u.client_id) <= ${sql.lit(MAX_NOTIFIED_ID_LENGTH)}
      ), numbered as (
        select line, sum(octet_length(line) + 1) over (order by line rows unbounded preceding) as upto from lines
      ), notified as (
        select count(pg_notify(${LAST_USE_CHANNEL}, payload)) as payloads
        from (select string_agg(line, E'\n') as payload from numbered group by upto / ${sql.lit(NOTIFY_PAYLOAD_BYTES)}) p
      ), left_alone as (
        select v.client_id
        from unnest(${chunk.map((s) => s.clientId)}::text[], ${chunk.map((s) => s.ip)}::text[]) as v(client_id, ip)
        join api_key_last_use u on u.client_id = v.client_id
        where u.last_used_ip is distinct from v.ip and not exists (select 1 from updated w where w.client_id = v.client_id)
      )
      -- The announcements are the outer side: a query reads a plain CTE only as far as it needs
      -- it, and this one must run even when no row was left alone.
      select l.client_id from notified n left join left_alone l on true
    `.execute(db);
    for (const row of rows) if (row.client_id !== null) superseded.push(row.client_id);
  }
  return superseded;
}
