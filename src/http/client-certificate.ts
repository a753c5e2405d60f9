// The TLS client certificate a request arrived with: from Keygate's own TLS listener, or from a
// header a trusted reverse proxy sets after terminating TLS itself. The header is believed only
// when the socket peer is one of KEYGATE_TRUSTED_PROXIES; from anyone else it is ignored, as if
// absent (a client could otherwise name any certificate it likes).
import type { IncomingMessage } from 'node:http';
import type { TLSSocket } from 'node:tls';
import { X509Certificate } from 'node:crypto';
import { isInNetworks, parseIp, type Network } from '../shared/network.ts';

export interface CertificateSources {
  /** Lower-case header name carrying the URL-encoded PEM (nginx `$ssl_client_escaped_cert`); undefined = none. */
  header: string | undefined;
  trustedProxies: readonly Network[];
}

/** The longest forwarded certificate read; a real client certificate is a few kilobytes. */
const MAX_FORWARDED_LENGTH = 32_768;

const presented = new WeakMap<IncomingMessage, X509Certificate | null>();

/** The client certificate of this request, if one was presented (read once per request). */
export function presentedCertificate(req: IncomingMessage, sources: CertificateSources): X509Certificate | undefined {
  let certificate = presented.get(req);
  if (certificate === undefined) presented.set(req, (certificate = readCertificate(req, sources) ?? null));
  return certificate ?? undefined;
}

function readCertificate(req: IncomingMessage, sources: CertificateSources): X509Certificate | undefined {
  const socket = req.socket as Partial<TLSSocket>;
  if (socket.encrypted && typeof socket.getPeerX509Certificate === 'function') {
    const own = socket.getPeerX509Certificate();
    if (own) return own;
  }
  if (!sources.header) return undefined;
  const peer = req.socket.remoteAddress === undefined ? undefined : parseIp(req.socket.remoteAddress);
  if (!peer || !isInNetworks(sources.trustedProxies, peer)) return undefined;
  const value = req.headers[sources.header];
  if (typeof value !== 'string' || value === '' || value.length > MAX_FORWARDED_LENGTH) return undefined;
  try {
    const pem = decodeURIComponent(value);
    return pem.includes('-----BEGIN CERTIFICATE-----') ? new X509Certificate(pem) : undefined;
  } catch {
    return undefined; // unreadable: treated as no certificate at all
  }
}
