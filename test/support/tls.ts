// Certificates made with openssl for the TLS suites, and a Keygate with its own TLS listener that
// also believes a forwarded client certificate from one trusted proxy.
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { startKeygate, type TestKeygate } from './keygate.ts';

export interface Pem {
  cert: string;
  key: string;
}

/** The proxy address whose forwarded certificate header Keygate believes, and that header. */
export const CERTIFICATE_PROXY = '127.0.0.2';
export const CERTIFICATE_HEADER = 'x-client-cert';

/** A CA, a client certificate it issued, a self-signed one, one from a CA nobody trusts, and the server's own. */
export function makeCertificates(dir: string) {
  const run = (...args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' });
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes'];
  const selfSigned = (name: string, subject: string, ...ext: string[]) => {
    run('req', '-x509', ...ec, '-keyout', `${name}.key`, '-out', `${name}.pem`, '-days', '2', '-subj', subject, ...ext.flatMap((e) => ['-addext', e]));
  };
  const caExt = ['basicConstraints=critical,CA:TRUE', 'keyUsage=critical,keyCertSign'];
  selfSigned('ca', '/CN=Keygate Test Client CA', ...caExt);
  selfSigned('rogue-ca', '/CN=Keygate Test Client CA', ...caExt);
  selfSigned('device', '/CN=self-signed device');
  selfSigned('server', '/CN=localhost', 'subjectAltName=IP:127.0.0.1');
  writeFileSync(path.join(dir, 'client.ext'), 'subjectAltName=DNS:sensor-1.acme.test\n');
  const issued = (name: string, ca: string, subject: string) => {
    run('req', ...ec, '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', subject);
    run(
      'x509',
      '-req',
      '-in',
      `${name}.csr`,
      '-CA',
      `${ca}.pem`,
      '-CAkey',
      `${ca}.key`,
      '-CAcreateserial',
      '-out',
      `${name}.pem`,
      '-days',
      '1',
      '-extfile',
      'client.ext',
    );
  };
  issued('client', 'ca', '/O=Acme/CN=sensor-1');
  issued('impostor', 'rogue-ca', '/O=Acme/CN=sensor-1');
  issued('other', 'ca', '/O=Acme/CN=sensor-2');
  const read = (name: string): Pem => ({ cert: readFileSync(path.join(dir, `${name}.pem`), 'utf8'), key: readFileSync(path.join(dir, `${name}.key`), 'utf8') });
  return { ca: read('ca'), client: read('client'), impostor: read('impostor'), other: read('other'), device: read('device'), server: read('server') };
}

/** Keygate (Redis token store) with a TLS listener using `makeCertificates(dir)`'s server certificate and CA. */
export function startKeygateWithTls(dir: string): Promise<TestKeygate> {
  return startKeygate({
    tokenStore: 'redis',
    trustedProxies: CERTIFICATE_PROXY,
    env: {
      KEYGATE_TLS_PORT: '0',
      KEYGATE_TLS_CERT_FILE: path.join(dir, 'server.pem'),
      KEYGATE_TLS_KEY_FILE: path.join(dir, 'server.key'),
      KEYGATE_TLS_CLIENT_CA_FILE: path.join(dir, 'ca.pem'),
      KEYGATE_CLIENT_CERT_HEADER: CERTIFICATE_HEADER,
    },
  });
}
