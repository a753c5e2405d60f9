// Certificate-bound tokens (RFC 8705) through a real TLS handshake: certificates made with openssl
// (test/support/tls.ts), presented to Keygate's own TLS listener and forwarded by a trusted proxy.
// A bound token's introspection carries cnf.x5t#S256; the proxy's header from anyone else is ignored.
import { createHash, X509Certificate } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import https from 'node:https';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { NewKey } from '../../src/keys/schemas.ts';
import type { CreatedKey } from '../../src/keys/types.ts';
import type { HttpResponse } from '../support/http.ts';
import { deniedEvents, newKeyFor, type TestKeygate } from '../support/keygate.ts';
import { CERTIFICATE_HEADER, CERTIFICATE_PROXY, makeCertificates, type Pem, startKeygateWithTls } from '../support/tls.ts';

const TEST_ACTOR = { keyId: null, userId: null, via: 'test' } as const;
const PROXY = CERTIFICATE_PROXY;
const CERT_HEADER = CERTIFICATE_HEADER;

const thumbprint = (pem: string) => createHash('sha256').update(new X509Certificate(pem).raw).digest('base64url');

describe('certificate-bound tokens (RFC 8705)', () => {
  let dir: string;
  let certs: ReturnType<typeof makeCertificates>;
  let keygate: TestKeygate;
  let tenantId: string;
  let introspector: CreatedKey;

  beforeAll(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'keygate-mtls-'));
    certs = makeCertificates(dir);
    keygate = await startKeygateWithTls(dir);
    tenantId = await keygate.newTenant();
    introspector = await keygate.createKey(tenantId, { name: 'resource server', scopes: ['token:introspect'] });
  });
  afterAll(async () => {
    await keygate?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  function createKey(extra: Partial<NewKey>) {
    return keygate.runtime.keyService.create({ ...newKeyFor(tenantId, { name: 'certificate key' }), ...extra } as NewKey, TEST_ACTOR);
  }

  /** A token request over TLS to Keygate's own listener, presenting `client` (or no certificate). */
  function tokenOverTls(clientId: string, client: Pem | undefined): Promise<HttpResponse> {
    const body = new URLSearchParams({ grant_type: 'client_credentials', client_id: clientId }).toString();
    return new Promise((resolve, reject) => {
      const req = https.request(
        {
          host: '127.0.0.1',
          port: keygate.tlsPort,
          method: 'POST',
          path: '/oauth/token',
          ca: certs.server.cert,
          ...(client ? { cert: client.cert, key: client.key } : {}),
          headers: { 'content-type': 'application/x-www-form-urlencoded', 'content-length': String(Buffer.byteLength(body)) },
          agent: false,
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (chunk: Buffer) => chunks.push(chunk));
          res.on('end', () => {
            const text = Buffer.concat(chunks).toString('utf8');
            resolve({ status: res.statusCode ?? 0, headers: res.headers, text, body: text ? JSON.parse(text) : undefined });
          });
        },
      );
      req.on('error', reject);
      req.end(body);
    });
  }

  /** The same request in plain HTTP from `from`, with the certificate in the proxy's header. */
  function tokenViaHeader(clientId: string, certificate: string, from: string) {
    return keygate.send({
      path: '/oauth/token',
      headers: { [CERT_HEADER]: encodeURIComponent(certificate) },
      form: { grant_type: 'client_credentials', client_id: clientId },
      from,
    });
  }

  async function expectBound(response: HttpResponse, certificate: string) {
    expect(response.status).toBe(200);
    expect(response.body.token_type).toBe('Bearer');
    const answer = await keygate.introspect(introspector, response.body.access_token);
    expect(answer.body).toMatchObject({ active: true, cnf: { 'x5t#S256': thumbprint(certificate) } });
  }

  it('tls_client_auth by subject DN over a real handshake yields a token bound to the certificate', async () => {
    const key = await createKey({ tls_client_auth: { subject_dn: 'CN=sensor-1,O=Acme' } });
    expect(key.key.auth_method).toBe('tls_client_auth');
    await expectBound(await tokenOverTls(key.key.client_id, certs.client), certs.client.cert);
  });

  it('tls_client_auth by DNS SAN, and the self-signed certificate registered with a key', async () => {
    const bySan = await createKey({ tls_client_auth: { san_dns: 'sensor-1.acme.test' } });
    await expectBound(await tokenOverTls(bySan.key.client_id, certs.client), certs.client.cert);
    const device = await createKey({ tls_client_certificate: certs.device.cert });
    expect(device.key.auth_method).toBe('self_signed_tls_client_auth');
    await expectBound(await tokenOverTls(device.key.client_id, certs.device), certs.device.cert);
  });

  it('refuses no certificate, another subject, the same subject from an untrusted CA, and an unregistered self-signed one', async () => {
    const key = await createKey({ tls_client_auth: { subject_dn: 'CN=sensor-1,O=Acme' } });
    for (const client of [undefined, certs.other, certs.impostor, certs.device]) {
      const response = await tokenOverTls(key.key.client_id, client);
      expect(response.status).toBe(401);
      expect(response.body).not.toHaveProperty('access_token');
    }
    const device = await createKey({ tls_client_certificate: certs.device.cert });
    expect((await tokenOverTls(device.key.client_id, certs.client)).status).toBe(401);
    const reasons = (await deniedEvents(keygate, key.key.client_id)).map((event) => event.reason);
    expect(reasons).toEqual(['certificate_invalid', 'certificate_invalid', 'certificate_invalid', 'certificate_invalid']);
  });

  it('a trusted proxy forwards the certificate in its header: the token is bound the same way', async () => {
    const key = await createKey({ tls_client_auth: { subject_dn: 'CN=sensor-1,O=Acme' } });
    await expectBound(await tokenViaHeader(key.key.client_id, certs.client.cert, PROXY), certs.client.cert);
    const device = await createKey({ tls_client_certificate: certs.device.cert });
    await expectBound(await tokenViaHeader(device.key.client_id, certs.device.cert, PROXY), certs.device.cert);
  });

  it('the same header from a peer that is not a trusted proxy is ignored', async () => {
    const key = await createKey({ tls_client_auth: { subject_dn: 'CN=sensor-1,O=Acme' } });
    const forged = await tokenViaHeader(key.key.client_id, certs.client.cert, '127.0.0.3');
    expect(forged.status).toBe(401);
    expect(forged.body).toEqual({ error: 'invalid_client', error_description: 'client authentication failed' });
    expect((await deniedEvents(keygate, key.key.client_id))[0]).toMatchObject({ reason: 'certificate_invalid', ip: '127.0.0.3' });
    // Nor does a certificate-bound key accept a secret in its place.
    const withSecret = await keygate.send({
      path: '/oauth/token',
      headers: { authorization: `Basic ${Buffer.from(`${key.key.client_id}:kgs_x`).toString('base64')}` },
      form: { grant_type: 'client_credentials' },
      from: PROXY,
    });
    expect(withSecret.status).toBe(401);
  });

  it('metadata lists the certificate methods when they are enabled', async () => {
    const metadata = await keygate.send({ method: 'GET', path: '/.well-known/oauth-authorization-server' });
    expect(metadata.body.token_endpoint_auth_methods_supported).toEqual([
      'client_secret_basic',
      'client_secret_post',
      'private_key_jwt',
      'tls_client_auth',
      'self_signed_tls_client_auth',
    ]);
    expect(metadata.body.tls_client_certificate_bound_access_tokens).toBe(true);
  });
});
