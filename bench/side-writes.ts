// Focused measurement of the per-key side writes at scale: the server-process CPU of flushing a
// batch of last-use sightings and activity counts (one flush's worth of requests over few or many
// distinct keys), and the scheduled key-events query over every key, against real Postgres and
// Redis. `node bench/side-writes.ts [keys] [requestsPerFlush]`.
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { sql } from 'kysely';
import pino from 'pino';
import { startPostgres, startRedis } from './services.ts';
import { connectDatabase } from '../src/stores/db.ts';
import { migrateToLatest } from '../src/stores/migrate.ts';
import { createKeyStore } from '../src/stores/keys.ts';
import { connectRedis } from '../src/stores/redis-connection.ts';
import { createRedisActivityStore } from '../src/stores/key-activity-redis.ts';
import { createUsageRecorder } from '../src/keys/usage.ts';
import { createActivityRecorder } from '../src/keys/activity.ts';
import { createEventScheduleStore } from '../src/stores/event-schedule.ts';
import { DEFAULT_REMINDER_DAYS } from '../src/events/scheduled.ts';

const totalKeys = Number(process.argv[2] ?? 100_000);
const perFlush = Number(process.argv[3] ?? 15_000);
const flushes = 6;

const root = mkdtempSync(path.join(os.tmpdir(), 'keygate-side-writes-'));
const postgres = await startPostgres(root, undefined, undefined);
const redisServer = await startRedis(undefined);
const db = connectDatabase(postgres.url);
const redis = connectRedis(redisServer.url);
try {
  await migrateToLatest(db);
  const tenant = await db
    .insertInto('tenants')
    .values({ parent_id: null, name: 'bench', max_key_lifetime_days: null, updated_at: new Date() })
    .returning('id')
    .executeTakeFirstOrThrow();
  if (process.env.SIDE_WRITES_SQL) await sql.raw(process.env.SIDE_WRITES_SQL).execute(db);
  // Expiries spread over the next year, a few already in the reminder windows, like a real fleet.
  await sql`
    insert into api_keys (client_id, tenant_id, kind, name, scopes, networks, expires_at, secret_hash, token_ttl_seconds, updated_at)
    select 'kg_bench_' || lpad(i::text, 7, '0'), ${tenant.id}, 'service', 'bench ' || i, '{}', '{}',
      date_trunc('second', now()) + make_interval(days => 1 + (i % 365)), 'x', 3600, now()
    from generate_series(1, ${totalKeys}) i`.execute(db);
  await sql`analyze api_keys`.execute(db);
  await sql`analyze api_key_last_use`.execute(db);
  const ids = Array.from({ length: totalKeys }, (_, i) => `kg_bench_${String(i + 1).padStart(7, '0')}`);
  const log = pino({ level: 'warn' });
  const usage = createUsageRecorder(createKeyStore(db), log, { intervalMs: 3_600_000 });
  const activity = createActivityRecorder(createRedisActivityStore(redis), log, { intervalMs: 3_600_000 });

  let cursor = 0;
  const cpu = { usage: 0, activity: 0 };
  const wall = { usage: 0, activity: 0 };
  for (let f = 0; f < flushes; f++) {
    for (let r = 0; r < perFlush; r++) {
      const clientId = ids[cursor++ % totalKeys]!;
      usage.seen(clientId, '10.0.0.1');
      activity.count(clientId, 'issued');
    }
    let c = process.cpuUsage();
    let t = performance.now();
    await usage.flush();
    if (f > 0) {
      cpu.usage += process.cpuUsage(c).user + process.cpuUsage(c).system;
      wall.usage += performance.now() - t;
    }
    c = process.cpuUsage();
    t = performance.now();
    await activity.flush();
    if (f > 0) {
      cpu.activity += process.cpuUsage(c).user + process.cpuUsage(c).system;
      wall.activity += performance.now() - t;
    }
  }
  const hot = await sql<{
    relname: string;
    n_tup_upd: string;
    n_tup_hot_upd: string;
  }>`select relname, n_tup_upd, n_tup_hot_upd from pg_stat_user_tables where relname in ('api_keys', 'api_key_last_use') order by relname`.execute(db);
  console.log(JSON.stringify(hot.rows));
  const requests = perFlush * (flushes - 1);
  const schedule = createEventScheduleStore(db);
  const rules = { defaultReminderDays: DEFAULT_REMINDER_DAYS, noticeSeconds: 86_400, expiredLookbackSeconds: 7 * 86_400 };
  // Steady state: every event due so far has been raised (claimed), so a scan finds nothing new.
  for (const row of await schedule.dueUnclaimed(rules, 1_000_000)) await schedule.claim(row.client_id, row.type, row.due_at);
  await schedule.dueUnclaimed(rules, 500);
  const t = performance.now();
  const runs = 5;
  let due = 0;
  for (let i = 0; i < runs; i++) due = (await schedule.dueUnclaimed(rules, 500)).length;
  const scanMs = (performance.now() - t) / runs;
  console.log(
    JSON.stringify({
      keys: totalKeys,
      requestsPerFlush: perFlush,
      usageCpuUsPerRequest: +(cpu.usage / requests).toFixed(2),
      activityCpuUsPerRequest: +(cpu.activity / requests).toFixed(2),
      usageWallMsPerFlush: +(wall.usage / (flushes - 1)).toFixed(1),
      activityWallMsPerFlush: +(wall.activity / (flushes - 1)).toFixed(1),
      scheduledScanMs: +scanMs.toFixed(1),
      due,
    }),
  );
  await usage.close();
  await activity.close();
} finally {
  redis.disconnect();
  await db.destroy();
  await redisServer.stop();
  await postgres.stop();
  rmSync(root, { recursive: true, force: true });
}
