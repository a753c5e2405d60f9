// Hostile request bodies. Every route reads at most 16 KiB (413 above it, whether the size is
// declared or the body is chunked), including the two routes oidc-provider serves, whose own limit
// is larger. JSON bodies nest at most 32 deep (400), so nothing recursive ever walks deeper.
import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CreatedKey } from '../../src/keys/types.ts';
import { adminClient, errorBody, type AdminClient } from '../support/admin.ts';
import { basicAuth } from '../support/http.ts';
import { startKeygate, type TestKeygate } from '../support/keygate.ts';

const LIMIT = 16 * 1024;
const TOO_LARGE = { error: 'invalid_request', error_description: 'body exceeds 16384 bytes' };

/** A form body of exactly `size` bytes: `prefix` and then a padding parameter the routes ignore. */
function formOfSize(prefix: string, size: number): string {
  const start = `${prefix}&pad=`;
  return start + 'x'.repeat(size - start.length);
}

/** Sends only a request head declaring `declared` body bytes, and none of them; resolves with the answer. */
function declareOnly(port: number, head: string, declared: number): Promise<{ status: number; body: unknown }> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host: '127.0.0.1', port, localAddress: '127.0.14.1' });
    let received = Buffer.alloc(0);
    socket.on('data', (chunk: Buffer) => {
      received = Buffer.concat([received, chunk]);
      const text = received.toString('latin1');
      const end = text.indexOf('\r\n\r\n');
      if (end < 0) return;
      const length = Number(/\r\ncontent-length: *(\d+)/i.exec(text.slice(0, end))?.[1]);
      if (received.length < end + 4 + length) return;
      socket.destroy();
      resolve({ status: Number(text.slice(9, 12)), body: JSON.parse(received.subarray(end + 4, end + 4 + length).toString('utf8')) });
    });
    socket.on('error', reject);
    socket.write(`${head}Content-Length: ${declared}\r\n\r\n`);
  });
}

describe('body limits on the OAuth routes', () => {
  let keygate: TestKeygate;
  let key: CreatedKey;

  beforeAll(async () => {
    keygate = await startKeygate({ tokenStore: 'memory' });
    key = await keygate.createKey(await keygate.newTenant(), { scopes: ['devices:read', 'token:introspect'] });
  });
  afterAll(() => keygate?.close());

  const routes = [
    { path: '/oauth/token', prefix: 'grant_type=client_credentials&scope=devices%3Aread' },
    { path: '/oauth/revoke', prefix: 'token=no-such-token' },
    { path: '/oauth/introspect', prefix: 'token=no-such-token' },
  ];
  const post = (path: string, body: string, chunked: boolean) =>
    keygate.send({
      path,
      chunked,
      raw: body,
      headers: { authorization: basicAuth(key.key.client_id, key.client_secret), 'content-type': 'application/x-www-form-urlencoded' },
    });
  const acceptedAnswer = (path: string) =>
    ({
      '/oauth/token': { status: 200, body: { access_token: expect.any(String), token_type: 'Bearer', expires_in: 3600, scope: 'devices:read' } },
      '/oauth/revoke': { status: 200, body: undefined },
      '/oauth/introspect': { status: 200, body: { active: false } },
    })[path];

  describe.each(routes)('$path', ({ path, prefix }) => {
    it('reads a body of exactly 16 KiB with a Content-Length', async () => {
      const response = await post(path, formOfSize(prefix, LIMIT), false);
      expect({ status: response.status, body: response.body }).toEqual(acceptedAnswer(path));
    });

    it('reads a chunked body of exactly 16 KiB', async () => {
      const response = await post(path, formOfSize(prefix, LIMIT), true);
      expect({ status: response.status, body: response.body }).toEqual(acceptedAnswer(path));
    });

    it('refuses a body one byte over 16 KiB with a Content-Length: 413', async () => {
      const response = await post(path, formOfSize(prefix, LIMIT + 1), false);
      expect(response.status).toBe(413);
      expect(response.body).toEqual(TOO_LARGE);
      expect(response.headers['cache-control']).toBe('no-store');
    });

    it('refuses a chunked body one byte over 16 KiB: 413', async () => {
      const response = await post(path, formOfSize(prefix, LIMIT + 1), true);
      expect(response.status).toBe(413);
      expect(response.body).toEqual(TOO_LARGE);
    });

    it('refuses a declared 1 MiB body before any of it arrives: 413', async () => {
      const head =
        `POST ${path} HTTP/1.1\r\nHost: keygate.test\r\nAuthorization: ${basicAuth(key.key.client_id, key.client_secret)}\r\n`
        + 'Content-Type: application/x-www-form-urlencoded\r\n';
      expect(await declareOnly(keygate.port, head, 1024 * 1024)).toEqual({ status: 413, body: TOO_LARGE });
    });
  });
});

describe('deeply nested JSON', () => {
  let keygate: TestKeygate;
  let admin: AdminClient;

  beforeAll(async () => {
    keygate = await startKeygate({ tokenStore: 'memory' });
    admin = await adminClient(keygate, await keygate.newTenant());
  });
  afterAll(() => keygate?.close());

  /** `depth` arrays, one inside the other. */
  const nested = (depth: number) => `${'['.repeat(depth)}${']'.repeat(depth)}`;
  const TOO_DEEP = 'body nests deeper than 32 levels';

  it('POST /admin/v1/keys with scopes nested 5,000 deep: 400, not a stack overflow', async () => {
    const response = await keygate.send({
      path: '/admin/v1/keys',
      headers: { authorization: `Bearer ${admin.token}`, 'content-type': 'application/json' },
      raw: `{"name":"x","scopes":${nested(5000)}}`,
    });
    expect(response.status).toBe(400);
    expect(response.body).toEqual(errorBody(response, 'invalid_request', TOO_DEEP));
  });

  it('PATCH /admin/v1/keys/{id} with an object nested 2,500 deep: 400', async () => {
    const response = await keygate.send({
      method: 'PATCH',
      path: `/admin/v1/keys/${admin.key.key.client_id}`,
      headers: { authorization: `Bearer ${admin.token}`, 'content-type': 'application/json' },
      raw: `${'{"a":'.repeat(2500)}1${'}'.repeat(2500)}`,
    });
    expect(response.status).toBe(400);
    expect(response.body).toEqual(errorBody(response, 'invalid_request', TOO_DEEP));
  });

  it('/api/v1/auth/authorize with an apiKey nested 5,000 deep: 400', async () => {
    const response = await keygate.send({
      path: '/api/v1/auth/authorize',
      headers: { 'content-type': 'application/json' },
      raw: `{"grantType":"api_key","apiKey":${nested(5000)}}`,
    });
    expect(response.status).toBe(400);
    expect(response.body).toEqual(errorBody(response, 'invalid_request', TOO_DEEP));
  });

  it('/auth/external with a clientId nested 5,000 deep: 400 in its envelope', async () => {
    const response = await keygate.send({
      path: '/auth/external',
      headers: { 'content-type': 'application/json' },
      raw: `{"clientId":${nested(5000)},"accessKey":"x"}`,
    });
    expect(response.status).toBe(400);
    expect(response.body).toEqual({ success: false, ...errorBody(response, 'invalid_request', TOO_DEEP) });
  });

  it('32 levels are read (and then validated), 33 are refused', async () => {
    const send = (depth: number) =>
      keygate.send({
        path: '/auth/external',
        headers: { 'content-type': 'application/json' },
        raw: `{"clientId":${nested(depth - 1)},"accessKey":"x"}`,
      });
    const atBound = await send(32);
    expect(atBound.body).toEqual({
      success: false,
      ...errorBody(atBound, 'validation_failed', 'request body is invalid', [{ field: 'clientId', message: 'must be a non-empty string' }]),
    });
    const overBound = await send(33);
    expect(overBound.body).toEqual({ success: false, ...errorBody(overBound, 'invalid_request', TOO_DEEP) });
  });
});
