// The scheme and host a client used reach Keygate, behind a TLS-terminating proxy, only in the
// proxy's X-Forwarded-Proto and X-Forwarded-Host. The token endpoint needs them: a DPoP proof
// names the URL the client called (`htu`), and an assertion may name the endpoint (`aud`). Only a
// trusted proxy may say so; from any other peer the headers are removed before they are read.
import type { IncomingMessage } from 'node:http';
import { isInNetworks, parseIp, type Network } from '../shared/network.ts';

export function dropUntrustedForwardedOrigin(req: IncomingMessage, trustedProxies: readonly Network[]): void {
  if (req.headers['x-forwarded-proto'] === undefined && req.headers['x-forwarded-host'] === undefined) return;
  const peer = req.socket.remoteAddress === undefined ? undefined : parseIp(req.socket.remoteAddress);
  if (peer && isInNetworks(trustedProxies, peer)) return;
  delete req.headers['x-forwarded-proto'];
  delete req.headers['x-forwarded-host'];
}
