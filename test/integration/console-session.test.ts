// People sign in to the console: a set-up link sets the password, a sign-in opens a server-side
// session carried by an HttpOnly SameSite=Strict cookie, and that cookie (with its CSRF token for
// changes) is an admin API credential with the person's role as its power.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startKeygate, type TestKeygate } from '../support/keygate.ts';
import { STRONG_PASSWORD, sessionCookieOf, setPassword, setupTokenFor, signIn, signInRequest, signedInUser } from '../support/console.ts';

describe('console sign-in and sessions', () => {
  let keygate: TestKeygate;
  let tenantId: string;

  beforeAll(async () => {
    keygate = await startKeygate({ tokenStore: 'redis' });
    tenantId = await keygate.newTenant();
  });
  afterAll(() => keygate?.close());

  it('set-up link → password → sign-in → the session → the admin API with the cookie', async () => {
    const user = await keygate.newUser(tenantId, 'admin');
    const set = await setPassword(keygate, await setupTokenFor(keygate, user), STRONG_PASSWORD);
    expect(set.status).toBe(200);
    expect(set.body).toEqual({ user: { id: user.id, email: user.email, name: null, role: 'admin', tenant_id: tenantId } });

    const signedIn = await signInRequest(keygate, user.email, STRONG_PASSWORD);
    expect(signedIn.status).toBe(200);
    const cookieHeader = signedIn.headers['set-cookie']![0]!;
    expect(cookieHeader).toMatch(/^keygate_session=[A-Za-z0-9_-]{43}; Path=\/; HttpOnly; SameSite=Strict$/);
    expect(signedIn.body).toEqual({
      user: { id: user.id, email: user.email, name: null, role: 'admin', tenant_id: tenantId, tenant_name: expect.any(String) },
      csrf_token: expect.stringMatching(/^[A-Za-z0-9_-]{43}$/),
      idle_expires_at: expect.any(String),
      expires_at: expect.any(String),
    });
    const session = await signIn(keygate, user.email, STRONG_PASSWORD);
    const shown = await session.send({ method: 'GET', path: '/console/api/session' });
    expect(shown.status).toBe(200);
    expect(shown.body.user.id).toBe(user.id);
    expect(shown.body.csrf_token).toBe(session.csrf);

    const created = await session.post('/keys', { name: 'made in the console', scopes: ['devices:read'] });
    expect(created.status).toBe(201);
    expect(created.body.key.created_by).toBeDefined();
    const listed = await session.get('/keys');
    expect(listed.status).toBe(200);
    expect(listed.body.data.map((k: { client_id: string }) => k.client_id)).toContain(created.body.key.client_id);

    const [event] = (await keygate.runtime.audit.list({ targetKeyId: created.body.key.client_id })).filter((e) => e.action === 'key.create');
    expect(event).toMatchObject({ actor_key_id: null, actor_user_id: user.id, details: expect.objectContaining({ via: 'console' }) });
    expect((await keygate.runtime.users.findById(user.id))!.last_sign_in_at).toBeInstanceOf(Date);
  });

  it('a change without the CSRF token, or from another origin, is refused', async () => {
    const { session } = await signedInUser(keygate, tenantId, 'admin');
    const noCsrf = await session.send({ path: '/admin/v1/keys', json: { name: 'forged', scopes: ['devices:read'] }, csrf: null });
    expect(noCsrf.status).toBe(403);
    expect(noCsrf.body.error.code).toBe('forbidden');
    const wrongCsrf = await session.send({ path: '/admin/v1/keys', json: { name: 'forged', scopes: ['devices:read'] }, csrf: 'x'.repeat(43) });
    expect(wrongCsrf.status).toBe(403);
    const otherOrigin = await session.send({ path: '/admin/v1/keys', json: { name: 'forged', scopes: ['devices:read'] }, origin: 'https://evil.example' });
    expect(otherOrigin.status).toBe(403);
    const signOutNoCsrf = await session.send({ method: 'DELETE', path: '/console/api/session', csrf: null });
    expect(signOutNoCsrf.status).toBe(403);
    expect((await session.get('/keys')).status).toBe(200);
  });

  it('sign-out ends the session and clears the cookie', async () => {
    const { session } = await signedInUser(keygate, tenantId, 'viewer');
    const out = await session.send({ method: 'DELETE', path: '/console/api/session' });
    expect(out.status).toBe(204);
    expect(sessionCookieOf(out)).toBe('');
    expect((await session.get('/keys')).status).toBe(401);
    expect((await session.send({ method: 'GET', path: '/console/api/session' })).status).toBe(401);
  });
});
