// logs are JSON lines; secrets, tokens and Authorization headers never appear in them.
// A server logging at 'trace' into memory serves a full flow — every token route, both client
// authentication methods, both API-key exchanges, introspection, revocation, the admin API, a
// wrong secret and a malformed one — and the captured text is searched for every credential used.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateClientSecret } from '../../src/crypto/credentials.ts';
import { basicAuth, type HttpRequest, type HttpResponse } from '../support/http.ts';
import { startKeygate, type TestKeygate } from '../support/keygate.ts';
import { waitFor } from '../support/processes.ts';

describe('log redaction', () => {
  const lines: string[] = [];
  /** Every credential the flow used: secrets, API keys, tokens, Authorization header values. */
  const credentials = new Map<string, string>();
  const sent: { response: HttpResponse; route: string }[] = [];
  let keygate: TestKeygate;

  beforeAll(async () => {
    keygate = await startKeygate({ tokenStore: 'redis', logDestination: { write: (line: string) => void lines.push(line) } });
    const send = async (route: string, request: HttpRequest) => {
      if (request.headers?.authorization) credentials.set(`authorization for ${route} #${sent.length}`, request.headers.authorization);
      const response = await keygate.send(request);
      sent.push({ response, route });
      return response;
    };
    const tokenOf = (name: string, token: unknown) => {
      if (typeof token !== 'string' || token.length < 40) throw new Error(`test setup: no token for ${name}`);
      credentials.set(name, token);
      return token;
    };

    const tenantId = await keygate.newTenant();
    const key = await keygate.createKey(tenantId);
    const introspector = await keygate.createKey(tenantId, { name: 'resource server', scopes: ['token:introspect'] });
    const admin = await keygate.createKey(tenantId, { name: 'admin automation', scopes: ['admin:keys:read'] });
    for (const [name, created] of Object.entries({ key, introspector, admin })) {
      credentials.set(`${name} secret`, created.client_secret);
      credentials.set(`${name} api_key`, created.api_key);
    }
    const wrongSecret = generateClientSecret();
    const malformedSecret = 'kgs_this-is-not-a-well-formed-secret';
    credentials.set('wrong secret', wrongSecret);
    credentials.set('malformed secret', malformedSecret);
    const basic = (created: typeof key) => basicAuth(created.key.client_id, created.client_secret);
    const grant = { grant_type: 'client_credentials' };

    const basicToken = tokenOf(
      'token via Basic',
      (await send('/oauth/token', { path: '/oauth/token', headers: { authorization: basic(key) }, form: grant })).body.access_token,
    );
    const postToken = tokenOf(
      'token via client_secret_post',
      (
        await send('/oauth/token', {
          path: '/oauth/token',
          form: { ...grant, client_id: key.key.client_id, client_secret: key.client_secret },
        })
      ).body.access_token,
    );
    tokenOf(
      'token via authorize',
      (await send('/api/v1/auth/authorize', { path: '/api/v1/auth/authorize', json: { grantType: 'api_key', apiKey: key.api_key } })).body.data.accessToken,
    );
    tokenOf(
      'token via external',
      (await send('/auth/external', { path: '/auth/external', json: { clientId: key.key.client_id, accessKey: key.client_secret } })).body.data.token,
    );
    await send('/oauth/introspect', { path: '/oauth/introspect', headers: { authorization: basic(introspector) }, form: { token: basicToken } });
    await send('/oauth/revoke', { path: '/oauth/revoke', headers: { authorization: basic(key) }, form: { token: postToken } });
    const adminToken = tokenOf(
      'admin token',
      (await send('/oauth/token', { path: '/oauth/token', headers: { authorization: basic(admin) }, form: grant })).body.access_token,
    );
    await send('/admin/v1/keys', { method: 'GET', path: '/admin/v1/keys', headers: { authorization: `Bearer ${adminToken}` } });
    // Denied: a wrong (well-formed) secret and a malformed one, on each kind of route.
    await send('/oauth/token', { path: '/oauth/token', headers: { authorization: basicAuth(key.key.client_id, wrongSecret) }, form: grant });
    await send('/api/v1/auth/authorize', { path: '/api/v1/auth/authorize', json: { grantType: 'api_key', apiKey: `${key.key.client_id}.${wrongSecret}` } });
    await send('/oauth/token', { path: '/oauth/token', headers: { authorization: basicAuth(key.key.client_id, malformedSecret) }, form: grant });
    await send('/auth/external', { path: '/auth/external', json: { clientId: key.key.client_id, accessKey: malformedSecret } });
    await send('/oauth/introspect', {
      path: '/oauth/introspect',
      headers: { authorization: basicAuth(introspector.key.client_id, wrongSecret) },
      form: { token: basicToken },
    });
    // A token in a query string of a path that does not exist.
    await send('unmatched', { method: 'GET', path: `/nowhere?access_token=${basicToken}` });

    // oidc-provider writes its own responses; the access-log line follows the last byte.
    await waitFor(async () => lines.filter((line) => line.includes('"msg":"request"')).length >= sent.length, 5_000, 'one request line per request');
  });
  afterAll(() => keygate?.close());

  it('ran the flow it claims: tokens issued, introspected, revoked, denied, and the admin call served', () => {
    expect(sent.map(({ route, response }) => `${route} ${response.status}`)).toEqual([
      '/oauth/token 200',
      '/oauth/token 200',
      '/api/v1/auth/authorize 200',
      '/auth/external 200',
      '/oauth/introspect 200',
      '/oauth/revoke 200',
      '/oauth/token 200',
      '/admin/v1/keys 200',
      '/oauth/token 401',
      '/api/v1/auth/authorize 401',
      '/oauth/token 401',
      '/auth/external 401',
      '/oauth/introspect 401',
      'unmatched 404',
    ]);
    expect(sent[4]!.response.body.active).toBe(true);
  });

  it('writes no secret, API key, token or Authorization header value, even at trace level', () => {
    const text = lines.join('');
    expect(credentials.size).toBe(21);
    const leaked = [...credentials].filter(([, value]) => text.includes(value)).map(([name]) => name);
    expect(leaked).toEqual([]);
    // Nor the secret part of a Basic header on its own.
    for (const [name, value] of credentials) {
      if (name.startsWith('authorization') && value.startsWith('Basic ')) expect(text).not.toContain(value.slice(6));
    }
  });

  it('writes one JSON request line per request, with its route, status and request id', () => {
    const byId = (a: { requestId: string }, b: { requestId: string }) => a.requestId.localeCompare(b.requestId);
    const requestLines = lines.map((line) => JSON.parse(line)).filter((entry) => entry.msg === 'request');
    expect(requestLines.map(({ requestId, route, status }) => ({ requestId, route, status })).sort(byId)).toEqual(
      sent.map(({ response, route }) => ({ requestId: response.headers['x-request-id'] as string, route, status: response.status })).sort(byId),
    );
  });

  it('writes the reason of each denied request, keyed by client id and request id', () => {
    const denials = lines.map((line) => JSON.parse(line)).filter((entry) => entry.msg === 'request denied');
    const deniedIds = sent.filter(({ response }) => response.status === 401).map(({ response }) => response.headers['x-request-id']);
    expect(denials.map((entry) => entry.requestId)).toEqual(deniedIds);
    expect(denials.map((entry) => entry.reason)).toEqual(['secret_mismatch', 'secret_mismatch', 'malformed_secret', 'malformed_secret', 'secret_mismatch']);
  });
});
