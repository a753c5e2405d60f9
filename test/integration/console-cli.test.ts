// `keygate users invite`, as an operator runs it: it makes the user when needed and prints a
// one-time set-up link whose token lives in the URL fragment; the link sets a password the
// running server then accepts.
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { runCli } from '../support/cli.ts';
import { setPassword, signInRequest, tokenOf } from '../support/console.ts';
import { startKeygate, TEST_PEPPER, type TestKeygate } from '../support/keygate.ts';

describe('keygate users invite', () => {
  let keygate: TestKeygate;
  let tenant: string;
  let env: Record<string, string | undefined>;

  beforeAll(async () => {
    keygate = await startKeygate({ tokenStore: 'redis' });
    tenant = await keygate.newTenant();
    env = { DATABASE_URL: inject('databaseUrl'), REDIS_URL: inject('redisUrl'), KEYGATE_SECRET_PEPPER: TEST_PEPPER, KEYGATE_ISSUER: 'http://keygate.test' };
  });
  afterAll(() => keygate?.close());

  const invite = (...args: string[]) => runCli(['users', 'invite', '--tenant', tenant, ...args], env);

  it('creates the user, prints a fragment link that sets the password once, and re-inviting replaces the link', async () => {
    const email = `invited-${process.pid}@example.test`;
    const first = await invite('--email', email, '--role', 'manager', '--name', 'Ada');
    expect(first.code).toBe(0);
    const [intro, url] = first.stdout.trim().split('\n');
    expect(intro).toMatch(new RegExp(`^New user ${email} \\(manager\\)\\. Set-up link, works once until .+:$`));
    expect(url).toMatch(/^http:\/\/keygate\.test\/console\/setup#token=[A-Za-z0-9_-]{43}$/);
    const user = (await keygate.runtime.users.findByEmail(tenant, email))!;
    expect(user).toMatchObject({ role: 'manager', name: 'Ada', password_hash: null });

    const again = await invite('--email', email, '--role', 'manager', '--json');
    expect(again.code).toBe(0);
    const printed = JSON.parse(again.stdout);
    expect(printed).toMatchObject({ user_id: user.id, created: false, setup_link: { url: expect.any(String), expires_at: expect.any(String) } });
    // The first link was replaced by the second.
    expect((await setPassword(keygate, tokenOf(url!), 'first-link-passphrase')).status).toBe(400);
    expect((await setPassword(keygate, tokenOf(printed.setup_link.url), 'second-link-passphrase')).status).toBe(200);
    expect((await signInRequest(keygate, email, 'second-link-passphrase')).status).toBe(200);

    const invited = await keygate.runtime.audit.list({ action: 'user.invite' });
    expect(invited.filter((e) => e.details.user_id === user.id && e.details.via === 'cli')).toHaveLength(2);
  });

  it('refuses a bad email or role, and a role that differs from the existing user’s', async () => {
    const bad = await invite('--email', 'not-an-email', '--role', 'admin');
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('email');
    expect((await invite('--email', 'someone@example.test', '--role', 'owner')).code).toBe(2);
    const email = `fixed-role-${process.pid}@example.test`;
    expect((await invite('--email', email, '--role', 'viewer')).code).toBe(0);
    const conflict = await invite('--email', email, '--role', 'admin');
    expect(conflict.code).toBe(2);
    expect(conflict.stderr).toContain("already exists with the role 'viewer'");
  });
});
