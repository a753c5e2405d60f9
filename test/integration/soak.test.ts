// A bounded soak against a server running as its own process: mixed issuance, introspection and
// admin changes for SOAK_SECONDS (default 100; `SOAK_SECONDS=300 npx vitest run test/integration/soak.test.ts`
// for the long profile). Asserts zero 5xx, no admin change without its audit record, RSS growth
// under 10% after warm-up, and RSS within the 250 MB the server is sized for. The server runs with
// the node flags it ships with (src/cli/server-node-flags.ts): without them V8 sizes its heap from
// the machine's memory, RSS climbs to twice as much in steps, and a pause between two steps passes
// for the end of warm-up. With them the heap reaches its working size within ~20 s of load, so
// growth is measured from the moment RSS settles (see the sampler) to the end of the run.
// Loopback only; every loop is bounded by the clock.
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import http from 'node:http';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { SERVER_NODE_FLAGS } from '../../src/cli/server-node-flags.ts';
import { loadConfig } from '../../src/config.ts';
import { createLogger } from '../../src/logger.ts';
import { openRuntime, type Runtime } from '../../src/runtime.ts';
import type { CreatedKey } from '../../src/keys/types.ts';
import { CLI, REPO_ROOT } from '../support/cli.ts';
import { basicAuth } from '../support/http.ts';
import { TEST_PEPPER } from '../support/keygate.ts';
import { freePort, stopChild, waitFor } from '../support/processes.ts';

const SOAK_SECONDS = Number(process.env.SOAK_SECONDS ?? 100);
const WARMUP_SECONDS = Math.min(40, Math.floor(SOAK_SECONDS / 2));
const agent = new http.Agent({ keepAlive: true, maxSockets: 16 });

function post(port: number, path: string, headers: Record<string, string>, body: string): Promise<{ status: number; body: string; requestId: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      { host: '127.0.0.1', port, path, method: 'POST', agent, headers: { ...headers, 'content-length': Buffer.byteLength(body) } },
      (res) => {
        let text = '';
        res.on('data', (chunk) => (text += chunk));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text, requestId: String(res.headers['x-request-id']) }));
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

const rssKb = (pid: number) => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))![1]);

describe(`soak (${SOAK_SECONDS} s)`, () => {
  let runtime: Runtime;
  let server: ChildProcess;
  let port: number;

  beforeAll(async () => {
    const env = {
      DATABASE_URL: inject('databaseUrl'),
      REDIS_URL: inject('redisUrl'),
      KEYGATE_SECRET_PEPPER: TEST_PEPPER,
      KEYGATE_AUTH_FAILURES_PER_IP: '1000000',
      KEYGATE_AUTH_FAILURES_PER_CLIENT: '1000000',
      // Webhooks of the event suites are theirs to deliver, with their settings.
      KEYGATE_DELIVER_EVENTS: 'false',
      LOG_LEVEL: 'warn',
    };
    runtime = await openRuntime(loadConfig(env), createLogger('silent'), { migrate: false });
    port = await freePort();
    server = spawn(process.execPath, [...SERVER_NODE_FLAGS, CLI, 'serve'], {
      cwd: REPO_ROOT,
      env: { PATH: process.env.PATH, ...env, PORT: String(port), HOST: '127.0.0.1' },
      stdio: 'ignore',
    });
    await waitFor(async () => (await fetch(`http://127.0.0.1:${port}/readyz`)).ok, 20_000, 'soak server');
  }, 60_000);

  afterAll(async () => {
    agent.destroy();
    if (server) await stopChild(server);
    await runtime?.close();
  });

  it(
    'serves mixed traffic with no 5xx, loses no audit record, and keeps RSS flat',
    async () => {
      const tenantId = (await runtime.tenants.insert({ name: 'soak' })).id;
      const actor = { keyId: null, userId: null, via: 'test' };
      const admin = await runtime.keyService.create({ tenant_id: tenantId, name: 'soak admin', scopes: ['admin:keys:write', 'token:introspect'] }, actor);
      const clients: CreatedKey[] = [];
      for (let i = 0; i < 20; i++) clients.push(await runtime.keyService.create({ tenant_id: tenantId, name: `soak ${i}`, scopes: ['a:read'] }, actor));
      const adminToken = JSON.parse(
        (
          await post(
            port,
            '/oauth/token',
            { authorization: basicAuth(admin.key.client_id, admin.client_secret), 'content-type': 'application/x-www-form-urlencoded' },
            'grant_type=client_credentials',
          )
        ).body,
      ).access_token;

      const statuses = new Map<number, number>();
      const adminChanges: { requestId: string; action: string; clientId: string }[] = [];
      const tokens: string[] = [];
      const count = (status: number) => statuses.set(status, (statuses.get(status) ?? 0) + 1);
      const deadline = Date.now() + SOAK_SECONDS * 1000;
      const warmEnd = Date.now() + WARMUP_SECONDS * 1000;
      let rssAfterWarmup = 0;
      let rssPeak = 0;

      const issue = async (i: number) => {
        const key = clients[i % clients.length]!;
        const secret = i % 50 === 0 ? 'kgs_wrong' : key.client_secret; // a few denials in the mix
        const response = await post(
          port,
          '/oauth/token',
          { authorization: basicAuth(key.key.client_id, secret), 'content-type': 'application/x-www-form-urlencoded' },
          'grant_type=client_credentials',
        );
        count(response.status);
        if (response.status === 200) tokens[i % 500] = JSON.parse(response.body).access_token;
      };
      const introspect = async (i: number) => {
        const response = await post(
          port,
          '/oauth/introspect',
          { authorization: basicAuth(admin.key.client_id, admin.client_secret), 'content-type': 'application/x-www-form-urlencoded' },
          `token=${tokens[i % 500] ?? 'unknown'}`,
        );
        count(response.status);
      };
      const change = async (i: number) => {
        const create = await post(
          port,
          '/admin/v1/keys',
          { authorization: `Bearer ${adminToken}`, 'content-type': 'application/json' },
          JSON.stringify({ name: `churn ${i}`, scopes: ['a:read'] }),
        );
        count(create.status);
        if (create.status !== 201) return;
        const clientId = JSON.parse(create.body).key.client_id;
        adminChanges.push({ requestId: create.requestId, action: 'key.create', clientId });
        const disable = await post(
          port,
          `/admin/v1/keys/${clientId}/disable`,
          { authorization: `Bearer ${adminToken}`, 'content-type': 'application/json' },
          '{}',
        );
        count(disable.status);
        if (disable.status === 200) adminChanges.push({ requestId: disable.requestId, action: 'key.disable', clientId });
      };

      const worker = async (kind: number) => {
        for (let i = 0; Date.now() < deadline; i++) {
          if (kind === 0) await change(i);
          else if (kind % 2 === 1) await issue(i * 7 + kind);
          else await introspect(i * 7 + kind);
        }
      };
      // Warm-up ends once RSS has grown less than 3 % over the last 10 s (the heap reached its
      // working size), after WARMUP_SECONDS at the earliest and 70 % of the run at the latest: on a
      // busy machine (CI runs suites in parallel) the heap takes longer to settle.
      const latestWarmEnd = Date.now() + SOAK_SECONDS * 700;
      const samples: { at: number; rss: number }[] = [];
      const sampler = (async () => {
        while (Date.now() < deadline) {
          await new Promise((r) => setTimeout(r, 500));
          const rss = rssKb(server.pid!);
          samples.push({ at: Date.now(), rss });
          if (process.env.SOAK_TRACE) console.info(`rss ${Math.round((Date.now() - warmEnd) / 1000)} s ${rss}`);
          const tenSecondsAgo = samples.find((sample) => sample.at >= Date.now() - 10_000)!;
          const settled = rss < tenSecondsAgo.rss * 1.03 && samples[0]!.at <= Date.now() - 10_000;
          if (rssAfterWarmup === 0 && Date.now() >= warmEnd && (settled || Date.now() >= latestWarmEnd)) rssAfterWarmup = rss;
          if (rssAfterWarmup > 0) rssPeak = Math.max(rssPeak, rss);
        }
      })();
      await Promise.all([...Array.from({ length: 9 }, (_, kind) => worker(kind)), sampler]);
      const rssEnd = rssKb(server.pid!);

      const serverErrors = [...statuses].filter(([status]) => status >= 500);
      expect(serverErrors).toEqual([]);
      expect(statuses.get(200)! + (statuses.get(201) ?? 0)).toBeGreaterThan(100);
      // Every admin change the client saw succeed has its audit record, with its request id.
      const audit = await runtime.audit.list({ tenantIds: [tenantId], limit: 100_000 });
      const recorded = new Set(audit.map((e) => `${e.request_id}/${e.action}/${e.target_key_id}`));
      const missing = adminChanges.filter((c) => !recorded.has(`${c.requestId}/${c.action}/${c.clientId}`));
      expect(missing).toEqual([]);
      const growth = (rssEnd - rssAfterWarmup) / rssAfterWarmup;
      console.info(
        `soak: ${SOAK_SECONDS} s, statuses ${JSON.stringify(Object.fromEntries(statuses))}, admin changes ${adminChanges.length}, RSS after warm-up ${rssAfterWarmup} kB, peak ${rssPeak} kB, end ${rssEnd} kB (${(growth * 100).toFixed(1)} %)`,
      );
      expect(growth).toBeLessThan(0.1);
      expect(Math.max(...samples.map((sample) => sample.rss), rssEnd)).toBeLessThan(250 * 1024);
    },
    (SOAK_SECONDS + 60) * 1000,
  );
});
