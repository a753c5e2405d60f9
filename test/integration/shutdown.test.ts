// SIGTERM drains in-flight requests and closes pools. `keygate serve` runs as its own
// process over the run's Postgres and Redis; 20 keep-alive clients request tokens as fast as they
// can while it gets SIGTERM. Nothing sent before the signal may be lost or half-answered; once the
// listener is gone new connections are refused; the process exits 0 soon after.
import { spawn, type ChildProcess } from 'node:child_process';
import http from 'node:http';
import { performance } from 'node:perf_hooks';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { loadConfig } from '../../src/config.ts';
import type { CreatedKey } from '../../src/keys/types.ts';
import { createLogger } from '../../src/logger.ts';
import { openRuntime, type Runtime } from '../../src/runtime.ts';
import { CLI, REPO_ROOT } from '../support/cli.ts';
import { basicAuth } from '../support/http.ts';
import { TEST_PEPPER } from '../support/keygate.ts';
import { freePort, stopChild } from '../support/processes.ts';

const LOOPS = 20;
const TOKEN = /^[A-Za-z0-9_-]{43}$/;

interface Outcome {
  /** performance.now() when the whole request had been handed to the OS; undefined = never sent. */
  sentAt: number | undefined;
  doneAt: number;
  status?: number;
  complete?: boolean;
  body?: string;
  connection?: string;
  error?: string;
}

function postToken(port: number, agent: http.Agent, authorization: string): Promise<Outcome> {
  return new Promise((resolve) => {
    let sentAt: number | undefined;
    let settled = false;
    const settle = (outcome: Omit<Outcome, 'sentAt' | 'doneAt'>) => {
      if (settled) return;
      settled = true;
      resolve({ sentAt, doneAt: performance.now(), ...outcome });
    };
    const payload = 'grant_type=client_credentials';
    const req = http.request(
      {
        host: '127.0.0.1',
        port,
        method: 'POST',
        path: '/oauth/token',
        agent,
        headers: { authorization, 'content-type': 'application/x-www-form-urlencoded', 'content-length': String(payload.length) },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () =>
          settle({ status: res.statusCode, complete: res.complete, body: Buffer.concat(chunks).toString('utf8'), connection: res.headers.connection }),
        );
        res.on('error', (error: NodeJS.ErrnoException) => settle({ status: res.statusCode, error: error.code ?? error.message }));
      },
    );
    req.on('finish', () => (sentAt = performance.now()));
    req.on('error', (error: NodeJS.ErrnoException) => settle({ error: error.code ?? error.message }));
    req.setTimeout(10_000, () => req.destroy(new Error('client timeout')));
    req.end(payload);
  });
}

function startServe(env: Record<string, string>): Promise<{ child: ChildProcess; output: () => string }> {
  const child = spawn(process.execPath, [CLI, 'serve'], { cwd: REPO_ROOT, env: { PATH: process.env.PATH, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout!.on('data', (chunk) => (output += chunk));
  child.stderr!.on('data', (chunk) => (output += chunk));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`server did not start:\n${output}`)), 30_000);
    child.stdout!.on('data', () => {
      if (output.includes('keygate listening')) {
        clearTimeout(timer);
        resolve({ child, output: () => output });
      }
    });
    child.once('exit', (code) => reject(new Error(`server exited with ${code}:\n${output}`)));
  });
}

describe('SIGTERM under load (keygate serve as a process)', () => {
  let runtime: Runtime;
  let key: CreatedKey;
  let server: { child: ChildProcess; output: () => string } | undefined;
  let port: number;

  beforeAll(async () => {
    port = await freePort();
    const env = {
      DATABASE_URL: inject('databaseUrl'),
      REDIS_URL: inject('redisUrl')!,
      KEYGATE_SECRET_PEPPER: TEST_PEPPER,
      KEYGATE_ISSUER: 'http://keygate.test',
      PORT: String(port),
      HOST: '127.0.0.1',
      LOG_LEVEL: 'info',
      // Webhooks of the event suites are theirs to deliver, with their settings.
      KEYGATE_DELIVER_EVENTS: 'false',
    };
    // The key is made here, through the stores, with the pepper the server uses.
    runtime = await openRuntime(loadConfig(env), createLogger('silent'), { migrate: false });
    const tenant = await runtime.tenants.insert({ name: 'shutdown test' });
    key = await runtime.keyService.create({ tenant_id: tenant.id, name: 'load', scopes: ['devices:read'] }, { keyId: null, userId: null, via: 'test' });
    server = await startServe(env);
  });
  afterAll(async () => {
    if (server) await stopChild(server.child, 'SIGKILL');
    await runtime?.close();
  });

  it('answers every request sent before SIGTERM in full, refuses new connections after, and exits 0', async () => {
    const { child } = server!;
    const authorization = basicAuth(key.key.client_id, key.client_secret);
    const exited = new Promise<{ code: number | null; at: number }>((resolve) => child.once('exit', (code) => resolve({ code, at: performance.now() })));
    const outcomes: Outcome[] = [];
    const deadline = performance.now() + 10_000;
    let refused = 0;
    const agents = Array.from({ length: LOOPS }, () => new http.Agent({ keepAlive: true, maxSockets: 1 }));
    const loops = agents.map(async (agent) => {
      // Each loop stops at its first refused connection: the listener is gone.
      while (performance.now() < deadline) {
        const outcome = await postToken(port, agent, authorization);
        outcomes.push(outcome);
        if (outcome.error === 'ECONNREFUSED') {
          refused += 1;
          return;
        }
      }
    });

    // Let the load run, then signal mid-load.
    while (outcomes.length < 200 && performance.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    const signalledAt = performance.now();
    child.kill('SIGTERM');
    await Promise.all(loops);
    for (const agent of agents) agent.destroy();
    const exit = await exited;

    const before = outcomes.filter((o) => o.sentAt !== undefined && o.sentAt < signalledAt);
    const notAnsweredInFull = (o: Outcome) => !(o.status === 200 && o.complete && TOKEN.test(JSON.parse(o.body!).access_token));
    expect(before.length).toBeGreaterThanOrEqual(200);
    expect(before.filter(notAnsweredInFull)).toEqual([]);
    // The signal really landed mid-load: some of those were still in flight.
    expect(before.filter((o) => o.doneAt > signalledAt).length).toBeGreaterThan(0);
    // Everything else was either answered in full or refused at connect — never reset or 5xx.
    const after = outcomes.filter((o) => !before.includes(o));
    expect(after.filter((o) => o.error !== 'ECONNREFUSED' && notAnsweredInFull(o))).toEqual([]);
    expect(after.filter((o) => o.error === 'ECONNREFUSED').every((o) => o.sentAt === undefined)).toBe(true);
    expect(refused).toBe(LOOPS);
    expect({ code: exit.code, output: exit.code === 0 ? '' : server!.output() }).toEqual({ code: 0, output: '' });
    expect(exit.at - signalledAt).toBeLessThan(5_000);
    expect(server!.output()).toContain('"msg":"draining"');
  });
});
