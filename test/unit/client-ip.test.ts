import { describe, it, expect } from 'vitest';
import { resolveClientIp } from '../../src/http/client-ip.ts';
import { parseNetworkList, type Network } from '../../src/oauth/policy/network.ts';

function networks(...items: string[]): Network[] {
  const parsed = parseNetworkList(items);
  if (!parsed.ok) throw new Error(`test setup: ${parsed.invalid} is not a network`);
  return parsed.networks;
}

const PROXIES = networks('10.0.0.0/8', '2001:db8:aaaa::/48');

describe('resolveClientIp', () => {
  it('ignores X-Forwarded-For when no proxy is trusted', () => {
    expect(resolveClientIp('10.0.0.1', '198.51.100.9', [])?.toString()).toBe('10.0.0.1');
  });

  it('returns the peer when no proxy is trusted and no header is sent', () => {
    expect(resolveClientIp('198.51.100.9', undefined, [])?.toString()).toBe('198.51.100.9');
  });

  it('ignores X-Forwarded-For from an untrusted peer', () => {
    expect(resolveClientIp('203.0.113.7', '198.51.100.9', PROXIES)?.toString()).toBe('203.0.113.7');
  });

  it('returns the peer when a trusted proxy sends no header', () => {
    expect(resolveClientIp('10.0.0.1', undefined, PROXIES)?.toString()).toBe('10.0.0.1');
    expect(resolveClientIp('10.0.0.1', '', PROXIES)?.toString()).toBe('10.0.0.1');
  });

  it('takes the right-most hop behind a trusted proxy', () => {
    expect(resolveClientIp('10.0.0.1', '198.51.100.9', PROXIES)?.toString()).toBe('198.51.100.9');
  });

  it('skips several trusted proxies from the right', () => {
    expect(resolveClientIp('10.0.0.1', '198.51.100.9, 10.0.0.3, 10.0.0.2', PROXIES)?.toString())
      .toBe('198.51.100.9');
  });

  it('ignores a forged left-most entry when a real hop stands to its right', () => {
    expect(resolveClientIp('10.0.0.1', 'forged, 198.51.100.9', PROXIES)?.toString()).toBe('198.51.100.9');
    expect(resolveClientIp('10.0.0.1', '192.0.2.66, 198.51.100.9', PROXIES)?.toString()).toBe('198.51.100.9');
  });

  it('returns the left-most hop when every hop is a trusted proxy', () => {
    expect(resolveClientIp('10.0.0.1', '10.0.0.9, 10.0.0.2', PROXIES)?.toString()).toBe('10.0.0.9');
  });

  it('is undefined when a hop it must read is unparsable', () => {
    expect(resolveClientIp('10.0.0.1', '198.51.100.9, garbage', PROXIES)).toBeUndefined();
    expect(resolveClientIp('10.0.0.1', 'garbage, 10.0.0.2', PROXIES)).toBeUndefined();
  });

  it('matches an IPv4-mapped IPv6 peer against an IPv4 proxy rule', () => {
    const caller = resolveClientIp('::ffff:10.0.0.1', '198.51.100.9', PROXIES);
    expect(caller?.toString()).toBe('198.51.100.9');
  });

  it('returns an IPv4-mapped peer as IPv4', () => {
    const caller = resolveClientIp('::ffff:203.0.113.7', undefined, PROXIES);
    expect(caller?.kind()).toBe('ipv4');
    expect(caller?.toString()).toBe('203.0.113.7');
  });

  it('works with IPv6 proxies and callers', () => {
    expect(resolveClientIp('2001:db8:aaaa::1', '2001:db8:bbbb::7', PROXIES)?.toString()).toBe('2001:db8:bbbb::7');
  });

  it('folds an IPv4-mapped hop into IPv4', () => {
    expect(resolveClientIp('10.0.0.1', '::ffff:198.51.100.9', PROXIES)?.toString()).toBe('198.51.100.9');
  });

  it('is undefined when the peer is unknown or unparsable', () => {
    expect(resolveClientIp(undefined, '198.51.100.9', PROXIES)).toBeUndefined();
    expect(resolveClientIp('garbage', '198.51.100.9', PROXIES)).toBeUndefined();
  });
});
