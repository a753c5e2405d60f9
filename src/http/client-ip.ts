// The caller is the socket peer. Only when that peer is a configured trusted proxy is
// X-Forwarded-For read, from the right, skipping trusted proxies (nginx real_ip_recursive).
// Koa's `proxy = true` would believe the left-most entry, which any client can forge.
import type { Socket } from 'node:net';
import { isInNetworks, parseIp, type IpAddress, type Network } from '../shared/network.ts';

export interface ResolvedCaller {
  /** The caller for network rules; undefined when it cannot be determined, so that every rule fails closed. */
  ip: IpAddress | undefined;
  /**
   * The address the request is counted (failure limits) and recorded (audit, logs) against: the
   * caller when known; when a hop it must read is unparsable, the nearest trusted proxy, which is
   * the last address known to have carried the request. Undefined only when the peer is unknown.
   */
  source: IpAddress | undefined;
}

export function resolveClientIp(peer: string | undefined, forwardedFor: string | undefined, trustedProxies: readonly Network[]): ResolvedCaller {
  return resolveFromPeer(peer === undefined ? undefined : parseIp(peer), forwardedFor, trustedProxies);
}

function resolveFromPeer(peerIp: IpAddress | undefined, forwardedFor: string | undefined, trustedProxies: readonly Network[]): ResolvedCaller {
  if (!peerIp || trustedProxies.length === 0 || !isInNetworks(trustedProxies, peerIp) || !forwardedFor) {
    return { ip: peerIp, source: peerIp };
  }
  const hops = forwardedFor.split(',');
  let nearestTrusted: IpAddress = peerIp;
  for (let i = hops.length - 1; i >= 0; i--) {
    const hop = parseHop(hops[i]!);
    // Never the proxy as the caller for network rules: whoever stands behind it would pass a rule
    // written for the proxy. Its failures still count, and are audited, against the proxy.
    if (!hop) return { ip: undefined, source: nearestTrusted };
    if (!isInNetworks(trustedProxies, hop)) return { ip: hop, source: hop };
    nearestTrusted = hop;
  }
  // Every hop is a trusted proxy: the left-most one is the best we know.
  return { ip: nearestTrusted, source: nearestTrusted };
}

const IPV4_WITH_PORT = /^(\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3}):(\d{1,5})$/;
const BRACKETED_IPV6 = /^\[([0-9A-Fa-f:.]+)\](?::(\d{1,5}))?$/;

/** One X-Forwarded-For entry: an address, `a.b.c.d:port`, `[v6]` or `[v6]:port` (some proxies append the port). */
function parseHop(text: string): IpAddress | undefined {
  const hop = text.trim();
  const split = IPV4_WITH_PORT.exec(hop) ?? BRACKETED_IPV6.exec(hop);
  if (!split) return parseIp(hop);
  const address = split[1]!;
  const port = split[2];
  if (port !== undefined && Number(port) > 65_535) return undefined;
  // Brackets enclose IPv6 only: `[203.0.113.7]` is not a hop.
  if (hop.startsWith('[') && !address.includes(':')) return undefined;
  return parseIp(address);
}

export interface Caller extends ResolvedCaller {
  /** `source` as text, for audit records, logs and `last_used_ip`; null when unknown. */
  text: string | null;
}

const UNKNOWN_CALLER: Caller = Object.freeze({ ip: undefined, source: undefined, text: null });

// A keep-alive connection carries many requests from one peer: its address is parsed once.
const peers = new WeakMap<Socket, Caller>();

function peerOf(socket: Socket): Caller {
  let peer = peers.get(socket);
  if (!peer) {
    const ip = socket.remoteAddress === undefined ? undefined : parseIp(socket.remoteAddress);
    peer = ip ? Object.freeze({ ip, source: ip, text: ip.toString() }) : UNKNOWN_CALLER;
    // Only an address the socket already knows is remembered (a closed socket may not know it).
    if (socket.remoteAddress !== undefined) peers.set(socket, peer);
  }
  return peer;
}

/** resolveClientIp for a request's socket, with the peer address parsed once per connection. */
export function resolveCaller(socket: Socket, forwardedFor: string | undefined, trustedProxies: readonly Network[]): Caller {
  const peer = peerOf(socket);
  if (!peer.ip || trustedProxies.length === 0 || forwardedFor === undefined) return peer;
  const { ip, source } = resolveFromPeer(peer.ip, forwardedFor, trustedProxies);
  if (ip === peer.ip && source === peer.ip) return peer;
  return { ip, source, text: source ? source.toString() : null };
}
