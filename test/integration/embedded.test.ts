// zero-configuration default, as `npm start` runs it: embedded Postgres in the data dir,
// in-memory tokens, a bootstrap admin key printed once, and a CLI that reaches the same store.
import { spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLI, REPO_ROOT, runCli } from '../support/cli.ts';
import { basicAuth, send } from '../support/http.ts';
import { freePort, stopChild } from '../support/processes.ts';
import { clusterDirFor } from '../../src/embedded/reachable.ts';

interface Started {
  child: ChildProcess;
  output: () => string;
}

function startServe(env: Record<string, string>): Promise<Started> {
  const child = spawn(process.execPath, [CLI, 'serve'], { cwd: REPO_ROOT, env: { PATH: process.env.PATH, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout!.on('data', (chunk) => (output += chunk));
  child.stderr!.on('data', (chunk) => (output += chunk));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`server did not start:\n${output}`)), 60_000);
    child.stdout!.on('data', () => {
      if (output.includes('keygate listening')) {
        clearTimeout(timer);
        resolve({ child, output: () => output });
      }
    });
    child.once('exit', (code) => reject(new Error(`server exited with ${code}:\n${output}`)));
  });
}

describe('embedded default (npm start)', () => {
  let root: string;
  let env: Record<string, string>;
  let server: Started | undefined;

  beforeAll(async () => {
    root = mkdtempSync(path.join(os.tmpdir(), 'keygate-embedded-'));
    chmodSync(root, 0o755);
    env = { KEYGATE_DATA_DIR: path.join(root, 'data'), PORT: String(await freePort()), HOST: '127.0.0.1' };
  });
  afterAll(async () => {
    if (server) await stopChild(server.child);
    rmSync(root, { recursive: true, force: true });
  });

  it('starts with nothing configured, prints a working bootstrap key once, and shares its store with the CLI', { timeout: 120_000 }, async () => {
    server = await startServe(env);
    const banner = server.output();
    expect(banner).toContain('embedded Postgres started');
    expect(banner).toContain('REDIS_URL is not set');
    const clientId = /client_id:\s+(\S+)/.exec(banner)![1]!;
    const clientSecret = /client_secret:\s+(\S+)/.exec(banner)![1]!;
    expect(banner.split(clientSecret).length - 1).toBe(2); // the secret line and the api_key line, nowhere else

    const port = Number(env.PORT);

    // The first admin user's set-up link: set a password, sign in, and the session (kept in this
    // process's memory) reaches the admin API.
    const origin = `http://localhost:${env.PORT}`;
    expect(banner).toContain('First admin user: admin@keygate.localhost.');
    const setupToken = new RegExp(`setup_link:\\s+${origin}/console/setup#token=([A-Za-z0-9_-]{43})\\n`).exec(banner)![1]!;
    const setup = await send(port, { path: '/console/api/setup', headers: { origin }, json: { token: setupToken, password: 'first-admin-passphrase' } });
    expect(setup.status).toBe(200);
    const signIn = await send(port, {
      path: '/console/api/session',
      headers: { origin },
      json: { email: 'admin@keygate.localhost', password: 'first-admin-passphrase' },
    });
    expect(signIn.status).toBe(200);
    const cookie = signIn.headers['set-cookie']![0]!.split(';')[0]!;
    const keys = await send(port, { method: 'GET', path: '/admin/v1/keys', headers: { cookie } });
    expect(keys.status).toBe(200);
    expect(keys.body.data).toHaveLength(1);
    const token = await send(port, {
      path: '/oauth/token',
      headers: { authorization: basicAuth(clientId, clientSecret) },
      form: { grant_type: 'client_credentials', scope: 'admin:keys:read' },
    });
    expect(token.status).toBe(200);
    const introspection = await send(port, {
      path: '/oauth/introspect',
      headers: { authorization: basicAuth(clientId, clientSecret) },
      form: { token: token.body.access_token },
    });
    expect(introspection.body).toMatchObject({ active: true, client_id: clientId, scope: 'admin:keys:read' });

    // The first tenant is audited like any other, with who made it.
    const adminToken = await send(port, {
      path: '/oauth/token',
      headers: { authorization: basicAuth(clientId, clientSecret) },
      form: { grant_type: 'client_credentials', scope: 'admin:audit:read' },
    });
    const audit = await send(port, {
      method: 'GET',
      path: '/admin/v1/audit?action=tenant.create',
      headers: { authorization: `Bearer ${adminToken.body.access_token}` },
    });
    expect(audit.body.data).toEqual([
      expect.objectContaining({
        action: 'tenant.create',
        outcome: 'success',
        actor_key_id: null,
        details: { via: 'bootstrap', tenant_id: audit.body.data[0].tenant_id, parent_id: null, name: 'default' },
      }),
    ]);

    const listed = await runCli(['keys', 'list', '--json'], env);
    expect(listed.code).toBe(0);
    expect(JSON.parse(listed.stdout).data.map((k: { client_id: string }) => k.client_id)).toEqual([clientId]);

    // A key made by the CLI is refused by the running server once the CLI disables it.
    await runCli(['keys', 'disable', clientId], env);
    // The change reaches the server through the database's change feed, after the CLI has exited.
    await expect
      .poll(
        async () =>
          (
            await send(port, {
              path: '/oauth/introspect',
              headers: { authorization: basicAuth(clientId, clientSecret) },
              form: { token: token.body.access_token },
            })
          ).status,
        { timeout: 10_000 },
      )
      .toBe(401);
    await runCli(['keys', 'enable', clientId], env);

    server.child.kill('SIGTERM');
    const code = await new Promise((resolve) => server!.child.once('exit', resolve));
    expect({ code, output: code === 0 ? '' : server.output() }).toEqual({ code: 0, output: '' });

    server = await startServe(env);
    expect(server.output()).not.toContain('bootstrap admin key');
    const again = await send(port, {
      path: '/oauth/token',
      headers: { authorization: basicAuth(clientId, clientSecret) },
      form: { grant_type: 'client_credentials' },
    });
    expect(again.status).toBe(200);
  });

  it('serves from a data directory inside a private (0700) directory, as root too', { timeout: 120_000 }, async () => {
    const hidden = mkdtempSync(path.join(os.tmpdir(), 'keygate-private-')); // mode 0700, like root's home
    const privateEnv = { KEYGATE_DATA_DIR: path.join(hidden, 'data'), PORT: String(await freePort()), HOST: '127.0.0.1' };
    let started = await startServe(privateEnv);
    try {
      const output = started.output();
      if (process.getuid?.() === 0) expect(output).toContain('the cluster lives in a shared directory');
      const clientId = /client_id:\s+(\S+)/.exec(output)![1]!;
      const clientSecret = /client_secret:\s+(\S+)/.exec(output)![1]!;
      const tokenRequest = {
        path: '/oauth/token',
        headers: { authorization: basicAuth(clientId, clientSecret) },
        form: { grant_type: 'client_credentials' },
      };
      expect((await send(Number(privateEnv.PORT), tokenRequest)).status).toBe(200);
      // Started again, it finds the same cluster where it put it: the key is still there.
      await stopChild(started.child);
      started = await startServe(privateEnv);
      expect(started.output()).not.toContain('bootstrap admin key');
      expect((await send(Number(privateEnv.PORT), tokenRequest)).status).toBe(200);
    } finally {
      await stopChild(started.child);
      rmSync(clusterDirFor(privateEnv.KEYGATE_DATA_DIR), { recursive: true, force: true });
      rmSync(hidden, { recursive: true, force: true });
    }
  });
});
