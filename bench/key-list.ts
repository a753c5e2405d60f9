// `npm run bench:key-list`: how long GET /admin/v1/keys takes for the first page (and a later one)
// over 10,000 keys, for each sort, search and filter a console offers. Starts its own embedded
// Postgres and redis-server (stopped by PID at the end), seeds the keys in bulk with spread-out
// names, times, expiries, last uses, users, creators and 7 days of activity, and reports the
// median, p95 and max of 30 requests each: the server's own time (from its access log: request
// in to response out) and the round trip as the client saw it.
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { sql } from 'kysely';
import { startServer } from '../src/server.ts';
import { HOUR_MS, type ActivityIncrement } from '../src/stores/key-activity.ts';
import { stopAllChildren } from './children.ts';
import { PEPPER } from './keygate.ts';
import { loadConfig } from '../src/config.ts';
import { createLogger } from '../src/logger.ts';
import { openRuntime } from '../src/runtime.ts';
import { enableStatementStats, topStatements } from './pg-stats.ts';
import { startPostgres, startRedis } from './services.ts';

const KEYS = Number(process.env.BENCH_LIST_KEYS ?? 10_000);
const RUNS = 30;
const WARMUP = 5;

const tempDir = mkdtempSync(path.join(os.tmpdir(), 'keygate-bench-list-'));
const postgres = await startPostgres(tempDir, undefined, undefined);
const redis = await startRedis(undefined);
try {
  // The server's access log line of each list request carries its time (`ms`).
  const serverMs: number[] = [];
  const accessLog = {
    write(line: string) {
      const entry = JSON.parse(line) as { msg?: string; route?: string; ms?: number };
      if (entry.msg === 'request' && entry.route === '/admin/v1/keys' && entry.ms !== undefined) serverMs.push(entry.ms);
    },
  };
  const config = loadConfig({ DATABASE_URL: postgres.url, REDIS_URL: redis.url, KEYGATE_SECRET_PEPPER: PEPPER, LOG_LEVEL: 'info' });
  const runtime = await openRuntime(config, createLogger('info', accessLog), { migrate: true, cacheKeys: true });
  const root = await runtime.tenants.insert({ name: 'bench root' });
  const child = await runtime.tenants.insert({ name: 'bench child', parentId: root.id });
  const actor = { keyId: null, userId: null, via: 'bench' };
  const admin = await runtime.keyService.create({ tenant_id: root.id, name: 'bench admin', scopes: ['admin:keys:read', 'admin:keys:write'] }, actor);
  const users = await Promise.all(
    Array.from({ length: 20 }, (_, i) => runtime.users.insert({ tenantId: root.id, email: `person${i}@bench.test`, role: 'admin' })),
  );
  const userIds = users.map((user) => user!.id);

  const seedStart = performance.now();
  // 90% in the root tenant, 10% in its child; a fifth are user keys; times spread over a year.
  await sql`
    insert into api_keys (client_id, tenant_id, kind, user_id, name, scopes, networks, expires_at, status, secret_hash,
                          token_ttl_seconds, created_by_user_id, created_by_key_id, created_at)
    select 'kg_' || substr(md5(i::text), 1, 22),
           case when i % 10 = 0 then ${child.id}::uuid else ${root.id}::uuid end,
           case when i % 5 = 0 and i % 10 <> 0 then 'user' else 'service' end,
           case when i % 5 = 0 and i % 10 <> 0 then (${userIds}::uuid[])[1 + (i / 5) % 20] else null end,
           (array['billing', 'sensors', 'Reports', 'ci-deploy', 'backup', 'Edge gateway'])[1 + i % 6] || ' ' || (i % 997),
           array['devices:read'], '{}',
           case when i % 5 = 1 then null else now() + ((i % 400) - 30) * interval '1 day' end,
           case when i % 20 = 3 then 'disabled' else 'active' end,
           'bench$not-a-secret', 3600,
           case when i % 7 = 0 then (${userIds}::uuid[])[1 + i % 20] else null end,
           case when i % 7 = 0 then null else ${admin.key.client_id} end,
           date_trunc('milliseconds', now() - (i % 365) * interval '1 day' - (i % 86400) * interval '1 second')
    from generate_series(1, ${KEYS - 1}) as i`.execute(runtime.db);
  // Two thirds of them used (each key's last-use row exists from its creation on).
  await sql`
    update api_key_last_use u
    set last_used_at = date_trunc('milliseconds', now() - (i % 90) * interval '1 hour'), last_used_ip = '10.0.' || (i % 250) || '.' || (i % 200)
    from generate_series(1, ${KEYS - 1}) as i
    where u.client_id = 'kg_' || substr(md5(i::text), 1, 22) and i % 3 <> 0`.execute(runtime.db);
  await sql`analyze api_keys`.execute(runtime.db);
  await sql`analyze api_key_last_use`.execute(runtime.db);
  await enableStatementStats(runtime);
  const clientIds = (await runtime.db.selectFrom('api_keys').select('client_id').execute()).map((row) => row.client_id);
  const nowHour = Math.floor(Date.now() / HOUR_MS);
  const increments: ActivityIncrement[] = clientIds.flatMap((clientId, i) =>
    Array.from({ length: 7 }, (_, day) => ({ clientId, hour: nowHour - day * 24, outcome: 'issued' as const, count: 1 + ((i + day) % 40) })),
  );
  for (let start = 0; start < increments.length; start += 10_000) await runtime.activityStore.add(increments.slice(start, start + 10_000));
  console.log(`seeded ${clientIds.length} keys and ${increments.length} activity buckets in ${Math.round(performance.now() - seedStart)} ms`);

  const server = await startServer(runtime, 0, '127.0.0.1');
  const base = `http://127.0.0.1:${server.port}`;
  const tokenResponse = await fetch(`${base}/oauth/token`, {
    method: 'POST',
    headers: {
      authorization: `Basic ${Buffer.from(`${admin.key.client_id}:${admin.client_secret}`).toString('base64')}`,
      'content-type': 'application/x-www-form-urlencoded',
    },
    body: 'grant_type=client_credentials',
  });
  const token = ((await tokenResponse.json()) as { access_token: string }).access_token;
  const get = async (query: string) => {
    const response = await fetch(`${base}/admin/v1/keys?${query}`, { headers: { authorization: `Bearer ${token}` } });
    if (response.status !== 200) throw new Error(`GET /admin/v1/keys?${query}: ${response.status} ${await response.text()}`);
    return (await response.json()) as { data: unknown[]; next_cursor: string | null; counts: { total: number } };
  };

  const secondPage = async (sort: string) => `sort=${sort}&cursor=${(await get(`sort=${sort}`)).next_cursor}`;
  const scenarios: [string, string][] = [
    ['default (-created_at)', ''],
    ...['name', '-name', 'created_at', 'expires_at', '-expires_at', 'last_used_at', '-last_used_at'].map((sort): [string, string] => [
      `sort=${sort}`,
      `sort=${sort}`,
    ]),
    ['page 2 of -last_used_at', await secondPage('-last_used_at')],
    ['page 2 of name', await secondPage('name')],
    ['q=gateway (name)', 'q=gateway'],
    [`q=${clientIds[1234]!.slice(0, 8)} (client id prefix)`, `q=${clientIds[1234]!.slice(0, 8)}`],
    ['status=active&sort=name', 'status=active&sort=name'],
    ['status=expired', 'status=expired'],
    ['status=disabled', 'status=disabled'],
    ['kind=user&sort=-last_used_at', 'kind=user&sort=-last_used_at'],
    ['expiring_within=30d&sort=expires_at', 'expiring_within=30d&sort=expires_at'],
    ['limit=200&sort=-expires_at', 'limit=200&sort=-expires_at'],
  ];

  const load = os
    .loadavg()
    .map((n) => n.toFixed(1))
    .join(' ');
  console.log(`\nGET /admin/v1/keys over ${(await get('limit=1')).counts.total} keys (50 a page unless limit says), ms per request;`);
  console.log(`${os.cpus().length} CPUs, load average ${load} (other work on the machine inflates these):`);
  console.log(`${''.padEnd(44)} ${'server'.padEnd(23)} ${'round trip'.padEnd(23)}`);
  console.log(`${'scenario'.padEnd(44)} ${['median', 'p95', 'max', 'median', 'p95', 'max'].map((h) => h.padStart(7)).join(' ')}  rows`);
  const stats = (times: number[]) => {
    const sorted = [...times].sort((a, b) => a - b);
    return [0.5, 0.95, 1].map((q) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!.toFixed(1).padStart(7)).join(' ');
  };
  for (const [name, query] of scenarios) {
    let rows = 0;
    for (let i = 0; i < WARMUP; i++) rows = (await get(query)).data.length;
    serverMs.length = 0;
    const roundTrips: number[] = [];
    for (let i = 0; i < RUNS; i++) {
      const start = performance.now();
      await get(query);
      roundTrips.push(performance.now() - start);
    }
    console.log(`${name.padEnd(44)} ${stats(serverMs)} ${stats(roundTrips)}  ${rows}`);
  }
  console.log('\nPostgres, by total time over the run (mean ms per call: plan + execution):');
  for (const statement of await topStatements(runtime, 6)) {
    console.log(`${(statement.meanPlanMs + statement.meanExecMs).toFixed(2).padStart(8)}  ×${String(statement.calls).padEnd(5)} ${statement.query}`);
  }
  await server.close();
  await runtime.close();
} finally {
  await stopAllChildren();
  await postgres.stop();
  await redis.stop().catch(() => {});
  rmSync(tempDir, { recursive: true, force: true });
}
