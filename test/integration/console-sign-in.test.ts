// Setting a password and signing in, attacked: set-up links work once and for a day, weak
// passwords are refused, a wrong password or an unknown email gets one and the same answer,
// failed sign-ins lock out per (email, source) and per source like failed secrets, keys never
// sign in, and no password, link token or session id reaches the log or the audit records.
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { HttpResponse } from '../support/http.ts';
import { STRONG_PASSWORD, sessionCookieOf, setPassword, setupTokenFor, signInRequest } from '../support/console.ts';
import { startKeygate, type TestKeygate } from '../support/keygate.ts';
import { awayFromWindowEdge } from '../support/windows.ts';

/** The failed sign-in window the server runs with (KEYGATE_SIGN_IN_FAILURE_WINDOW_SECONDS). */
const WINDOW_SECONDS = 900;

/** Everything a caller sees of an answer, but the request id each answer has of its own. */
function visible(response: HttpResponse) {
  // Retry-After counts down in whole seconds: two answers a moment apart are compared on their own.
  const { date: _date, 'x-request-id': _id, 'retry-after': _wait, ...headers } = response.headers;
  return { status: response.status, headers, text: response.text.replace(response.headers['x-request-id'] as string, '<request id>') };
}

describe('console set-up links and sign-in', () => {
  const lines: string[] = [];
  let keygate: TestKeygate;
  let tenantId: string;

  beforeAll(async () => {
    keygate = await startKeygate({
      tokenStore: 'redis',
      signInFailuresPerAccount: 3,
      signInFailuresPerSource: 8,
      logDestination: { write: (line: string) => void lines.push(line) },
    });
    tenantId = await keygate.newTenant();
  });
  afterAll(() => keygate?.close());

  it('a set-up link works once; a used, expired, replaced or made-up one is refused', async () => {
    const user = await keygate.newUser(tenantId, 'member');
    const token = await setupTokenFor(keygate, user);
    expect((await setPassword(keygate, token, STRONG_PASSWORD)).status).toBe(200);
    const reused = await setPassword(keygate, token, 'another-fine-passphrase');
    expect(reused.status).toBe(400);
    expect(reused.body.error.details).toEqual([{ field: 'token', message: expect.stringContaining('not valid') }]);
    expect((await signInRequest(keygate, user.email, 'another-fine-passphrase')).status).toBe(401);

    const expiring = await setupTokenFor(keygate, user);
    await sql`update user_setup_links set expires_at = now() - interval '1 second' where user_id = ${user.id}`.execute(keygate.runtime.db);
    expect((await setPassword(keygate, expiring, 'another-fine-passphrase')).status).toBe(400);

    const replaced = await setupTokenFor(keygate, user);
    const newer = await setupTokenFor(keygate, user);
    expect((await setPassword(keygate, replaced, 'another-fine-passphrase')).status).toBe(400);
    expect((await setPassword(keygate, 'made-up-token-000000000000000000000000000000', 'another-fine-passphrase')).status).toBe(400);
    expect((await setPassword(keygate, newer, 'another-fine-passphrase')).status).toBe(200);
  });

  it('the link for a disabled user sets nothing', async () => {
    const user = await keygate.newUser(tenantId, 'viewer');
    const token = await setupTokenFor(keygate, user);
    await keygate.runtime.users.setStatus(user.id, 'disabled');
    expect((await setPassword(keygate, token, STRONG_PASSWORD)).status).toBe(400);
    expect((await keygate.runtime.users.findById(user.id))!.password_hash).toBeNull();
  });

  it('password rules: at least 12 characters, not a common password, not the email; a refusal keeps the link usable', async () => {
    const user = await keygate.newUser(tenantId, 'viewer');
    const token = await setupTokenFor(keygate, user);
    const refused = async (password: string) => (await setPassword(keygate, token, password)).body.error?.details;
    expect(await refused('short-pass1')).toEqual([{ field: 'password', message: 'must be at least 12 characters' }]);
    expect(await refused('Password1234')).toEqual([{ field: 'password', message: 'is too common: choose another' }]);
    expect(await refused('QWERTYUIOP123')).toEqual([{ field: 'password', message: 'is too common: choose another' }]);
    expect(await refused('aaaaaaaaaaaaaaaa')).toEqual([{ field: 'password', message: 'needs more than a few distinct characters' }]);
    expect(await refused(user.email)).toEqual([{ field: 'password', message: 'must not be the email address' }]);
    expect(await refused('x'.repeat(1025))).toEqual([{ field: 'password', message: expect.any(String) }]);
    expect((await setPassword(keygate, token, STRONG_PASSWORD)).status).toBe(200);
    const stored = (await keygate.runtime.users.findById(user.id))!.password_hash!;
    expect(stored).toMatch(/^scrypt\$15\$8\$1\$[A-Za-z0-9_-]{22}\$[A-Za-z0-9_-]{43}$/);
    expect(stored).not.toContain(STRONG_PASSWORD);
  });

  it('a wrong password, an unknown email, a user with no password yet and a key’s credentials get the same 401', async () => {
    const user = await keygate.newUser(tenantId, 'admin');
    await setPassword(keygate, await setupTokenFor(keygate, user), STRONG_PASSWORD);
    const noPassword = await keygate.newUser(tenantId, 'admin');
    const key = await keygate.createKey(tenantId);
    const from = '127.0.0.21';
    const answers = [
      await signInRequest(keygate, user.email, 'not-the-right-password', from),
      await signInRequest(keygate, `nobody-${user.email}`, 'not-the-right-password', from),
      await signInRequest(keygate, noPassword.email, 'not-the-right-password', from),
      await signInRequest(keygate, key.key.client_id, key.client_secret, from),
      await signInRequest(keygate, key.api_key, key.client_secret, from),
    ];
    expect(answers[0]!.status).toBe(401);
    expect(answers[0]!.body.error).toMatchObject({ code: 'invalid_credentials' });
    for (const answer of answers) expect(visible(answer)).toEqual(visible(answers[0]!));
    expect(answers.every((answer) => sessionCookieOf(answer) === undefined)).toBe(true);
    // Letter case in the email does not matter. (From the same source: other tests' failures from
    // the default address may share its window.)
    expect((await signInRequest(keygate, user.email.toUpperCase(), STRONG_PASSWORD, from)).status).toBe(200);
  });

  it('failed sign-ins lock out (email, source) after 3, with Retry-After, the same for an unknown email; other sources are not affected', {
    timeout: 60_000,
  }, async () => {
    await awayFromWindowEdge(WINDOW_SECONDS, 20);
    const user = await keygate.newUser(tenantId, 'admin');
    await setPassword(keygate, await setupTokenFor(keygate, user), STRONG_PASSWORD);
    const unknown = `nobody-at-all-${user.email}`;
    const attacker = '127.0.0.31';
    for (let i = 0; i < 3; i++) {
      expect((await signInRequest(keygate, user.email, `wrong-password-${i}-xyz`, attacker)).status).toBe(401);
      expect((await signInRequest(keygate, unknown, `wrong-password-${i}-xyz`, attacker)).status).toBe(401);
    }
    const known = await signInRequest(keygate, user.email, STRONG_PASSWORD, attacker);
    const stranger = await signInRequest(keygate, unknown, STRONG_PASSWORD, attacker);
    expect(known.status).toBe(429);
    expect(Number(known.headers['retry-after'])).toBeGreaterThan(0);
    expect(known.body.error.code).toBe('rate_limited');
    expect(sessionCookieOf(known)).toBeUndefined();
    expect(visible(stranger)).toEqual(visible(known));
    expect(Math.abs(Number(stranger.headers['retry-after']) - Number(known.headers['retry-after']))).toBeLessThanOrEqual(1);
    // The owner, from their own machine, signs in.
    expect((await signInRequest(keygate, user.email, STRONG_PASSWORD, '127.0.0.32')).status).toBe(200);
    // The crossing is audited once, naming the source, never the email.
    const crossings = (await keygate.runtime.audit.list({ action: 'session.create', outcome: 'denied' })).filter((e) => e.reason === 'rate_limited');
    expect(crossings.filter((e) => e.details.source === attacker && e.details.limit === 'client_source_failures')).toHaveLength(2);
    expect(JSON.stringify(crossings)).not.toContain(user.email);
    const denied = await keygate.runtime.audit.list({ actorUserId: user.id, action: 'session.create', outcome: 'denied' });
    expect(denied).toHaveLength(3);
    expect(denied[0]).toMatchObject({ reason: 'invalid_credentials', tenant_id: tenantId, ip: attacker });
  });

  it('many emails from one source lock out the source', { timeout: 60_000 }, async () => {
    await awayFromWindowEdge(WINDOW_SECONDS, 20);
    const source = '127.0.0.41';
    for (let i = 0; i < 8; i++) expect((await signInRequest(keygate, `spray-${i}@example.test`, 'wrong-password-spray', source)).status).toBe(401);
    const user = await keygate.newUser(tenantId, 'viewer');
    await setPassword(keygate, await setupTokenFor(keygate, user), STRONG_PASSWORD);
    const locked = await signInRequest(keygate, user.email, STRONG_PASSWORD, source);
    expect(locked.status).toBe(429);
    expect(locked.headers['retry-after']).toBeDefined();
  });

  it('no password, set-up token, session id or CSRF token reaches the log or the audit records', async () => {
    const user = await keygate.newUser(tenantId, 'admin');
    const token = await setupTokenFor(keygate, user);
    const password = 'log-canary-passphrase-9d1';
    const secrets = [password, token, 'wrong-canary-password-33'];
    await setPassword(keygate, token, 'x'); // refused
    await setPassword(keygate, token, password);
    await signInRequest(keygate, user.email, 'wrong-canary-password-33');
    const signedIn = await signInRequest(keygate, user.email, password);
    secrets.push(sessionCookieOf(signedIn)!, signedIn.body.csrf_token);
    const events = await keygate.runtime.audit.list({ tenantIds: [tenantId], limit: 1000 });
    expect(events.length).toBeGreaterThan(0);
    const logged = lines.join('\n');
    expect(logged).toContain('sign-in refused');
    for (const secret of secrets) {
      expect(logged).not.toContain(secret);
      expect(JSON.stringify(events)).not.toContain(secret);
    }
  });
});
