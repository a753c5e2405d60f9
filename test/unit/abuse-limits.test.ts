import { describe, expect, it } from 'vitest';
import { createMetrics } from '../../src/http/metrics.ts';
import { createLogger } from '../../src/logger.ts';
import { createAbuseLimits } from '../../src/oauth/abuse-limits.ts';
import { createMemoryCounters } from '../../src/stores/counters.ts';

// Window boundaries are multiples of the window length since the epoch: start on one.
const WINDOW_START = 1_800_000_000_000;

function limitsWithClock(lockoutsMaxEntries: number) {
  let now = WINDOW_START;
  const clock = () => now;
  const limits = createAbuseLimits({
    // Counts that are never dropped early, as in Redis.
    counters: createMemoryCounters({ now: clock }),
    config: { failuresPerClient: 2, failuresPerIp: 1_000_000, windowSeconds: 60 },
    metrics: createMetrics(),
    log: createLogger('silent'),
    onCrossed: async () => {},
    lockoutsMaxEntries,
    now: clock,
  });
  const lockOut = async (clientId: string) => {
    for (let i = 0; i < 2; i++) await limits.recordFailure(clientId, null);
  };
  return { limits, lockOut, advance: (ms: number) => void (now += ms) };
}

describe('abuse limits: lockouts remembered in process', () => {
  it('a full lockout map drops expired lockouts and keeps a live one', async () => {
    const { limits, lockOut, advance } = limitsWithClock(2);
    await lockOut('old-1');
    await lockOut('old-2');
    advance(60_000); // the next window: both have expired
    await lockOut('victim');
    await lockOut('other');
    expect(limits.checkAuthentication('victim', null)).toEqual({ ok: false, retryAfterSeconds: 60, limit: 'client_failures' });
  });

  it('a map full of live lockouts drops the oldest, which costs it one attempt before it is locked again', async () => {
    const { limits, lockOut } = limitsWithClock(2);
    await lockOut('victim');
    await lockOut('x');
    await lockOut('y');
    expect(limits.checkAuthentication('victim', null)).toEqual({ ok: true });
    await limits.recordFailure('victim', null);
    expect(limits.checkAuthentication('victim', null)).toEqual({ ok: false, retryAfterSeconds: 60, limit: 'client_failures' });
  });
});
