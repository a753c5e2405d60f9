// People sign in to the console: a set-up link sets the password, a sign-in opens a server-side
// session carried by an HttpOnly SameSite=Strict cookie, and that cookie (with its CSRF token for
// changes, from this server's own origin) is an admin API credential with the person's role as
// its power. A session ends when its person signs out, idles, reaches its absolute end, is
// disabled or deleted, loses their tenant, or gets a new password.
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { hashToken } from '../../src/crypto/token-hash.ts';
import { adminClient, ALL_KEYGATE_SCOPES, type AdminClient } from '../support/admin.ts';
import { STRONG_PASSWORD, sessionCookieOf, setPassword, setupTokenFor, signIn, signInRequest, signedInUser, type ConsoleSession } from '../support/console.ts';
import { startKeygate, type TestKeygate } from '../support/keygate.ts';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const showSession = (session: ConsoleSession) => session.send({ method: 'GET', path: '/console/api/session' });

describe('console sign-in and sessions', () => {
  let keygate: TestKeygate;
  let tenantId: string;
  let admin: AdminClient;

  beforeAll(async () => {
    keygate = await startKeygate({ tokenStore: 'redis' });
    tenantId = await keygate.newTenant();
    admin = await adminClient(keygate, tenantId, ALL_KEYGATE_SCOPES);
  });
  afterAll(() => keygate?.close());

  it('set-up link → password → sign-in → the session → the admin API with the cookie', async () => {
    const user = await keygate.newUser(tenantId, 'admin');
    const set = await setPassword(keygate, await setupTokenFor(keygate, user), STRONG_PASSWORD);
    expect(set.status).toBe(200);
    expect(set.body).toEqual({ user: { id: user.id, email: user.email, name: null, role: 'admin', tenant_id: tenantId } });

    const signedIn = await signInRequest(keygate, user.email, STRONG_PASSWORD);
    expect(signedIn.status).toBe(200);
    expect(signedIn.headers['set-cookie']).toEqual([expect.stringMatching(/^keygate_session=[A-Za-z0-9_-]{43}; Path=\/; HttpOnly; SameSite=Strict$/)]);
    expect(signedIn.body).toEqual({
      user: { id: user.id, email: user.email, name: null, role: 'admin', tenant_id: tenantId, tenant_name: expect.any(String) },
      account: { id: tenantId, name: expect.any(String), path: [{ id: tenantId, name: expect.any(String) }] },
      csrf_token: expect.stringMatching(/^[A-Za-z0-9_-]{43}$/),
      idle_expires_at: expect.any(String),
      expires_at: expect.any(String),
      two_factor_enrolment_required: false,
    });
    // Redis holds the session under a hash of its id, and nowhere the cookie's value itself.
    const cookie = sessionCookieOf(signedIn)!;
    const redis = new Redis(inject('redisUrl'));
    try {
      expect(await redis.exists(`kg:s:${hashToken(cookie)}`)).toBe(1);
      const stored = await redis.get(`kg:s:${hashToken(cookie)}`);
      expect(stored).not.toContain(cookie);
      expect(await redis.keys(`*${cookie}*`)).toEqual([]);
    } finally {
      redis.disconnect();
    }

    const session = await signIn(keygate, user.email, STRONG_PASSWORD);
    const shown = await showSession(session);
    expect(shown.status).toBe(200);
    expect(shown.body.user.id).toBe(user.id);
    expect(shown.body.csrf_token).toBe(session.csrf);
    expect(shown.headers).toMatchObject({
      'cache-control': 'no-store',
      'x-content-type-options': 'nosniff',
      'referrer-policy': 'no-referrer',
      'content-security-policy': "default-src 'none'; frame-ancestors 'none'",
    });

    const created = await session.post('/keys', { name: 'made in the console', scopes: ['devices:read'] });
    expect(created.status).toBe(201);
    expect(created.body.key).toMatchObject({ kind: 'service', tenant_id: tenantId });
    const listed = await session.get('/keys');
    expect(listed.status).toBe(200);
    expect(listed.body.data.map((k: { client_id: string }) => k.client_id)).toContain(created.body.key.client_id);
    // The key works: a person made it, and the person may still create keys.
    expect((await keygate.token(created.body)).status).toBe(200);

    const [event] = (await keygate.runtime.audit.list({ targetKeyId: created.body.key.client_id })).filter((e) => e.action === 'key.create');
    expect(event).toMatchObject({ actor_key_id: null, actor_user_id: user.id, details: expect.objectContaining({ via: 'console' }) });
    const signIns = await keygate.runtime.audit.list({ actorUserId: user.id, action: 'session.create' });
    expect(signIns.map((e) => e.outcome)).toEqual(['success', 'success']);
    expect((await keygate.runtime.users.findById(user.id))!.last_sign_in_at).toBeInstanceOf(Date);
  });

  it('signing in again from the same browser ends the session it had', async () => {
    const { user, session } = await signedInUser(keygate, tenantId, 'viewer');
    const again = await keygate.send({
      path: '/console/api/session',
      headers: { origin: 'http://keygate.test', cookie: `keygate_session=${session.cookie}` },
      json: { email: user.email, password: STRONG_PASSWORD },
    });
    expect(again.status).toBe(200);
    expect(sessionCookieOf(again)).not.toBe(session.cookie);
    expect((await showSession(session)).status).toBe(401);
  });

  it('an Authorization header wins over the cookie: a bad bearer token is refused whatever the session', async () => {
    const { session } = await signedInUser(keygate, tenantId, 'admin');
    const response = await session.send({ method: 'GET', path: '/admin/v1/keys', headers: { authorization: 'Bearer not-a-token-of-this-server' } });
    expect(response.status).toBe(401);
  });

  it('a change without the CSRF token, with a wrong one, or from another origin is refused, and changes nothing', async () => {
    const { user, session } = await signedInUser(keygate, tenantId, 'admin');
    const forged = { path: '/admin/v1/keys', json: { name: 'forged', scopes: ['devices:read'] } };
    for (const attempt of [
      session.send({ ...forged, csrf: null }),
      session.send({ ...forged, csrf: 'x'.repeat(43) }),
      session.send({ ...forged, csrf: '' }),
      session.send({ ...forged, origin: 'https://evil.example' }),
      session.send({ ...forged, origin: 'http://keygate.test.evil.example' }),
      session.send({ method: 'GET', path: '/admin/v1/keys', origin: 'https://evil.example' }),
      session.send({ method: 'DELETE', path: '/console/api/session', csrf: null }),
    ]) {
      const response = await attempt;
      expect(response.status).toBe(403);
      expect(response.body.error.code).toBe('forbidden');
    }
    expect((await keygate.runtime.audit.list({ actorUserId: user.id, action: 'key.create' })).length).toBe(0);
    // The session itself still works.
    expect((await session.get('/keys')).status).toBe(200);
    expect((await showSession(session)).status).toBe(200);
  });

  it('a cookie that names no session is 401, and the cookie is left alone (it may be a value a password change replaced a moment ago)', async () => {
    const forged = await keygate.send({ method: 'GET', path: '/admin/v1/keys', headers: { cookie: `keygate_session=${'A'.repeat(43)}` } });
    expect(forged.status).toBe(401);
    expect(sessionCookieOf(forged)).toBeUndefined();
    const console = await keygate.send({ method: 'GET', path: '/console/api/session' });
    expect(console.status).toBe(401);
  });

  it('sign-out ends the session on the server, not only in the browser', async () => {
    const { session } = await signedInUser(keygate, tenantId, 'viewer');
    const out = await session.send({ method: 'DELETE', path: '/console/api/session' });
    expect(out.status).toBe(204);
    expect(out.headers['set-cookie']).toEqual(['keygate_session=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0']);
    // A copy of the cookie kept by an attacker is worth nothing now.
    expect((await session.get('/keys')).status).toBe(401);
    expect((await showSession(session)).status).toBe(401);
  });

  it('disabling or deleting the user ends their sessions at once', async () => {
    const disabled = await signedInUser(keygate, tenantId, 'manager');
    const deleted = await signedInUser(keygate, tenantId, 'manager');
    expect((await disabled.session.get('/keys')).status).toBe(200);
    expect((await admin.post(`/users/${disabled.user.id}/disable`)).status).toBe(200);
    expect((await admin.delete(`/users/${deleted.user.id}`)).status).toBe(204);
    expect((await disabled.session.get('/keys')).status).toBe(401);
    expect((await deleted.session.get('/keys')).status).toBe(401);
    // Enabling the user again does not revive the ended session.
    expect((await admin.post(`/users/${disabled.user.id}/enable`)).status).toBe(200);
    expect((await disabled.session.get('/keys')).status).toBe(401);
    // And a disabled user cannot sign in again (the same answer as a wrong password).
    await admin.post(`/users/${disabled.user.id}/disable`);
    const again = await signInRequest(keygate, disabled.user.email, STRONG_PASSWORD);
    expect(again.status).toBe(401);
    expect(again.body.error.code).toBe('invalid_credentials');
  });

  it('disabling the tenant (or one above it) ends its people’s sessions', async () => {
    const child = (await admin.post('/tenants', { name: 'customer with a console' })).body.tenant.id;
    const { session } = await signedInUser(keygate, child, 'admin');
    expect((await session.get('/keys')).status).toBe(200);
    expect((await admin.post(`/tenants/${child}/disable`)).status).toBe(200);
    expect((await session.get('/keys')).status).toBe(401);
  });

  it('the role is read on every request: a demotion applies to the next one', async () => {
    const { user, session } = await signedInUser(keygate, tenantId, 'manager');
    expect((await session.post('/keys', { name: 'while a manager', scopes: ['devices:read'] })).status).toBe(201);
    expect((await admin.patch(`/users/${user.id}`, { role: 'viewer' })).status).toBe(200);
    const refused = await session.post('/keys', { name: 'after the demotion', scopes: ['devices:read'] });
    expect(refused.status).toBe(403);
    expect((await showSession(session)).body.user.role).toBe('viewer');
    expect((await session.get('/keys')).status).toBe(200);
  });

  it('a new password ends the sessions opened with the old one', async () => {
    const { user, session } = await signedInUser(keygate, tenantId, 'viewer');
    const reset = await setPassword(keygate, await setupTokenFor(keygate, user), 'a-whole-new-passphrase');
    expect(reset.status).toBe(200);
    expect((await showSession(session)).status).toBe(401);
    expect((await signInRequest(keygate, user.email, STRONG_PASSWORD)).status).toBe(401);
    expect((await signInRequest(keygate, user.email, 'a-whole-new-passphrase')).status).toBe(200);
  });
});

describe('console session lifetimes (shortened: idle 3 s, absolute 8 s)', () => {
  let keygate: TestKeygate;
  let tenantId: string;

  beforeAll(async () => {
    keygate = await startKeygate({ tokenStore: 'redis', sessionIdleSeconds: 3, sessionMaxSeconds: 8 });
    tenantId = await keygate.newTenant();
  });
  afterAll(() => keygate?.close());

  it('a session left idle ends; one in use slides past the idle end but not past the absolute one', { timeout: 60_000 }, async () => {
    const idle = await signedInUser(keygate, tenantId, 'viewer');
    const busy = await signedInUser(keygate, tenantId, 'viewer');
    // Measured after the sign-in answered: the server's clock for the session started earlier.
    const signedInAt = Date.now();
    const answers: { at: number; status: number }[] = [];
    while (Date.now() - signedInAt < 8_500) {
      await sleep(1000);
      const at = Date.now() - signedInAt;
      answers.push({ at, status: (await showSession(busy.session)).status });
      if (answers.length === 5) {
        // Five seconds untouched: past the idle end.
        expect((await showSession(idle.session)).status).toBe(401);
        expect((await idle.session.get('/keys')).status).toBe(401);
      }
    }
    // Used every second, it outlived the idle time twice over…
    const early = answers.filter((answer) => answer.at < 6_000);
    expect(early.length).toBeGreaterThanOrEqual(4);
    expect(early.every((answer) => answer.status === 200)).toBe(true);
    // …but not the absolute end (the loop ran past it), although it was used about a second before.
    expect((await showSession(busy.session)).status).toBe(401);
  });
});
