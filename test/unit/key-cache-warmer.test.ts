import { afterEach, describe, expect, it, vi } from 'vitest';
import { createKeyCache } from '../../src/keys/key-cache.ts';
import { createKeyCacheWarmer, STARTUP_WAIT_LIMIT_MS } from '../../src/keys/key-cache-warmer.ts';
import type { KeySnapshot } from '../../src/keys/model.ts';
import { createLogger } from '../../src/logger.ts';

const log = createLogger('silent');

/** A trusted cache whose pages come from `loadPage`; the warmer over it. */
function warmerOver(loadPage: () => Promise<KeySnapshot[]>) {
  const cache = createKeyCache({ load: async () => undefined, loadPage });
  cache.setTrusted(true);
  return { cache, warmer: createKeyCacheWarmer(cache, log) };
}

describe('key cache warmer: start-up readiness', () => {
  afterEach(() => vi.useRealTimers());

  it('is pending from start-up until the first pass has ended, and never again', async () => {
    let finish!: (page: KeySnapshot[]) => void;
    let calls = 0;
    const { cache, warmer } = warmerOver(() => {
      calls += 1;
      return calls === 1 ? new Promise((resolve) => (finish = resolve)) : new Promise(() => {});
    });
    expect(warmer.startupWarmPending()).toBe(true); // before the feed is even live
    warmer.warmSoon();
    await Promise.resolve();
    expect(warmer.startupWarmPending()).toBe(true);
    finish([{ clientId: 'a' } as KeySnapshot]);
    await vi.waitFor(() => expect(warmer.startupWarmPending()).toBe(false));
    expect(cache.size).toBe(1);
    warmer.warmSoon(); // a later pass (after a reconnect) that never ends does not take readiness back
    await Promise.resolve();
    expect(warmer.startupWarmPending()).toBe(false);
    void warmer.stop();
  });

  it('stops holding readiness back when the first pass fails', async () => {
    const { warmer } = warmerOver(() => Promise.reject(new Error('connection refused')));
    expect(warmer.startupWarmPending()).toBe(true);
    warmer.warmSoon();
    await vi.waitFor(() => expect(warmer.startupWarmPending()).toBe(false));
    await warmer.stop();
  });

  it('stops holding readiness back after the start-up limit, even if the pass still runs', async () => {
    vi.useFakeTimers();
    const { warmer } = warmerOver(() => new Promise(() => {}));
    warmer.warmSoon();
    vi.advanceTimersByTime(STARTUP_WAIT_LIMIT_MS - 1);
    expect(warmer.startupWarmPending()).toBe(true);
    vi.advanceTimersByTime(1);
    expect(warmer.startupWarmPending()).toBe(false);
    void warmer.stop();
  });
});
