// Two-factor sign-in over HTTP, attacked: a good password alone opens no session, a challenge is
// taken once, a TOTP code is accepted once (even by another replica), a recovery code once, wrong
// codes kill the challenge and then lock out like wrong passwords, and a person whose tenant
// requires two-factor gets a session that reaches nothing but the enrolment until they enrol.
import { Redis } from 'ioredis';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { hashToken } from '../../src/crypto/token-hash.ts';
import { ISSUER, startKeygate, type TestKeygate } from '../support/keygate.ts';
import type { HttpResponse } from '../support/http.ts';
import {
  STRONG_PASSWORD,
  sessionCookieOf,
  sessionFrom,
  setPassword,
  setupTokenFor,
  signedInUser,
  signIn,
  signInRequest,
  type ConsoleSession,
} from '../support/console.ts';
import { codeOf, enrol as enrolPerson } from '../support/two-factor.ts';
import { awayFromWindowEdge } from '../support/windows.ts';

const CHALLENGE_COOKIE = 'keygate_sign_in_challenge';
/** Every secret, recovery code and challenge the suite saw: none may reach the log. */
const seen: string[] = [];

function challengeOf(response: HttpResponse): string | undefined {
  const cookie = (response.headers['set-cookie'] ?? []).find((c) => c.startsWith(`${CHALLENGE_COOKIE}=`));
  const challenge = cookie && /^[^=]+=([^;]*)/.exec(cookie)![1];
  if (challenge) seen.push(challenge);
  return challenge;
}

/** Enrols the signed-in person (test/support/two-factor.ts), and notes what was shown: none of it may reach the log. */
async function enrol(session: ConsoleSession): Promise<{ secret: string; recoveryCodes: string[] }> {
  const enrolled = await enrolPerson(session);
  seen.push(enrolled.secret, ...enrolled.recoveryCodes);
  return enrolled;
}

function secondFactor(keygate: TestKeygate, challenge: string | undefined, code: string, from?: string): Promise<HttpResponse> {
  return keygate.send({
    path: '/console/api/session/two-factor',
    headers: { origin: ISSUER, ...(challenge === undefined ? {} : { cookie: `${CHALLENGE_COOKIE}=${challenge}` }) },
    json: { code },
    from,
  });
}

describe('two-factor sign-in', () => {
  const lines: string[] = [];
  let keygate: TestKeygate;
  let tenantId: string;

  beforeAll(async () => {
    keygate = await startKeygate({ tokenStore: 'redis', logDestination: { write: (line: string) => void lines.push(line) } });
    tenantId = await keygate.newTenant();
  });
  afterAll(() => keygate?.close());

  it('enrolment: a secret and its QR code, on only after a good code; ten recovery codes; nothing secret stored or audited in clear', async () => {
    await awayFromWindowEdge(30, 5);
    const { user, session } = await signedInUser(keygate, tenantId, 'member');
    const started = await session.send({ path: '/console/api/two-factor/enrolment', json: {} });
    expect(started.status).toBe(201);
    const { secret, qr_code } = started.body.enrolment;
    expect(secret).toMatch(/^[A-Z2-7]{32}$/);
    expect(qr_code.size).toBeGreaterThan(21);
    expect(qr_code.path).toMatch(/^(M\d+ \d+h1v1h-1z)+$/);
    expect(started.text).not.toContain('otpauth');

    // Not on yet: a password still signs in alone.
    expect((await signInRequest(keygate, user.email, STRONG_PASSWORD)).status).toBe(200);
    const wrong = await session.send({ path: '/console/api/two-factor/enrolment/confirm', json: { code: codeOf(secret, 5) } });
    expect(wrong.status).toBe(400);
    expect(wrong.body.error.details).toEqual([{ field: 'code', message: expect.any(String) }]);

    const confirmed = await session.send({ path: '/console/api/two-factor/enrolment/confirm', json: { code: codeOf(secret) } });
    expect(confirmed.status).toBe(200);
    expect(confirmed.body.recovery_codes).toHaveLength(10);
    expect(new Set(confirmed.body.recovery_codes).size).toBe(10);
    const status = await session.send({ method: 'GET', path: '/console/api/two-factor' });
    expect(status.body.two_factor).toMatchObject({ enabled: true, recovery_codes_left: 10, required: false });
    // A second enrolment over an enabled one is refused.
    expect((await session.send({ path: '/console/api/two-factor/enrolment', json: {} })).status).toBe(409);

    const stored = await sql<{ secret_encrypted: string }>`select secret_encrypted from user_two_factor where user_id = ${user.id}`.execute(keygate.runtime.db);
    expect(stored.rows[0]!.secret_encrypted).not.toContain(secret);
    const hashes = await sql<{ code_hash: string }>`select code_hash from user_recovery_codes where user_id = ${user.id}`.execute(keygate.runtime.db);
    expect(hashes.rows).toHaveLength(10);
    for (const code of confirmed.body.recovery_codes as string[]) expect(JSON.stringify(hashes.rows)).not.toContain(code.replace('-', ''));
    const audit = JSON.stringify(await keygate.runtime.audit.list({ actorUserId: user.id, limit: 100 }));
    expect(audit).toContain('user.two_factor.enable');
    expect(audit).not.toContain(secret);
    for (const code of confirmed.body.recovery_codes as string[]) expect(audit).not.toContain(code);
  });

  it('a good password opens no session: 202 and a challenge cookie, and the challenge reaches nothing', async () => {
    await awayFromWindowEdge(30, 5);
    const { user, session } = await signedInUser(keygate, tenantId, 'admin');
    const { secret } = await enrol(session);
    const first = await signInRequest(keygate, user.email, STRONG_PASSWORD);
    expect(first.status).toBe(202);
    expect(first.body).toEqual({ two_factor_required: true, expires_at: expect.any(String) });
    expect(sessionCookieOf(first)).toBeUndefined();
    const challenge = challengeOf(first)!;
    expect(challenge).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(first.headers['set-cookie']!.find((c) => c.startsWith(CHALLENGE_COOKIE))).toMatch(/HttpOnly; SameSite=Strict/);
    expect(first.text).not.toContain(challenge);

    // The challenge as a session cookie, or as itself, is nobody.
    for (const cookie of [`keygate_session=${challenge}`, `${CHALLENGE_COOKIE}=${challenge}`]) {
      expect((await keygate.send({ method: 'GET', path: '/console/api/session', headers: { cookie } })).status).toBe(401);
      expect((await keygate.send({ method: 'GET', path: '/admin/v1/keys', headers: { cookie } })).status).toBe(401);
    }
    // No challenge, a made-up one: nothing to answer.
    expect((await secondFactor(keygate, undefined, codeOf(secret))).status).toBe(401);
    expect((await secondFactor(keygate, 'A'.repeat(43), codeOf(secret))).status).toBe(401);

    const done = await secondFactor(keygate, challenge, codeOf(secret));
    expect(done.status).toBe(200);
    const cookie = sessionCookieOf(done)!;
    expect(done.headers['set-cookie']!.find((c) => c.startsWith(CHALLENGE_COOKIE))).toMatch(/Max-Age=0/);
    const signedIn = sessionFrom(keygate, cookie, done.body.csrf_token);
    expect((await signedIn.get('/keys')).status).toBe(200);

    // The same challenge again, with the next step's good code: taken already.
    const reused = await secondFactor(keygate, challenge, codeOf(secret, 1));
    expect(reused.status).toBe(401);
    expect(sessionCookieOf(reused)).toBeUndefined();
    const created = (await keygate.runtime.audit.list({ actorUserId: user.id, action: 'session.create', outcome: 'success' }))[0]!;
    expect(created.details).toMatchObject({ via: 'console', second_factor: 'totp' });
  });

  it('a TOTP code is accepted once: replayed in its window, even through another replica, it is refused', async () => {
    await awayFromWindowEdge(30, 5);
    const { user, session } = await signedInUser(keygate, tenantId, 'manager');
    const { secret } = await enrol(session);
    const code = codeOf(secret);
    const replica = await startKeygate({ tokenStore: 'redis' });
    try {
      const here = challengeOf(await signInRequest(keygate, user.email, STRONG_PASSWORD));
      const there = challengeOf(await signInRequest(replica, user.email, STRONG_PASSWORD));
      const answers = await Promise.all([secondFactor(keygate, here, code), secondFactor(replica, there, code)]);
      expect(answers.map((a) => a.status).sort()).toEqual([200, 401]);
      const again = challengeOf(await signInRequest(keygate, user.email, STRONG_PASSWORD));
      const replayed = await secondFactor(keygate, again, code);
      expect(replayed.status).toBe(401);
      expect(replayed.body.error.code).toBe('invalid_credentials');
      // An older code than the last one used is refused too; the next step's is fine.
      expect((await secondFactor(keygate, again, codeOf(secret, -1))).status).toBe(401);
      expect((await secondFactor(keygate, again, codeOf(secret, 1))).status).toBe(200);
    } finally {
      await replica.close();
    }
  });

  it('a recovery code signs in once; the second time it is refused; new codes kill the old set', async () => {
    await awayFromWindowEdge(30, 5);
    const { user, session } = await signedInUser(keygate, tenantId, 'viewer');
    const { secret, recoveryCodes } = await enrol(session);
    const [first, second] = recoveryCodes;
    const challenge = challengeOf(await signInRequest(keygate, user.email, STRONG_PASSWORD));
    const used = await secondFactor(keygate, challenge, first!.toUpperCase());
    expect(used.status).toBe(200);
    const again = challengeOf(await signInRequest(keygate, user.email, STRONG_PASSWORD));
    expect((await secondFactor(keygate, again, first!)).status).toBe(401);
    const uses = await keygate.runtime.audit.list({ actorUserId: user.id, action: 'user.two_factor.recovery_code_use' });
    expect(uses).toHaveLength(1);
    expect(uses[0]!.details).toMatchObject({ recovery_codes_left: 9 });

    const fresh = sessionFrom(keygate, sessionCookieOf(used)!, used.body.csrf_token);
    const regenerated = await fresh.send({ path: '/console/api/two-factor/recovery-codes', json: { code: codeOf(secret) } });
    expect(regenerated.status).toBe(200);
    expect(regenerated.body.recovery_codes).toHaveLength(10);
    expect((await secondFactor(keygate, again, second!)).status).toBe(401);
    expect((await secondFactor(keygate, again, regenerated.body.recovery_codes[0])).status).toBe(200);
  });

  it('wrong codes: audited without the code, and the challenge dies after five', async () => {
    const { user, session } = await signedInUser(keygate, tenantId, 'member');
    const { secret } = await enrol(session);
    const challenge = challengeOf(await signInRequest(keygate, user.email, STRONG_PASSWORD));
    const wrongCodes = ['000000', '111111', '222222', '333333', '444444'].filter((c) => c !== codeOf(secret));
    for (const code of wrongCodes.slice(0, 4)) expect((await secondFactor(keygate, challenge, code)).status).toBe(401);
    const last = await secondFactor(keygate, challenge, 'zzzzz-zzzzz');
    expect(last.status).toBe(401);
    expect(last.headers['set-cookie']!.find((c) => c.startsWith(CHALLENGE_COOKIE))).toMatch(/Max-Age=0/);
    const dead = await secondFactor(keygate, challenge, codeOf(secret, 1));
    expect(dead.status).toBe(401);
    expect(dead.body.error.code).toBe('unauthorized');
    const denied = await keygate.runtime.audit.list({ actorUserId: user.id, action: 'session.second_factor', outcome: 'denied' });
    expect(denied).toHaveLength(5);
    expect(denied[0]).toMatchObject({ reason: 'invalid_code', ip: expect.any(String) });
    expect(JSON.stringify(denied)).not.toMatch(/000000|zzzzz/);
  });

  it('turning two-factor off needs a good code; then a password alone signs in again', async () => {
    await awayFromWindowEdge(30, 5);
    const { user, session } = await signedInUser(keygate, tenantId, 'member');
    const { secret } = await enrol(session);
    expect((await session.send({ path: '/console/api/two-factor/disable', json: { code: '000001' } })).status).toBe(400);
    expect((await session.send({ path: '/console/api/two-factor/disable', json: { code: codeOf(secret) } })).status).toBe(204);
    expect((await signInRequest(keygate, user.email, STRONG_PASSWORD)).status).toBe(200);
    expect(await keygate.runtime.audit.list({ actorUserId: user.id, action: 'user.two_factor.disable' })).toMatchObject([
      { outcome: 'success' },
      { outcome: 'denied', reason: 'invalid_code' },
    ]);
  });

  it('an admin resets a user’s two-factor (audited); a manager cannot reset an admin’s', async () => {
    await awayFromWindowEdge(30, 5);
    const { session: admin, user: adminUser } = await signedInUser(keygate, tenantId, 'admin');
    const { session: manager } = await signedInUser(keygate, tenantId, 'manager');
    const { user, session } = await signedInUser(keygate, tenantId, 'member');
    await enrol(session);
    const adminsOwn = await signedInUser(keygate, tenantId, 'admin');
    expect((await manager.post(`/users/${adminsOwn.user.id}/two-factor/reset`)).status).toBe(403);
    const reset = await admin.post(`/users/${user.id}/two-factor/reset`);
    expect(reset.status).toBe(200);
    expect(reset.body.user.id).toBe(user.id);
    expect((await signInRequest(keygate, user.email, STRONG_PASSWORD)).status).toBe(200);
    const audited = await keygate.runtime.audit.list({ actorUserId: adminUser.id, action: 'user.two_factor.reset' });
    expect(audited[0]!.details).toMatchObject({ user_id: user.id, was_enabled: true, via: 'console' });
  });

  it('a tenant requiring two-factor: its admins and managers without it reach only the enrolment, then everything', async () => {
    await awayFromWindowEdge(30, 5);
    const rootId = await keygate.newTenant();
    const { session: rootAdmin } = await signedInUser(keygate, rootId, 'admin');
    await enrol(rootAdmin);
    const { session: otherAdmin } = await signedInUser(keygate, rootId, 'admin');
    const child = await rootAdmin.post('/tenants', { name: 'child' });
    const childId: string = child.body.tenant.id;
    const { session: member } = await signedInUser(keygate, childId, 'member');
    const { user: manager } = await signedInUser(keygate, childId, 'manager');

    const turnedOn = await rootAdmin.patch(`/tenants/${rootId}`, { require_two_factor: true });
    expect(turnedOn.status).toBe(200);
    expect(turnedOn.body.tenant.require_two_factor).toBe(true);
    expect((await keygate.runtime.audit.list({ action: 'tenant.update', tenantIds: [rootId] }))[0]!.details).toMatchObject({ fields: ['require_two_factor'] });
    // Inherited down the tree: the child may not be looser.
    const looser = await rootAdmin.patch(`/tenants/${childId}`, { require_two_factor: false });
    expect(looser.status).toBe(400);
    expect(looser.body.error.details).toEqual([{ field: 'require_two_factor', message: expect.any(String) }]);
    expect((await rootAdmin.post('/tenants', { name: 'opting out', require_two_factor: false })).status).toBe(400);
    // A tenant's own policy is its parent's to set: the child's admin cannot turn it off (nor on) for itself.
    const { session: childAdmin } = await signedInUser(keygate, childId, 'admin');
    await enrol(childAdmin);
    const ownPolicy = await childAdmin.patch(`/tenants/${childId}`, { require_two_factor: true });
    expect(ownPolicy.status).toBe(403);
    expect(ownPolicy.body.error).toMatchObject({ code: 'forbidden', message: expect.stringContaining('set by its parent') });

    // Another admin's live session, without two-factor, is limited now too.
    const limitedAdmin = await otherAdmin.get('/keys');
    expect(limitedAdmin.status).toBe(403);
    expect(limitedAdmin.body.error.code).toBe('two_factor_enrolment_required');
    // A member is not asked.
    expect((await member.get('/keys')).status).toBe(200);

    const signedIn = await signInRequest(keygate, manager.email, STRONG_PASSWORD);
    expect(signedIn.status).toBe(200);
    expect(signedIn.body.two_factor_enrolment_required).toBe(true);
    const limited = sessionFrom(keygate, sessionCookieOf(signedIn)!, signedIn.body.csrf_token);
    for (const answer of [await limited.get('/keys'), await limited.get('/users'), await limited.post('/keys', { name: 'x', scopes: [] })]) {
      expect(answer.status).toBe(403);
      expect(answer.body.error.code).toBe('two_factor_enrolment_required');
    }
    expect((await limited.send({ method: 'GET', path: '/console/api/session' })).body.two_factor_enrolment_required).toBe(true);
    expect((await limited.send({ method: 'GET', path: '/console/api/two-factor' })).body.two_factor).toMatchObject({ enabled: false, required: true });

    await enrol(limited);
    expect((await limited.get('/keys')).status).toBe(200);
    expect((await limited.send({ method: 'GET', path: '/console/api/session' })).body.two_factor_enrolment_required).toBe(false);
  });

  it('no secret, recovery code, challenge or otpauth URI reaches the log (at trace level)', () => {
    const log = lines.join('');
    expect(log).toContain('second factor refused');
    expect(seen.length).toBeGreaterThan(50);
    for (const secret of seen) expect(log).not.toContain(secret);
    expect(log).not.toContain('otpauth');
  });

  it('enrolling needs a sign-in within the last ten minutes', async () => {
    const { session } = await signedInUser(keygate, tenantId, 'member');
    const redis = new Redis(inject('redisUrl'));
    try {
      const key = `kg:s:${hashToken(session.cookie)}`;
      const record = JSON.parse((await redis.get(key))!);
      await redis.set(key, JSON.stringify({ ...record, createdAt: Date.now() - 11 * 60_000 }), 'KEEPTTL');
    } finally {
      redis.disconnect();
    }
    const refused = await session.send({ path: '/console/api/two-factor/enrolment', json: {} });
    expect(refused.status).toBe(403);
    expect(refused.body.error.message).toMatch(/sign in again/);
    expect((await session.get('/keys')).status).toBe(200);
  });
});

describe('two-factor codes are limited like passwords', () => {
  let keygate: TestKeygate;

  beforeAll(async () => {
    keygate = await startKeygate({ tokenStore: 'redis', signInFailuresPerAccount: 3, signInFailuresPerSource: 1000 });
  });
  afterAll(() => keygate?.close());

  it('after three wrong codes from one source: 429 with Retry-After, even for the right code, audited; another source is not locked', async () => {
    await awayFromWindowEdge(900, 60);
    await awayFromWindowEdge(30, 5);
    const tenantId = await keygate.newTenant();
    // An email of its own: this suite's server shares the database with the one above.
    const user = (await keygate.runtime.users.insert({ tenantId, email: `limited-${process.pid}@example.test`, role: 'member' }))!;
    expect((await setPassword(keygate, await setupTokenFor(keygate, user), STRONG_PASSWORD)).status).toBe(200);
    const { secret } = await enrol(await signIn(keygate, user.email, STRONG_PASSWORD));
    const from = '127.0.0.41';
    const challenge = challengeOf(await signInRequest(keygate, user.email, STRONG_PASSWORD, from));
    for (const code of ['000000', '999999', 'aaaaa-aaaaa'])
      expect((await secondFactor(keygate, challenge, code === codeOf(secret) ? '123456' : code, from)).status).toBe(401);
    const locked = await secondFactor(keygate, challenge, codeOf(secret), from);
    expect(locked.status).toBe(429);
    expect(Number(locked.headers['retry-after'])).toBeGreaterThan(0);
    expect(sessionCookieOf(locked)).toBeUndefined();
    const crossings = await keygate.runtime.audit.list({ actorUserId: user.id, action: 'session.second_factor', outcome: 'denied' });
    expect(crossings.map((e) => e.reason)).toContain('rate_limited');
    const elsewhere = challengeOf(await signInRequest(keygate, user.email, STRONG_PASSWORD, '127.0.0.42'));
    expect((await secondFactor(keygate, elsewhere, codeOf(secret), '127.0.0.42')).status).toBe(200);
  }, 120_000); // waiting out the end of a 15-minute window alone can take a minute
});
