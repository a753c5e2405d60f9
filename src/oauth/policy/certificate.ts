// Step 4 for tls_client_auth (RFC 8705 §2.1): the presented certificate was issued by one of the
// configured CAs, is within its validity, and carries the subject registered with the key. The
// library asks these questions (provider.ts, features.mTLS); self_signed_tls_client_auth needs
// none of them: the library compares the certificate's thumbprint with the registered one.
import type { IncomingMessage } from 'node:http';
import { X509Certificate } from 'node:crypto';
import { presentedCertificate, type CertificateSources } from '../../http/client-certificate.ts';

export interface ClientCertificates {
  presented(req: IncomingMessage): { pem: string; x509: X509Certificate } | undefined;
  issuedByTrustedCa(certificate: { x509: X509Certificate } | undefined): boolean;
  subjectMatches(certificate: { x509: X509Certificate } | undefined, property: string, expected: string): boolean;
}

/** Every PEM certificate in a bundle. */
export function parseCertificateBundle(pem: string): X509Certificate[] {
  return (pem.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? []).map((block) => new X509Certificate(block));
}

export function createClientCertificates(sources: CertificateSources, trustedCas: readonly X509Certificate[]): ClientCertificates {
  return {
    presented(req) {
      const x509 = presentedCertificate(req, sources);
      return x509 && { pem: x509.toString(), x509 };
    },
    issuedByTrustedCa(certificate) {
      if (!certificate) return false;
      const { x509 } = certificate;
      const now = Date.now();
      if (Date.parse(x509.validFrom) > now || Date.parse(x509.validTo) <= now) return false;
      return trustedCas.some((ca) => ca.ca && x509.checkIssued(ca) && x509.verify(ca.publicKey));
    },
    subjectMatches(certificate, property, expected) {
      if (!certificate) return false;
      if (property === 'tls_client_auth_subject_dn') return sameDistinguishedName(certificate.x509.subject, expected);
      if (property === 'tls_client_auth_san_dns') return dnsNames(certificate.x509).includes(expected.toLowerCase());
      return false;
    },
  };
}

/**
 * Node writes a subject one attribute a line, in certificate order; an RFC 4514 string lists
 * them comma-separated, most specific first. Compared as sets of `TYPE=value` (type
 * case-insensitive), so either order matches; escaped commas are honoured.
 */
export function sameDistinguishedName(subject: string, expected: string): boolean {
  const attributes = (items: string[]) =>
    items
      .map((item) => item.trim())
      .filter(Boolean)
      .map((item) => {
        const eq = item.indexOf('=');
        return `${item.slice(0, eq).trim().toUpperCase()}=${item
          .slice(eq + 1)
          .trim()
          .replace(/\\(.)/g, '$1')}`;
      })
      .sort();
  const actual = attributes(subject.split('\n'));
  const wanted = attributes(expected.split(/(?<!\\),/));
  return actual.length === wanted.length && actual.every((item, i) => item === wanted[i]);
}

function dnsNames(x509: X509Certificate): string[] {
  return (x509.subjectAltName ?? '')
    .split(/,\s*/)
    .filter((entry) => entry.startsWith('DNS:'))
    .map((entry) => entry.slice(4).toLowerCase());
}
