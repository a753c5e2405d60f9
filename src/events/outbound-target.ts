// Where Keygate may send events: a public address, or one the operator allowed. A webhook URL is
// checked when it is saved and again, after a fresh DNS lookup, right before every attempt; the
// connection then goes to the address that was checked, so a name that resolves to a public
// address at check time and to a private one a moment later (DNS rebinding) gains nothing.
import { lookup } from 'node:dns/promises';
import { isInNetworks, parseIp, type IpAddress, type Network } from '../shared/network.ts';

export interface ResolvedTarget {
  url: URL;
  /** The checked addresses the connection must go to (the client picks among them). */
  addresses: { address: string; family: 4 | 6 }[];
}

export class TargetRefused extends Error {}

/** Public unicast addresses only, unless the operator's allow-list names the address. */
export function isAllowedAddress(ip: IpAddress, allowed: readonly Network[]): boolean {
  return ip.range() === 'unicast' || isInNetworks(allowed, ip);
}

/** The URL's form alone: http(s), a host, no credentials. */
export function refusalOfUrl(text: string): string | undefined {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return 'must be an absolute URL';
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') return 'must be an http or https URL';
  if (url.username || url.password) return 'must not carry credentials';
  if (url.hash) return 'must not have a fragment';
  return undefined;
}

/**
 * Resolves the URL's host and checks every address it resolves to; throws TargetRefused.
 * `'any'`: the operator's own sinks, which may be anywhere the operator says.
 */
export async function resolveTarget(text: string, allowed: readonly Network[] | 'any'): Promise<ResolvedTarget> {
  const refusal = refusalOfUrl(text);
  if (refusal) throw new TargetRefused(refusal);
  const url = new URL(text);
  const host = url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname;
  const literal = parseIp(host);
  const addresses = literal
    ? [{ address: literal.toString(), family: literal.kind() === 'ipv4' ? 4 : 6 }]
    : await lookup(host, { all: true, verbatim: true }).catch(() => {
        throw new TargetRefused(`the host '${host}' does not resolve`);
      });
  if (addresses.length === 0) throw new TargetRefused(`the host '${host}' does not resolve`);
  // Every address must pass: otherwise which one is used would decide whether the check holds.
  const checked = addresses.map(({ address }) => {
    const ip = parseIp(address);
    if (!ip || (allowed !== 'any' && !isAllowedAddress(ip, allowed))) {
      throw new TargetRefused(`resolves to ${address}, a private, loopback, link-local or reserved address this server may not reach`);
    }
    return { address: ip.toString(), family: ip.kind() === 'ipv4' ? (4 as const) : (6 as const) };
  });
  return { url, addresses: checked };
}
