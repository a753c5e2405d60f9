// When the key cache warms (key-cache.ts warm()): as soon as the change feed is live (start-up,
// and after every reconnect, which empties the cache), then every 5 minutes, so entries are
// renewed before their 10-minute safety-net TTL ends and keys created meanwhile are held too.
//
// The first pass also decides when a starting replica is ready (/readyz): until it ends, every
// first request for a key would be its own Postgres read, so a replica joining a busy fleet
// would spend its first seconds on the database instead of on clients. A pass that fails, or
// one still running after STARTUP_WAIT_LIMIT_MS, no longer holds readiness back: keys then load
// on demand. Later passes never do: a replica serving traffic keeps serving while it rewarms.
import type { Logger } from 'pino';
import type { KeyCache } from './key-cache.ts';

const REWARM_INTERVAL_MS = 5 * 60_000;
export const STARTUP_WAIT_LIMIT_MS = 30_000;

export function createKeyCacheWarmer(cache: KeyCache, log: Logger) {
  let running: Promise<void> | undefined;
  let again = false;
  let firstPassPending = true;
  const startupLimit = setTimeout(() => (firstPassPending = false), STARTUP_WAIT_LIMIT_MS);
  startupLimit.unref();

  const warm = (): void => {
    if (running) {
      again = true; // the feed came back mid-pass: the cache was emptied, so pass once more
      return;
    }
    const started = performance.now();
    running = cache
      .warm()
      .then((cached) => log.info({ keys: cached, ms: Math.round(performance.now() - started) }, 'key cache warmed'))
      .catch((error: unknown) => log.warn({ err: error }, 'key cache warm-up failed; keys load on demand'))
      .finally(() => {
        running = undefined;
        firstPassPending = false;
        if (again) {
          again = false;
          warm();
        }
      });
  };
  const timer = setInterval(warm, REWARM_INTERVAL_MS);
  timer.unref();

  return {
    warmSoon: warm,
    /** True from start-up until the first pass has ended (or STARTUP_WAIT_LIMIT_MS has passed). */
    startupWarmPending: () => firstPassPending,
    /** No more passes; a pass under way ends after its current page (the cache is no longer trusted). */
    async stop(): Promise<void> {
      clearInterval(timer);
      clearTimeout(startupLimit);
      again = false;
      cache.setTrusted(false);
      await running;
    },
  };
}
