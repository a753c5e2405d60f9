import { describe, it, expect } from 'vitest';
import { checkNetwork, parseIp, parseNetwork, parseNetworkList, type IpAddress, type Network } from '../../src/shared/network.ts';

function ip(text: string): IpAddress {
  const parsed = parseIp(text);
  if (!parsed) throw new Error(`test setup: ${text} is not an IP`);
  return parsed;
}

function networks(...items: string[]): Network[] {
  const parsed = parseNetworkList(items);
  if (!parsed.ok) throw new Error(`test setup: ${parsed.invalid} is not a network`);
  return parsed.networks;
}

describe('parseIp', () => {
  it('parses an IPv4 address', () => {
    const parsed = parseIp('203.0.113.7');
    expect(parsed?.kind()).toBe('ipv4');
    expect(parsed?.toString()).toBe('203.0.113.7');
  });

  it('parses an IPv6 address', () => {
    const parsed = parseIp('2001:db8:0:0::1');
    expect(parsed?.kind()).toBe('ipv6');
    expect(parsed?.toString()).toBe('2001:db8::1');
  });

  it('folds IPv4-mapped IPv6 into IPv4', () => {
    const parsed = parseIp('::ffff:203.0.113.7');
    expect(parsed?.kind()).toBe('ipv4');
    expect(parsed?.toString()).toBe('203.0.113.7');
  });

  it('keeps IPv4-compatible IPv6 (::a.b.c.d) as IPv6', () => {
    const parsed = parseIp('::203.0.113.7');
    expect(parsed?.kind()).toBe('ipv6');
    expect(parsed?.toString()).toBe('::cb00:7107');
  });

  it('reads every spelling of an IPv4-compatible address as the same IPv6 address', () => {
    expect(['::203.0.113.7', '0::203.0.113.7', '0:0:0:0:0:0:203.0.113.7', '::cb00:7107'].map((t) => parseIp(t)?.toString())).toEqual([
      '::cb00:7107',
      '::cb00:7107',
      '::cb00:7107',
      '::cb00:7107',
    ]);
  });

  it('rejects an IPv4-compatible address whose IPv4 part is not four decimal octets', () => {
    expect(parseIp('::256.0.0.1')).toBeUndefined();
    expect(parseIp('::01.2.3.4')).toBeUndefined();
  });

  it('trims surrounding whitespace', () => {
    expect(parseIp(' 10.0.0.1 ')?.toString()).toBe('10.0.0.1');
  });

  it('rejects a one-part IPv4 form', () => {
    expect(parseIp('1')).toBeUndefined();
  });

  it('rejects a hexadecimal IPv4 form', () => {
    expect(parseIp('0x7f.0.0.1')).toBeUndefined();
  });

  it('rejects an IPv6 address with a zone id', () => {
    expect(parseIp('fe80::1%eth0')).toBeUndefined();
  });

  it('rejects garbage and the empty string', () => {
    expect(parseIp('not-an-ip')).toBeUndefined();
    expect(parseIp('256.0.0.1')).toBeUndefined();
    expect(parseIp('')).toBeUndefined();
  });
});

describe('parseNetwork', () => {
  it('canonicalises an IPv4 CIDR to its network address', () => {
    expect(parseNetwork('10.0.0.5/24')?.text).toBe('10.0.0.0/24');
  });

  it('canonicalises an IPv6 CIDR to its network address', () => {
    expect(parseNetwork('2001:db8:1:2::5/32')?.text).toBe('2001:db8::/32');
  });

  it('reads a single IPv4 address as /32', () => {
    expect(parseNetwork('203.0.113.7')?.text).toBe('203.0.113.7/32');
  });

  it('reads a single IPv6 address as /128', () => {
    expect(parseNetwork('2001:db8::1')?.text).toBe('2001:db8::1/128');
  });

  it('reads an IPv4-mapped IPv6 CIDR as the IPv4 network', () => {
    expect(parseNetwork('::ffff:10.0.0.0/104')?.text).toBe('10.0.0.0/8');
  });

  it('reads a single IPv4-mapped IPv6 address as /32', () => {
    expect(parseNetwork('::ffff:10.0.0.1')?.text).toBe('10.0.0.1/32');
  });

  it('reads an IPv4-compatible IPv6 CIDR as an IPv6 network', () => {
    expect(parseNetwork('::10.0.0.0/104')?.text).toBe('::a00:0/104');
  });

  it('reads a single IPv4-compatible IPv6 address as /128', () => {
    expect(parseNetwork('::203.0.113.7')?.text).toBe('::cb00:7107/128');
  });

  it('accepts the edge prefixes', () => {
    expect(parseNetwork('10.1.2.3/0')?.text).toBe('0.0.0.0/0');
    expect(parseNetwork('10.1.2.3/32')?.text).toBe('10.1.2.3/32');
    expect(parseNetwork('::/0')?.text).toBe('::/0');
  });

  it('rejects a prefix out of range', () => {
    expect(parseNetwork('10.0.0.0/33')).toBeUndefined();
    expect(parseNetwork('2001:db8::/129')).toBeUndefined();
    expect(parseNetwork('::ffff:10.0.0.0/95')).toBeUndefined();
  });

  it('rejects a non-numeric or empty prefix', () => {
    expect(parseNetwork('10.0.0.0/abc')).toBeUndefined();
    expect(parseNetwork('10.0.0.0/-1')).toBeUndefined();
    expect(parseNetwork('10.0.0.0/')).toBeUndefined();
    expect(parseNetwork('10.0.0.0/8/8')).toBeUndefined();
  });

  it('rejects an invalid address', () => {
    expect(parseNetwork('10.0.0/8')).toBeUndefined();
  });
});

describe('parseNetworkList', () => {
  it('dedupes networks by their canonical form', () => {
    const parsed = parseNetworkList(['10.0.0.5/24', '10.0.0.9/24', '2001:db8::1']);
    expect(parsed.ok && parsed.networks.map((n) => n.text)).toEqual(['10.0.0.0/24', '2001:db8::1/128']);
  });

  it('reports the first invalid item, trimmed', () => {
    expect(parseNetworkList(['10.0.0.0/8', ' bad-one ', 'bad-two'])).toEqual({ ok: false, invalid: 'bad-one' });
  });

  it('skips blank items', () => {
    const parsed = parseNetworkList(['', '  ', '10.0.0.1']);
    expect(parsed.ok && parsed.networks.map((n) => n.text)).toEqual(['10.0.0.1/32']);
  });

  it('is an empty list for no items', () => {
    expect(parseNetworkList([])).toEqual({ ok: true, networks: [] });
  });
});

describe('checkNetwork', () => {
  it('allows any address when the list is empty', () => {
    expect(checkNetwork([], ip('203.0.113.7'))).toBe('ok');
    expect(checkNetwork([], ip('2001:db8::1'))).toBe('ok');
  });

  it('allows an unknown address when the list is empty', () => {
    expect(checkNetwork([], undefined)).toBe('ok');
  });

  it('allows an IPv4 address inside a rule', () => {
    expect(checkNetwork(networks('203.0.113.0/24'), ip('203.0.113.7'))).toBe('ok');
  });

  it('refuses an IPv4 address outside every rule', () => {
    expect(checkNetwork(networks('203.0.113.0/24'), ip('203.0.114.7'))).toBe('ip_not_allowed');
  });

  it('allows an IPv6 address inside a rule', () => {
    expect(checkNetwork(networks('2001:db8::/32'), ip('2001:db8:ffff::1'))).toBe('ok');
  });

  it('refuses an IPv6 address outside every rule', () => {
    expect(checkNetwork(networks('2001:db8::/32'), ip('2001:db9::1'))).toBe('ip_not_allowed');
  });

  it('matches an IPv4-mapped IPv6 address against an IPv4 rule', () => {
    expect(checkNetwork(networks('203.0.113.0/24'), ip('::ffff:203.0.113.7'))).toBe('ok');
  });

  it('never matches an IPv4-compatible IPv6 address against an IPv4 rule', () => {
    expect(checkNetwork(networks('203.0.113.0/24'), ip('::203.0.113.7'))).toBe('ip_not_allowed');
    expect(checkNetwork(networks('0.0.0.0/0'), ip('::203.0.113.7'))).toBe('ip_not_allowed');
  });

  it('never matches an IPv4 address against an IPv4-compatible IPv6 rule', () => {
    expect(checkNetwork(networks('::203.0.113.0/120'), ip('203.0.113.7'))).toBe('ip_not_allowed');
  });

  it('never matches an IPv4 address against an IPv6 rule', () => {
    expect(checkNetwork(networks('::/0'), ip('203.0.113.7'))).toBe('ip_not_allowed');
  });

  it('never matches an IPv6 address against an IPv4 rule', () => {
    expect(checkNetwork(networks('0.0.0.0/0'), ip('2001:db8::1'))).toBe('ip_not_allowed');
  });

  it('refuses an unknown address when the list is not empty', () => {
    expect(checkNetwork(networks('0.0.0.0/0'), undefined)).toBe('ip_not_allowed');
  });
});
