// `keygate webhooks …` as an operator runs it against DATABASE_URL.
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { runCli } from '../support/cli.ts';
import { startKeygate, TEST_PEPPER, type TestKeygate } from '../support/keygate.ts';

describe('keygate webhooks (CLI)', () => {
  let keygate: TestKeygate;
  let tenant: string;
  let env: Record<string, string | undefined>;

  beforeAll(async () => {
    keygate = await startKeygate({ tokenStore: 'memory' });
    tenant = await keygate.newTenant();
    env = { DATABASE_URL: inject('databaseUrl'), KEYGATE_SECRET_PEPPER: TEST_PEPPER, KEYGATE_WEBHOOK_ALLOWED_NETWORKS: '127.0.0.1/32' };
  });
  afterAll(() => keygate?.close());

  it('creates an endpoint (secret shown once), lists, changes, disables, shows its deliveries and deletes it', async () => {
    const created = await runCli(
      ['webhooks', 'create', '--tenant', tenant, '--url', 'http://127.0.0.1:9/hook', '--events', 'key.created key.expiring', '--json'],
      env,
    );
    expect(created.code, created.stderr).toBe(0);
    const { webhook, secret } = JSON.parse(created.stdout);
    expect(secret).toMatch(/^whsec_/);
    expect(webhook).toMatchObject({ tenant_id: tenant, url: 'http://127.0.0.1:9/hook', event_types: ['key.created', 'key.expiring'], status: 'active' });
    const listed = await runCli(['webhooks', 'list', '--tenant', tenant, '--json'], env);
    expect(JSON.parse(listed.stdout).data.map((w: { id: string }) => w.id)).toEqual([webhook.id]);
    expect(listed.stdout).not.toContain(secret.slice(6));
    const updated = await runCli(['webhooks', 'update', webhook.id, '--events', 'key.expired', '--json'], env);
    expect(JSON.parse(updated.stdout).event_types).toEqual(['key.expired']);
    expect(JSON.parse((await runCli(['webhooks', 'disable', webhook.id, '--json'], env)).stdout).status).toBe('disabled');
    expect(JSON.parse((await runCli(['webhooks', 'deliveries', webhook.id, '--json'], env)).stdout)).toEqual({ data: [] });
    expect((await runCli(['webhooks', 'delete', webhook.id], env)).code).toBe(0);
    expect((await runCli(['webhooks', 'show', webhook.id], env)).code).toBe(3);
  }, 120_000); // seven processes, each starting Node and connecting to Postgres

  it('refuses a loopback target that the allow-list does not name, with the field that is wrong', async () => {
    const refused = await runCli(['webhooks', 'create', '--tenant', tenant, '--url', 'http://127.0.0.1:9/hook', '--events', 'key.created'], {
      ...env,
      KEYGATE_WEBHOOK_ALLOWED_NETWORKS: undefined,
    });
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain('url: resolves to 127.0.0.1');
  });
});
