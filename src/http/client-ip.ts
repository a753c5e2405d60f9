// SPEC §3: the caller is the socket peer. Only when that peer is a configured trusted proxy is
// X-Forwarded-For read, from the right, skipping trusted proxies (nginx real_ip_recursive).
// Koa's `proxy = true` would believe the left-most entry, which any client can forge.
import { isInNetworks, parseIp, type IpAddress, type Network } from '../oauth/policy/network.ts';

/** Undefined when the caller cannot be determined (an unparsable hop): network rules then fail closed. */
export function resolveClientIp(
  peer: string | undefined,
  forwardedFor: string | undefined,
  trustedProxies: readonly Network[],
): IpAddress | undefined {
  const peerIp = peer === undefined ? undefined : parseIp(peer);
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
