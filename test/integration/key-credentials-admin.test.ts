// A key's authentication method through the admin API and the CLI: a JWKS at creation or by
// PATCH (no secret is ever shown for such a key), DPoP required or not, rotation refused for a
// key without a secret, and every change that stops a credential ends the tokens it obtained.
import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { adminClient, type AdminClient } from '../support/admin.ts';
import { runCli } from '../support/cli.ts';
import { startKeygate, TEST_PEPPER, type TestKeygate } from '../support/keygate.ts';

const publicJwk = () => {
  const { x } = generateKeyPairSync('ed25519').publicKey.export({ format: 'jwk' });
  return { kty: 'OKP', crv: 'Ed25519', x: x! };
};

describe('key credentials in the admin API and the CLI', () => {
  let keygate: TestKeygate;
  let tenantId: string;
  let admin: AdminClient;
  let introspector: Awaited<ReturnType<TestKeygate['createKey']>>;
  let dir: string;

  beforeAll(async () => {
    keygate = await startKeygate({ tokenStore: 'redis' });
    tenantId = await keygate.newTenant();
    admin = await adminClient(keygate, tenantId);
    introspector = await keygate.createKey(tenantId, { scopes: ['token:introspect'] });
    dir = mkdtempSync(path.join(tmpdir(), 'keygate-jwks-'));
  });
  afterAll(async () => {
    await keygate?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('creates a private_key_jwt key: no secret, the key file says how to authenticate', async () => {
    const jwk = publicJwk();
    const response = await admin.post('/keys', { name: 'jwt', scopes: ['devices:read'], jwks: { keys: [jwk] }, dpop_required: true });
    expect(response.status).toBe(201);
    expect(response.body).not.toHaveProperty('client_secret');
    expect(response.body).not.toHaveProperty('api_key');
    expect(response.body.key).toMatchObject({ auth_method: 'private_key_jwt', jwks: { keys: [jwk] }, dpop_required: true, tls_client_auth: null });
    expect(response.body.key_file).toEqual({
      client_id: response.body.key.client_id,
      auth_method: 'private_key_jwt',
      token_url: 'http://keygate.test/oauth/token',
      issuer: 'http://keygate.test',
      scopes: ['devices:read'],
      expires_at: response.body.key.expires_at,
    });
    const shown = await admin.get(`/keys/${response.body.key.client_id}`);
    expect(shown.body.key.auth_method).toBe('private_key_jwt');
    const rotate = await admin.post(`/keys/${response.body.key.client_id}/rotate`, { grace_seconds: 0 });
    expect(rotate.status).toBe(400);
  });

  it('PATCH moves a key from its secret to a JWKS: the secret and its tokens stop at once', async () => {
    const created = await admin.post('/keys', { name: 'moving', scopes: ['devices:read'] });
    const secretKey = created.body;
    const token = (await keygate.token(secretKey)).body.access_token as string;
    const patched = await admin.patch(`/keys/${secretKey.key.client_id}`, { jwks: { keys: [publicJwk()] } });
    expect(patched.status).toBe(200);
    expect(patched.body.key.auth_method).toBe('private_key_jwt');
    expect((await keygate.introspect(introspector, token)).body).toEqual({ active: false });
    expect((await keygate.token(secretKey)).status).toBe(401);
    // Back to a secret: the old one stays dead; a rotation issues a new one.
    const back = await admin.patch(`/keys/${secretKey.key.client_id}`, { jwks: null });
    expect(back.body.key.auth_method).toBe('client_secret');
    expect((await keygate.token(secretKey)).status).toBe(401);
    const rotated = await admin.post(`/keys/${secretKey.key.client_id}/rotate`, { grace_seconds: 0 });
    expect((await keygate.token(rotated.body)).status).toBe(200);
  });

  it('requiring DPoP ends the unbound tokens a key already holds', async () => {
    const created = await admin.post('/keys', { name: 'to bind', scopes: ['devices:read'] });
    const token = (await keygate.token(created.body)).body.access_token as string;
    await admin.patch(`/keys/${created.body.key.client_id}`, { dpop_required: true });
    expect((await keygate.introspect(introspector, token)).body).toEqual({ active: false });
  });

  it('refuses two credentials at once and an unreadable certificate, naming the field', async () => {
    const both = await admin.post('/keys', { name: 'x', scopes: ['a:read'], jwks: { keys: [publicJwk()] }, tls_client_certificate: 'x' });
    expect(both.status).toBe(400);
    const fields = both.body.error.details.map((d: { field: string }) => d.field);
    expect(fields).toContain('tls_client_certificate');
    const badCert = await admin.post('/keys', {
      name: 'x',
      scopes: ['a:read'],
      tls_client_certificate: '-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----',
    });
    expect(badCert.status).toBe(400);
  });

  it('the CLI takes --jwks FILE and shows the method', async () => {
    const env = {
      DATABASE_URL: inject('databaseUrl'),
      REDIS_URL: inject('redisUrl'),
      KEYGATE_SECRET_PEPPER: TEST_PEPPER,
      KEYGATE_ISSUER: 'http://keygate.test',
    };
    const file = path.join(dir, 'jwks.json');
    writeFileSync(file, JSON.stringify({ keys: [publicJwk()] }));
    const created = await runCli(
      ['keys', 'create', '--name', 'cli jwt', '--scopes', 'devices:read', '--jwks', file, '--dpop-required', 'true', '--json', '--tenant', tenantId],
      env,
    );
    expect(created.code).toBe(0);
    const key = JSON.parse(created.stdout);
    expect(key).toMatchObject({ auth_method: 'private_key_jwt', dpop_required: true });
    expect(key).not.toHaveProperty('client_secret');
    const shown = await runCli(['keys', 'show', key.client_id, '--tenant', tenantId], env);
    expect(shown.stdout).toMatch(/auth_method\s+private_key_jwt/);
    const missing = await runCli(['keys', 'update', key.client_id, '--jwks', path.join(dir, 'absent.json'), '--tenant', tenantId], env);
    expect(missing.code).not.toBe(0);
  });
});
