// SPEC §3: the caller is the socket peer. Only when that peer is a configured trusted proxy is
// X-Forwarded-For read, from the right, skipping trusted proxies (nginx real_ip_recursive).
// Koa's `proxy = true` would believe the left-most entry, which any client can forge.
import type { Socket } from 'node:net';
import { isInNetworks, parseIp, type IpAddress, type Network } from '../oauth/policy/network.ts';

/** Undefined when the caller cannot be determined (an unparsable hop): network rules then fail closed. */
export function resolveClientIp(
  peer: string | undefined,
  forwardedFor: string | undefined,
  trustedProxies: readonly Network[],
): IpAddress | undefined {
  return resolveFromPeer(peer === undefined ? undefined : parseIp(peer), forwardedFor, trustedProxies);
}

function resolveFromPeer(
  peerIp: IpAddress | undefined,
  forwardedFor: string | undefined,
  trustedProxies: readonly Network[],
): IpAddress | undefined {
  if (!peerIp || trustedProxies.length === 0 || !isInNetworks(trustedProxies, peerIp)) return peerIp;
  if (!forwardedFor) return peerIp;
  const hops = forwardedFor.split(',');
  let caller: IpAddress = peerIp;
  for (let i = hops.length - 1; i >= 0; i--) {
    const hop = parseIp(hops[i]!);
    if (!hop) return undefined;
    caller = hop;
    if (!isInNetworks(trustedProxies, hop)) return hop;
  }
  // Every hop is a trusted proxy: the left-most one is the best we know.
  return caller;
}

export interface Caller {
  ip: IpAddress | undefined;
  /** `ip` as text, for audit records and `last_used_ip`; null when unknown. */
  text: string | null;
}

const UNKNOWN_CALLER: Caller = Object.freeze({ ip: undefined, text: null });

// A keep-alive connection carries many requests from one peer: its address is parsed once.
const peers = new WeakMap<Socket, Caller>();

function peerOf(socket: Socket): Caller {
  let peer = peers.get(socket);
  if (!peer) {
    const ip = socket.remoteAddress === undefined ? undefined : parseIp(socket.remoteAddress);
    peer = ip ? Object.freeze({ ip, text: ip.toString() }) : UNKNOWN_CALLER;
    // Only an address the socket already knows is remembered (a closed socket may not know it).
    if (socket.remoteAddress !== undefined) peers.set(socket, peer);
  }
  return peer;
}

/** resolveClientIp for a request's socket, with the peer address parsed once per connection. */
export function resolveCaller(socket: Socket, forwardedFor: string | undefined, trustedProxies: readonly Network[]): Caller {
  const peer = peerOf(socket);
  if (!peer.ip || trustedProxies.length === 0 || forwardedFor === undefined) return peer;
  const ip = resolveFromPeer(peer.ip, forwardedFor, trustedProxies);
  if (ip === peer.ip) return peer;
  return ip ? { ip, text: ip.toString() } : UNKNOWN_CALLER;
}
