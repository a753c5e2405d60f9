// When the key cache warms (key-cache.ts warm()): as soon as the change feed is live (start-up,
// and after every reconnect, which empties the cache), then every 5 minutes, so entries are
// renewed before their 10-minute safety-net TTL ends and keys created meanwhile are held too.
import type { Logger } from 'pino';
import type { KeyCache } from './key-cache.ts';

const REWARM_INTERVAL_MS = 5 * 60_000;

export function createKeyCacheWarmer(cache: KeyCache, log: Logger) {
  let running: Promise<void> | undefined;
  let again = false;

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
    /** No more passes; a pass under way ends after its current page (the cache is no longer trusted). */
    async stop(): Promise<void> {
      clearInterval(timer);
      again = false;
      cache.setTrusted(false);
      await running;
    },
  };
}
