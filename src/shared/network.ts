// Network allowlists: IPv4 and IPv6 addresses or CIDRs. IPv4-mapped IPv6 (`::ffff:a.b.c.d`,
// RFC 4291 §2.5.5.2) is the IPv4 address it carries: a dual-stack socket reports IPv4 callers so.
// IPv4-compatible IPv6 (`::a.b.c.d`, deprecated by RFC 4291 §2.5.5.1) is an IPv6 address like any
// other and never matches an IPv4 rule.
import ipaddr from 'ipaddr.js';

export interface Network {
  /** Canonical text: network address and prefix, e.g. `203.0.113.0/24`, `2001:db8::/32`. */
  text: string;
  range: [ipaddr.IPv4 | ipaddr.IPv6, number];
}

export type IpAddress = ipaddr.IPv4 | ipaddr.IPv6;

/** Parses an address, folding IPv4-mapped IPv6 into IPv4; undefined when not an IP. */
export function parseIp(text: string): IpAddress | undefined {
  const trimmed = text.trim();
  if (!ipaddr.isValid(trimmed)) return undefined;
  // ipaddr.isValid also accepts odd IPv4 forms ("1", "0x7f.1"); only the four-part form is an address here.
  if (!trimmed.includes(':') && !ipaddr.IPv4.isValidFourPartDecimal(trimmed)) return undefined;
  if (trimmed.includes('%')) return undefined; // zone ids never name a remote caller
  // ipaddr.js reads `::a.b.c.d` as `::ffff:a.b.c.d`, which ipaddr.process would then fold into IPv4.
  const compatible = IPV4_COMPATIBLE.exec(trimmed);
  if (compatible) return ipv4Compatible(compatible[1]!);
  return ipaddr.process(trimmed);
}

const IPV4_COMPATIBLE = /^::(\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3})$/;

function ipv4Compatible(ipv4Text: string): ipaddr.IPv6 | undefined {
  if (!ipaddr.IPv4.isValidFourPartDecimal(ipv4Text)) return undefined;
  const [a, b, c, d] = ipaddr.IPv4.parse(ipv4Text).octets as [number, number, number, number];
  return new ipaddr.IPv6([0, 0, 0, 0, 0, 0, (a << 8) | b, (c << 8) | d]);
}

export function parseNetwork(text: string): Network | undefined {
  const trimmed = text.trim();
  const slash = trimmed.indexOf('/');
  const address = parseIp(slash === -1 ? trimmed : trimmed.slice(0, slash));
  if (!address) return undefined;
  const prefixText = slash === -1 ? undefined : trimmed.slice(slash + 1);
  if (prefixText !== undefined && !/^\d{1,3}$/.test(prefixText)) return undefined;
  let prefix = prefixText === undefined ? (address.kind() === 'ipv4' ? 32 : 128) : Number(prefixText);
  // `::ffff:10.0.0.0/104` was written for IPv4 callers: keep it as 10.0.0.0/8.
  if (address.kind() === 'ipv4' && slash !== -1 && trimmed.slice(0, slash).includes(':')) prefix -= 96;
  const max = address.kind() === 'ipv4' ? 32 : 128;
  if (prefix < 0 || prefix > max) return undefined;
  const base =
    address.kind() === 'ipv4'
      ? ipaddr.IPv4.networkAddressFromCIDR(`${address.toString()}/${prefix}`)
      : ipaddr.IPv6.networkAddressFromCIDR(`${address.toString()}/${prefix}`);
  return { text: `${base.toString()}/${prefix}`, range: [base, prefix] };
}

/**
 * The smallest block one subscriber is given, as text: an IPv4 address itself, an IPv6 address's
 * /64 (`2001:db8:1:2::/64`; RFC 4291 §2.5.4 puts interface identifiers in the low 64 bits, and
 * RFC 6177 gives a site at least a /64, so every address in it may be one party's).
 */
export function subscriberBlock(ip: IpAddress): string {
  if (ip.kind() === 'ipv4') return ip.toString();
  const [a, b, c, d] = (ip as ipaddr.IPv6).parts as [number, number, number, number];
  return `${new ipaddr.IPv6([a, b, c, d, 0, 0, 0, 0]).toString()}/64`;
}

export type NetworkListParse = { ok: true; networks: Network[] } | { ok: false; invalid: string };

export function parseNetworkList(items: readonly string[]): NetworkListParse {
  const networks: Network[] = [];
  for (const item of items) {
    if (item.trim() === '') continue;
    const network = parseNetwork(item);
    if (!network) return { ok: false, invalid: item.trim() };
    if (!networks.some((n) => n.text === network.text)) networks.push(network);
  }
  return { ok: true, networks };
}

export function isInNetworks(networks: readonly Network[], ip: IpAddress): boolean {
  return networks.some(({ range }) => range[0].kind() === ip.kind() && ip.match(range));
}

/** An empty allowlist means any network. */
export function checkNetwork(networks: readonly Network[], ip: IpAddress | undefined): 'ok' | 'ip_not_allowed' {
  if (networks.length === 0) return 'ok';
  return ip && isInNetworks(networks, ip) ? 'ok' : 'ip_not_allowed';
}

/** True when every address of `inner` is inside `outer`. */
export function isNetworkWithin(inner: Network, outer: Network): boolean {
  const [innerBase, innerPrefix] = inner.range;
  const [outerBase, outerPrefix] = outer.range;
  return innerBase.kind() === outerBase.kind() && innerPrefix >= outerPrefix && innerBase.match(outer.range);
}

/** True when `next` allows an address that `previous` did not, or allows less: anything but pure widening. */
export function networksNarrowed(previous: readonly Network[], next: readonly Network[]): boolean {
  if (next.length === 0) return false; // any network: nothing is narrower than before
  if (previous.length === 0) return true;
  return previous.some((old) => !next.some((n) => isNetworkWithin(old, n)));
}
