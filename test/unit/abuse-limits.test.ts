import { describe, expect, it } from 'vitest';
import { generateClientId } from '../../src/crypto/credentials.ts';
import { createMetrics } from '../../src/shared/metrics.ts';
import { createLogger } from '../../src/logger.ts';
import { createAbuseLimits, failureSource } from '../../src/oauth/abuse-limits.ts';
import { parseIp, type IpAddress } from '../../src/shared/network.ts';
import { createMemoryCounters } from '../../src/stores/counters.ts';

// Window boundaries are multiples of the window length since the epoch: start on one.
const WINDOW_START = 1_800_000_000_000;

function ip(text: string): IpAddress {
  const parsed = parseIp(text);
  if (!parsed) throw new Error(`test setup: ${text} is not an IP`);
  return parsed;
}

const ATTACKER = ip('203.0.113.66');

function limitsWithClock(lockoutsMaxEntries: number) {
  let now = WINDOW_START;
  const clock = () => now;
  const limits = createAbuseLimits({
    // Counts that are never dropped early, as in Redis.
    counters: createMemoryCounters({ now: clock }),
    config: { failuresPerClientSource: 2, failuresPerSource: 1_000_000, windowSeconds: 60 },
    metrics: createMetrics(),
    log: createLogger('silent'),
    onCrossed: async () => {},
    lockoutsMaxEntries,
    now: clock,
  });
  const lockOut = async (clientId: string) => {
    for (let i = 0; i < 2; i++) await limits.recordFailure(clientId, ATTACKER, 'token.issue');
  };
  return { limits, lockOut, advance: (ms: number) => void (now += ms) };
}

describe('failureSource', () => {
  it('counts an IPv4 caller by its address', () => {
    expect(failureSource(ip('203.0.113.7'))).toBe('203.0.113.7');
  });

  it('counts an IPv6 caller by its /64', () => {
    expect(failureSource(ip('2001:db8:1:2:aaaa:bbbb:cccc:dddd'))).toBe('2001:db8:1:2::/64');
    expect(failureSource(ip('2001:db8:1:2::1'))).toBe('2001:db8:1:2::/64');
  });

  it('counts an IPv4-mapped caller as the IPv4 address', () => {
    expect(failureSource(ip('::ffff:203.0.113.7'))).toBe('203.0.113.7');
  });

  it('counts nothing for an unknown caller', () => {
    expect(failureSource(undefined)).toBeNull();
  });
});

describe('abuse limits: lockouts remembered in process', () => {
  it('a full lockout map drops expired lockouts and keeps a live one', async () => {
    const { limits, lockOut, advance } = limitsWithClock(2);
    const victim = generateClientId();
    await lockOut(generateClientId());
    await lockOut(generateClientId());
    advance(60_000); // the next window: both have expired
    await lockOut(victim);
    await lockOut(generateClientId());
    expect(limits.checkAuthentication(victim, ATTACKER)).toEqual({ ok: false, retryAfterSeconds: 60, limit: 'client_source_failures' });
  });

  it('a map full of live lockouts drops the oldest, which costs it one attempt before it is locked again', async () => {
    const { limits, lockOut } = limitsWithClock(2);
    const victim = generateClientId();
    await lockOut(victim);
    await lockOut(generateClientId());
    await lockOut(generateClientId());
    expect(limits.checkAuthentication(victim, ATTACKER)).toEqual({ ok: true });
    await limits.recordFailure(victim, ATTACKER, 'token.issue');
    expect(limits.checkAuthentication(victim, ATTACKER)).toEqual({ ok: false, retryAfterSeconds: 60, limit: 'client_source_failures' });
  });

  it('a locked pair refuses only its own source', async () => {
    const { limits, lockOut } = limitsWithClock(10);
    const victim = generateClientId();
    await lockOut(victim);
    expect(limits.checkAuthentication(victim, ip('203.0.113.67'))).toEqual({ ok: true });
  });

  it('a locked IPv6 pair refuses its whole /64, and no other', async () => {
    const { limits } = limitsWithClock(10);
    const victim = generateClientId();
    await limits.recordFailure(victim, ip('2001:db8:1:2::a'), 'token.issue');
    await limits.recordFailure(victim, ip('2001:db8:1:2::b'), 'token.issue');
    expect(limits.checkAuthentication(victim, ip('2001:db8:1:2:ffff::1'))).toEqual({ ok: false, retryAfterSeconds: 60, limit: 'client_source_failures' });
    expect(limits.checkAuthentication(victim, ip('2001:db8:1:3::a'))).toEqual({ ok: true });
  });
});
