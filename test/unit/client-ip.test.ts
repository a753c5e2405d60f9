import { describe, it, expect } from 'vitest';
import { resolveClientIp } from '../../src/http/client-ip.ts';
import { parseNetworkList, type Network } from '../../src/shared/network.ts';

function networks(...items: string[]): Network[] {
  const parsed = parseNetworkList(items);
  if (!parsed.ok) throw new Error(`test setup: ${parsed.invalid} is not a network`);
  return parsed.networks;
}

const PROXIES = networks('10.0.0.0/8', '2001:db8:aaaa::/48');

/** The caller for network rules (`ip`) and the address counted and audited (`source`), as text. */
function resolve(peer: string | undefined, forwardedFor: string | undefined, proxies: readonly Network[] = PROXIES) {
  const { ip, source } = resolveClientIp(peer, forwardedFor, proxies);
  return { ip: ip?.toString(), source: source?.toString() };
}

const caller = (address: string) => ({ ip: address, source: address });

describe('resolveClientIp', () => {
  it('ignores X-Forwarded-For when no proxy is trusted', () => {
    expect(resolve('10.0.0.1', '198.51.100.9', [])).toEqual(caller('10.0.0.1'));
  });

  it('returns the peer when no proxy is trusted and no header is sent', () => {
    expect(resolve('198.51.100.9', undefined, [])).toEqual(caller('198.51.100.9'));
  });

  it('ignores X-Forwarded-For from an untrusted peer', () => {
    expect(resolve('203.0.113.7', '198.51.100.9')).toEqual(caller('203.0.113.7'));
  });

  it('returns the peer when a trusted proxy sends no header', () => {
    expect(resolve('10.0.0.1', undefined)).toEqual(caller('10.0.0.1'));
    expect(resolve('10.0.0.1', '')).toEqual(caller('10.0.0.1'));
  });

  it('takes the right-most hop behind a trusted proxy', () => {
    expect(resolve('10.0.0.1', '198.51.100.9')).toEqual(caller('198.51.100.9'));
  });

  it('skips several trusted proxies from the right', () => {
    expect(resolve('10.0.0.1', '198.51.100.9, 10.0.0.3, 10.0.0.2')).toEqual(caller('198.51.100.9'));
  });

  it('ignores a forged left-most entry when a real hop stands to its right', () => {
    expect(resolve('10.0.0.1', 'forged, 198.51.100.9')).toEqual(caller('198.51.100.9'));
    expect(resolve('10.0.0.1', '192.0.2.66, 198.51.100.9')).toEqual(caller('198.51.100.9'));
  });

  it('returns the left-most hop when every hop is a trusted proxy', () => {
    expect(resolve('10.0.0.1', '10.0.0.9, 10.0.0.2')).toEqual(caller('10.0.0.9'));
  });

  it('an unparsable right-most hop: unknown to network rules, counted against the proxy that sent it', () => {
    expect(resolve('10.0.0.1', '198.51.100.9, garbage')).toEqual({ ip: undefined, source: '10.0.0.1' });
  });

  it('an unparsable hop behind trusted hops: unknown to network rules, counted against the nearest trusted hop', () => {
    expect(resolve('10.0.0.1', 'garbage, 10.0.0.2')).toEqual({ ip: undefined, source: '10.0.0.2' });
    expect(resolve('10.0.0.1', 'garbage, 10.0.0.3, 10.0.0.2')).toEqual({ ip: undefined, source: '10.0.0.3' });
  });

  it('an empty hop between commas is unparsable too', () => {
    expect(resolve('10.0.0.1', '198.51.100.9,,10.0.0.2')).toEqual({ ip: undefined, source: '10.0.0.2' });
  });

  it('strips a port from an IPv4 hop', () => {
    expect(resolve('10.0.0.1', '198.51.100.9:4711')).toEqual(caller('198.51.100.9'));
  });

  it('strips a port from a bracketed IPv6 hop', () => {
    expect(resolve('10.0.0.1', '[2001:db8:bbbb::7]:443')).toEqual(caller('2001:db8:bbbb::7'));
  });

  it('reads a bracketed IPv6 hop without a port', () => {
    expect(resolve('10.0.0.1', '[2001:db8:bbbb::7]')).toEqual(caller('2001:db8:bbbb::7'));
  });

  it('strips ports from trusted hops while skipping them', () => {
    expect(resolve('10.0.0.1', '198.51.100.9:1234, 10.0.0.2:8080, [2001:db8:aaaa::5]:80')).toEqual(caller('198.51.100.9'));
  });

  it('reads an unbracketed IPv6 hop whole: its last group cannot be told from a port', () => {
    expect(resolve('10.0.0.1', '2001:db8::7:443')).toEqual(caller('2001:db8::7:443'));
  });

  it('refuses hops with a port out of range, brackets around IPv4, or an empty port', () => {
    for (const hop of ['198.51.100.9:65536', '[198.51.100.9]:80', '[198.51.100.9]', '198.51.100.9:', '[2001:db8::7]:', '[2001:db8::7']) {
      expect(resolve('10.0.0.1', hop), hop).toEqual({ ip: undefined, source: '10.0.0.1' });
    }
  });

  it('matches an IPv4-mapped IPv6 peer against an IPv4 proxy rule', () => {
    expect(resolve('::ffff:10.0.0.1', '198.51.100.9')).toEqual(caller('198.51.100.9'));
  });

  it('returns an IPv4-mapped peer as IPv4', () => {
    const resolved = resolveClientIp('::ffff:203.0.113.7', undefined, PROXIES);
    expect(resolved.ip?.kind()).toBe('ipv4');
    expect(resolve('::ffff:203.0.113.7', undefined)).toEqual(caller('203.0.113.7'));
  });

  it('works with IPv6 proxies and callers', () => {
    expect(resolve('2001:db8:aaaa::1', '2001:db8:bbbb::7')).toEqual(caller('2001:db8:bbbb::7'));
  });

  it('folds an IPv4-mapped hop into IPv4', () => {
    expect(resolve('10.0.0.1', '::ffff:198.51.100.9')).toEqual(caller('198.51.100.9'));
  });

  it('keeps an IPv4-compatible hop as IPv6', () => {
    expect(resolve('10.0.0.1', '::198.51.100.9')).toEqual(caller('::c633:6409'));
  });

  it('is unknown, to rules and to counting, when the peer is unknown or unparsable', () => {
    expect(resolve(undefined, '198.51.100.9')).toEqual({ ip: undefined, source: undefined });
    expect(resolve('garbage', '198.51.100.9')).toEqual({ ip: undefined, source: undefined });
  });
});
