// The seams with oidc-provider (src/oauth/internals.ts, provider.ts): only Keygate's routes are
// reachable, the library's own behaviours Keygate replaces stay replaced, and its request
// validation still answers in RFC 6749 JSON.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CreatedKey } from '../../src/keys/types.ts';
import { basicAuth } from '../support/http.ts';
import { startKeygate, type TestKeygate } from '../support/keygate.ts';

describe('oidc-provider seams', () => {
  let keygate: TestKeygate;
  let key: CreatedKey;
  beforeAll(async () => {
    keygate = await startKeygate({ tokenStore: 'memory' });
    key = await keygate.createKey(await keygate.newTenant());
  });
  afterAll(() => keygate?.close());

  const libraryRoutes = [
    ['GET', '/auth'],
    ['POST', '/auth'],
    ['GET', '/oauth/_closed/authorize'],
    ['GET', '/.well-known/openid-configuration'],
    ['GET', '/jwks'],
    ['GET', '/oauth/_closed/jwks'],
    ['GET', '/me'],
    ['POST', '/reg'],
    ['GET', '/session/end'],
    ['POST', '/session/end/confirm'],
    ['POST', '/token'],
    ['POST', '/token/introspection'],
    ['POST', '/request'],
    ['POST', '/device/auth'],
    ['GET', '/interaction/abc'],
    ['POST', '/backchannel'],
  ] as const;

  it.each(libraryRoutes)('%s %s answers 404 in Keygate’s error shape', async (method, path) => {
    const response = await keygate.send({ method, path });
    expect(response.status).toBe(404);
    expect(response.body).toEqual({ error: { code: 'not_found', message: 'no such route', request_id: response.headers['x-request-id'] } });
  });

  it('answers 405 for a wrong method on a Keygate route', async () => {
    const response = await keygate.send({ method: 'GET', path: '/oauth/token' });
    expect(response.status).toBe(405);
    expect(response.headers.allow).toBe('POST');
  });

  it('publishes RFC 8414 metadata listing exactly what is supported', async () => {
    const response = await keygate.send({ method: 'GET', path: '/.well-known/oauth-authorization-server' });
    expect(response.body).toEqual({
      issuer: 'http://keygate.test',
      token_endpoint: 'http://keygate.test/oauth/token',
      introspection_endpoint: 'http://keygate.test/oauth/introspect',
      revocation_endpoint: 'http://keygate.test/oauth/revoke',
      grant_types_supported: ['client_credentials'],
      response_types_supported: [],
      // No TLS listener or certificate header here: the certificate methods are not listed.
      token_endpoint_auth_methods_supported: ['client_secret_basic', 'client_secret_post', 'private_key_jwt'],
      token_endpoint_auth_signing_alg_values_supported: ['RS256', 'ES256', 'EdDSA', 'Ed25519'],
      introspection_endpoint_auth_methods_supported: ['client_secret_basic', 'client_secret_post'],
      revocation_endpoint_auth_methods_supported: ['client_secret_basic', 'client_secret_post', 'private_key_jwt'],
      revocation_endpoint_auth_signing_alg_values_supported: ['RS256', 'ES256', 'EdDSA', 'Ed25519'],
      dpop_signing_alg_values_supported: ['ES256', 'EdDSA', 'Ed25519', 'RS256'],
    });
  });

  it('refuses other grant types with unsupported_grant_type', async () => {
    const response = await keygate.send({
      path: '/oauth/token',
      headers: { authorization: basicAuth(key.key.client_id, key.client_secret) },
      form: { grant_type: 'authorization_code', code: 'x' },
    });
    expect(response.status).toBe(400);
    expect(response.body).toEqual({ error: 'unsupported_grant_type', error_description: 'unsupported grant_type requested' });
  });

  it('refuses a repeated parameter (RFC 6749 §3.2)', async () => {
    const response = await keygate.send({
      path: '/oauth/token',
      headers: { authorization: basicAuth(key.key.client_id, key.client_secret), 'content-type': 'application/x-www-form-urlencoded' },
      raw: 'grant_type=client_credentials&scope=devices:read&scope=devices:write',
    });
    expect(response.status).toBe(400);
    expect(response.body).toEqual({ error: 'invalid_request', error_description: "'scope' parameter must not be provided twice" });
  });

  it('answers JSON errors even to a client that asks for HTML', async () => {
    const response = await keygate.send({
      path: '/oauth/token',
      headers: { authorization: basicAuth(key.key.client_id, 'kgs_nope'), accept: 'text/html' },
      form: { grant_type: 'client_credentials' },
    });
    expect(response.status).toBe(401);
    expect(response.body).toEqual({ error: 'invalid_client', error_description: 'client authentication failed' });
  });

  it('never takes a scope the key lacks silently (the library would drop it)', async () => {
    const response = await keygate.token(key, { scope: 'devices:read openid' });
    expect(response.status).toBe(400);
    expect(response.body.error).toBe('invalid_scope');
  });

  it('refuses both client authentication methods at once', async () => {
    const response = await keygate.send({
      path: '/oauth/token',
      headers: { authorization: basicAuth(key.key.client_id, key.client_secret) },
      form: { grant_type: 'client_credentials', client_id: key.key.client_id, client_secret: key.client_secret },
    });
    expect(response.status).toBe(400);
    expect(response.body).toEqual({ error: 'invalid_request', error_description: 'client authentication must only be provided using one mechanism' });
  });
});
