// The issue's scenario 2 as an operator runs it: keys made with `keygate keys create` against
// DATABASE_URL and REDIS_URL get tokens from all three routes of a running server.
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { runCli } from '../support/cli.ts';
import { basicAuth } from '../support/http.ts';
import { startKeygate, TEST_PEPPER, type TestKeygate } from '../support/keygate.ts';

describe('keygate CLI against DATABASE_URL and REDIS_URL', () => {
  let keygate: TestKeygate;
  let tenant: string;
  let env: Record<string, string | undefined>;

  beforeAll(async () => {
    keygate = await startKeygate({ tokenStore: 'redis' });
    tenant = await keygate.newTenant();
    env = { DATABASE_URL: inject('databaseUrl'), REDIS_URL: inject('redisUrl'), KEYGATE_SECRET_PEPPER: TEST_PEPPER, KEYGATE_ISSUER: 'http://keygate.test' };
  });
  afterAll(() => keygate?.close());

  const cli = (...args: string[]) => runCli([...args, '--tenant', tenant], env);

  it('creates a key whose secret works on all three routes, introspected by an --introspect key, then disabled and deleted', async () => {
    const created = await cli('keys', 'create', '--name', 'svc', '--scopes', 'devices:read devices:write', '--networks', '127.0.0.1/32', '--json');
    expect(created.code).toBe(0);
    const key = JSON.parse(created.stdout);
    expect(key).toMatchObject({ name: 'svc', scopes: ['devices:read', 'devices:write'], networks: ['127.0.0.1/32'], status: 'active', tenant_id: tenant });
    expect(key.api_key).toBe(`${key.client_id}.${key.client_secret}`);
    expect(key.key_file).toEqual({
      client_id: key.client_id,
      client_secret: key.client_secret,
      api_key: key.api_key,
      token_url: 'http://keygate.test/oauth/token',
      issuer: 'http://keygate.test',
      scopes: key.scopes,
      expires_at: key.expires_at,
    });

    const rs = JSON.parse((await cli('keys', 'create', '--name', 'rs', '--scopes', 'devices:read', '--introspect', '--json')).stdout);
    expect(rs.scopes).toEqual(['devices:read', 'token:introspect']);
    const introspect = (token: string) =>
      keygate.send({ path: '/oauth/introspect', headers: { authorization: basicAuth(rs.client_id, rs.client_secret) }, form: { token } });

    const tokens = [
      (
        await keygate.send({
          path: '/oauth/token',
          headers: { authorization: basicAuth(key.client_id, key.client_secret) },
          form: { grant_type: 'client_credentials' },
        })
      ).body.access_token,
      (await keygate.send({ path: '/api/v1/auth/authorize', json: { grantType: 'api_key', apiKey: key.api_key } })).body.data.accessToken,
      (await keygate.send({ path: '/auth/external', json: { clientId: key.client_id, accessKey: key.client_secret } })).body.data.token,
    ];
    for (const token of tokens) expect((await introspect(token)).body).toMatchObject({ active: true, client_id: key.client_id });

    const disabled = await runCli(['keys', 'disable', key.client_id, '--json'], env);
    expect(JSON.parse(disabled.stdout).status).toBe('disabled');
    for (const token of tokens) expect((await introspect(token)).body).toEqual({ active: false });

    expect(JSON.parse((await runCli(['keys', 'enable', key.client_id, '--json'], env)).stdout).status).toBe('active');
    const fresh = (await keygate.send({ path: '/auth/external', json: { clientId: key.client_id, accessKey: key.client_secret } })).body.data.token;
    expect((await introspect(fresh)).body.active).toBe(true);
    expect(await runCli(['keys', 'delete', key.client_id, '--json'], env)).toMatchObject({ code: 0, stdout: `{"deleted":"${key.client_id}"}\n` });
    expect((await introspect(fresh)).body).toEqual({ active: false });
    expect(await runCli(['keys', 'show', key.client_id], env)).toMatchObject({ code: 3, stderr: 'error (not_found): no such key\n' });
  }, 90_000); // six CLI processes, each starting Node and connecting: over 30 s on a loaded machine

  it('lists and shows keys without any secret', async () => {
    const key = JSON.parse((await cli('keys', 'create', '--name', 'listed', '--scopes', 'a:read', '--expires-in', 'never', '--json')).stdout);
    expect(key.expires_at).toBeNull();
    const listed = JSON.parse((await cli('keys', 'list', '--json')).stdout);
    expect(listed.data.map((k: { client_id: string }) => k.client_id)).toContain(key.client_id);
    const shown = await runCli(['keys', 'show', key.client_id, '--json'], env);
    expect(JSON.parse(shown.stdout)).toMatchObject({ client_id: key.client_id, name: 'listed', created_by: 'system' });
    expect(shown.stdout + JSON.stringify(listed)).not.toContain('kgs_');
  });

  it('rotates with grace and updates a key', async () => {
    const key = JSON.parse((await cli('keys', 'create', '--name', 'rot', '--scopes', 'a:read a:write', '--json')).stdout);
    const rotated = await runCli(['keys', 'rotate', key.client_id, '--grace', '3600', '--json'], env);
    expect(rotated.code).toBe(0);
    const body = JSON.parse(rotated.stdout);
    expect(body.client_secret).not.toBe(key.client_secret);
    expect(Date.parse(body.previous_secret_expires_at) - Date.now()).toBeGreaterThan(3_590_000);
    const token = (secret: string) =>
      keygate.send({ path: '/oauth/token', headers: { authorization: basicAuth(key.client_id, secret) }, form: { grant_type: 'client_credentials' } });
    expect((await token(key.client_secret)).status).toBe(200);
    expect((await token(body.client_secret)).status).toBe(200);

    const updated = await runCli(['keys', 'update', key.client_id, '--name', 'renamed', '--scopes', 'a:read', '--networks', '127.0.0.0/8', '--json'], env);
    expect(JSON.parse(updated.stdout)).toMatchObject({ name: 'renamed', scopes: ['a:read'], networks: ['127.0.0.0/8'] });
    expect((await token(body.client_secret)).body.scope).toBe('a:read');
  });

  it('refuses bad input with a message naming the field, and writes nothing', async () => {
    const before = JSON.parse((await cli('keys', 'list', '--json')).stdout).data.length;
    const result = await cli('keys', 'create', '--name', 'bad', '--scopes', 'a:read', '--networks', '10.0.0.0/33');
    expect(result.code).toBe(2);
    expect(result.stderr).toBe("error (validation_failed): request body is invalid\n  networks: '10.0.0.0/33' is not an IP address or CIDR\n");
    expect(JSON.parse((await cli('keys', 'list', '--json')).stdout).data.length).toBe(before);
  });

  it('applies the admin API’s key rules, word for word (one schema for both)', async () => {
    const result = await cli('keys', 'create', '--name', 'short-lived tokens', '--scopes', 'a:read', '--token-ttl', '59');
    expect(result).toMatchObject({
      code: 2,
      stderr: 'error (validation_failed): request body is invalid\n  token_ttl_seconds: Too small: expected number to be >=60\n',
    });
    const expiry = await cli('keys', 'create', '--name', 'x', '--scopes', 'a:read', '--expires-in', 'soon');
    expect(expiry).toMatchObject({
      code: 2,
      stderr: "error (validation_failed): arguments are invalid\n  expires-in: 'soon' is not a duration like 90d, 12h, 30m or never\n",
    });
  });

  it('stops on a bad configuration value, naming the variable', async () => {
    const result = await runCli(['keys', 'list'], { ...env, KEYGATE_TOKEN_TTL_SECONDS: 'soon' });
    expect(result.code).toBe(2);
    expect(result.stderr).toBe('configuration error: KEYGATE_TOKEN_TTL_SECONDS: must be a whole number\n');
  });
});
