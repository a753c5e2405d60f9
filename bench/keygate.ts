// Keygate under test: `node src/cli/main.ts serve` as a child on the servers' core (its own event
// loop and RSS), plus an in-process runtime over the same Postgres and Redis for seeding.
import { appendFileSync } from 'node:fs';
import path from 'node:path';
import { SERVER_NODE_FLAGS } from '../src/cli/server-node-flags.ts';
import { loadConfig } from '../src/config.ts';
import { createLogger } from '../src/logger.ts';
import { openRuntime, type Runtime } from '../src/runtime.ts';
import { freePort, startChild, waitFor, type Child } from './children.ts';

export const PEPPER = '1:bench-only-pepper-0123456789-abcdefghijklmnopqrstuvwxyz';
const ROOT = path.resolve(import.meta.dirname, '..');

export interface Stores {
  databaseUrl: string;
  redisUrl: string;
}

export function openSeedRuntime(stores: Stores): Promise<Runtime> {
  const config = loadConfig({
    DATABASE_URL: stores.databaseUrl,
    REDIS_URL: stores.redisUrl,
    KEYGATE_SECRET_PEPPER: PEPPER,
    LOG_LEVEL: 'warn',
  });
  return openRuntime(config, createLogger('warn'), { migrate: true });
}

export interface KeygateServer {
  child: Child;
  baseUrl: string;
  /** Log lines at warn or above seen on its stdout (LOG_LEVEL=warn). */
  warnings: string[];
}

/**
 * `inspectorPort`: opens the inspector on 127.0.0.1:<port> (bench/inspector.ts drives the profiler).
 * `nodeFlags` (BENCH_SERVER_NODE_FLAGS) go to the server's node, e.g. --max-old-space-size=128.
 */
export async function startKeygate(
  stores: Stores,
  core: number | undefined,
  options: {
    inspectorPort?: number | undefined;
    nodeFlags?: string[];
    /** Appends the server's stdout here (BENCH_SERVER_LOG). */
    logFile?: string | undefined;
  } = {},
): Promise<KeygateServer> {
  const port = await freePort();
  const warnings: string[] = [];
  const inspect = options.inspectorPort ? [`--inspect=127.0.0.1:${options.inspectorPort}`] : [];
  // The shipped heap flags first; BENCH_SERVER_NODE_FLAGS after them win.
  const child = startChild(
    'keygate',
    process.execPath,
    [...SERVER_NODE_FLAGS, ...(options.nodeFlags ?? []), ...inspect, path.join(ROOT, 'src/cli/main.ts'), 'serve'],
    {
      core,
      env: {
        PATH: process.env.PATH,
        NODE_ENV: 'production',
        DATABASE_URL: stores.databaseUrl,
        REDIS_URL: stores.redisUrl,
        KEYGATE_SECRET_PEPPER: PEPPER,
        KEYGATE_ISSUER: `http://127.0.0.1:${port}`,
        PORT: String(port),
        HOST: '127.0.0.1',
        LOG_LEVEL: 'warn',
      },
      onStdoutLine: (line) => {
        if (options.logFile) appendFileSync(options.logFile, `${line}\n`);
        if (line.trim() && warnings.length < 1000) warnings.push(line);
      },
    },
  );
  const baseUrl = `http://127.0.0.1:${port}`;
  await waitFor('keygate /readyz', async () => (await fetch(`${baseUrl}/readyz`)).ok, 60_000, child);
  return { child, baseUrl, warnings };
}
