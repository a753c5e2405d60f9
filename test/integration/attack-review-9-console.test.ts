// Attacker's review 9 of the console (sessions, CSRF, headers, two-factor, switching). Each test
// asserts the SECURE behaviour: a failing test here is a hole.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ALL_KEYGATE_SCOPES } from '../support/admin.ts';
import { STRONG_PASSWORD, sessionCookieOf, sessionFrom, setPassword, setupTokenFor, signIn, signedInUser, signInRequest, tokenOf } from '../support/console.ts';
import { codeOf, enrol } from '../support/two-factor.ts';
import { ISSUER, startKeygate, type TestKeygate } from '../support/keygate.ts';
import { awayFromWindowEdge } from '../support/windows.ts';

const ATTACKER_PASSWORD = 'copper-lantern-orchard-93';

describe('attack review 9: console', () => {
  let keygate: TestKeygate;
  let tenantId: string;

  beforeAll(async () => {
    keygate = await startKeygate({ tokenStore: 'redis' });
    tenantId = await keygate.newTenant();
  });
  afterAll(() => keygate?.close());

  it("F1: a set-up link minted by a key keeps working after the key stops (its creating admin disabled): the key's holder takes over the invitee", async () => {
    const root = await keygate.newTenant();
    const boss = await signedInUser(keygate, root, 'admin');
    const creator = await signedInUser(keygate, root, 'admin');
    // The soon-to-leave admin makes an automation key that may manage people …
    const made = await creator.session.post('/keys', { name: 'automation', scopes: ALL_KEYGATE_SCOPES });
    expect(made.status).toBe(201);
    const token = (await keygate.token(made.body)).body.access_token as string;
    const call = (path: string, json: unknown = {}) =>
      keygate.send({ method: 'POST', path: `/admin/v1${path}`, headers: { authorization: `Bearer ${token}` }, json });
    // … invites a new admin with it and keeps the link.
    const invited = await call('/users', { email: `f1-${Date.now()}@example.test`, role: 'admin' });
    expect(invited.status).toBe(201);
    const link = await call(`/users/${invited.body.user.id}/setup-link`);
    expect(link.status).toBe(201);
    // The admin is disabled: the key they made stops at once (owner chain) …
    expect((await boss.session.post(`/users/${creator.user.id}/disable`)).status).toBe(200);
    expect((await keygate.token(made.body)).status).not.toBe(200);
    // … but the link it minted still sets the invitee's password and opens an admin session.
    const set = (await setPassword(keygate, tokenOf(link.body.setup_link.url), ATTACKER_PASSWORD)).status;
    const signIn = (await signInRequest(keygate, invited.body.user.email, ATTACKER_PASSWORD)).status;
    expect({ set, signIn }).toEqual({ set: 400, signIn: 401 });
  });

  it('F1b: a set-up link minted by a key keeps working after the key lost the scope to mint it (admin:users:write taken away)', async () => {
    const root = await keygate.newTenant();
    const boss = await signedInUser(keygate, root, 'admin');
    const made = await boss.session.post('/keys', { name: 'automation', scopes: ALL_KEYGATE_SCOPES });
    expect(made.status).toBe(201);
    const token = (await keygate.token(made.body)).body.access_token as string;
    const call = (path: string, json: unknown = {}) =>
      keygate.send({ method: 'POST', path: `/admin/v1${path}`, headers: { authorization: `Bearer ${token}` }, json });
    const invited = await call('/users', { email: `f1b-${Date.now()}@example.test`, role: 'admin' });
    const link = await call(`/users/${invited.body.user.id}/setup-link`);
    expect(link.status).toBe(201);
    // The key is found to be leaked: its people powers are taken away (it could mint no link now).
    const narrowed = await boss.session.patch(`/keys/${made.body.key.client_id}`, { scopes: ['admin:keys:read'] });
    expect(narrowed.status).toBe(200);
    const fresh = (await keygate.token(made.body)).body.access_token as string;
    const again = await keygate.send({
      method: 'POST',
      path: `/admin/v1/users/${invited.body.user.id}/setup-link`,
      headers: { authorization: `Bearer ${fresh}` },
      json: {},
    });
    expect(again.status).toBe(403);
    // The link minted before still takes over the invited admin.
    const set = (await setPassword(keygate, tokenOf(link.body.setup_link.url), ATTACKER_PASSWORD)).status;
    const signIn = (await signInRequest(keygate, invited.body.user.email, ATTACKER_PASSWORD)).status;
    expect({ set, signIn }).toEqual({ set: 400, signIn: 401 });
  });

  it("F2: turning two-factor on leaves a session opened with the password alone (a thief's) signed in", async () => {
    await awayFromWindowEdge(30, 5);
    const { user, session: owner } = await signedInUser(keygate, tenantId, 'admin');
    const thief = await signIn(keygate, user.email, STRONG_PASSWORD);
    expect((await thief.get('/keys')).status).toBe(200);
    await enrol(owner);
    // From now on the password alone opens nothing …
    expect((await signInRequest(keygate, user.email, STRONG_PASSWORD)).status).toBe(202);
    // … yet the session opened with the password alone keeps full admin power.
    expect((await thief.get('/keys')).status).toBe(401);
  });

  it("F3: /admin/v1 answers read with the session cookie (a new key's secret) carry none of the console API's protective headers", async () => {
    const { session } = await signedInUser(keygate, tenantId, 'admin');
    const created = await session.post('/keys', { name: 'f3', scopes: ['admin:keys:read'] });
    expect(created.status).toBe(201);
    expect(created.body.client_secret).toBeTruthy();
    expect(created.headers['cache-control']).toBe('no-store');
    expect({
      nosniff: created.headers['x-content-type-options'],
      referrer: created.headers['referrer-policy'],
      csp: created.headers['content-security-policy'],
    }).toEqual({ nosniff: 'nosniff', referrer: 'no-referrer', csp: "default-src 'none'; frame-ancestors 'none'" });
  });

  it('F4: a sign-in waiting for its second factor survives the password being set again and every session being ended', async () => {
    await awayFromWindowEdge(30, 5);
    const { user, session: owner } = await signedInUser(keygate, tenantId, 'admin');
    const { secret } = await enrol(owner);
    // The attacker has the (old) password: a challenge.
    const half = await signInRequest(keygate, user.email, STRONG_PASSWORD);
    expect(half.status).toBe(202);
    const challenge = /keygate_sign_in_challenge=([^;]*)/.exec((half.headers['set-cookie'] ?? []).join('\n'))![1]!;
    // The owner notices: the operator sets a new password (ends every session), an admin ends them all.
    await setPassword(keygate, await setupTokenFor(keygate, user), 'brand-new-password-after-leak-5');
    const { session: boss } = await signedInUser(keygate, tenantId, 'admin');
    expect((await boss.delete(`/users/${user.id}/sessions`)).status).toBe(200);
    // The old password's challenge still opens a session with the next code.
    const done = await keygate.send({
      path: '/console/api/session/two-factor',
      headers: { origin: ISSUER, cookie: `keygate_sign_in_challenge=${challenge}` },
      json: { code: codeOf(secret, 1) },
    });
    expect(done.status).toBe(401);
  });

  it('F5: changing the password keeps the very same session id: a copied cookie of this session stays valid', async () => {
    const { session } = await signedInUser(keygate, tenantId, 'admin');
    const copy = sessionFrom(keygate, session.cookie, session.csrf);
    const changed = await session.send({
      path: '/console/api/account/password',
      json: { current_password: STRONG_PASSWORD, new_password: 'another-strong-password-42' },
    });
    expect(changed.status).toBe(200);
    // A new session id for the browser that made the change; the old value worth nothing.
    expect(sessionCookieOf(changed)).toBeTruthy();
    expect((await copy.get('/keys')).status).toBe(401);
  });
});

describe('attack review 9: console, what held', () => {
  let keygate: TestKeygate;
  let tenantId: string;
  beforeAll(async () => {
    keygate = await startKeygate({ tokenStore: 'redis' });
    tenantId = await keygate.newTenant();
  });
  afterAll(() => keygate?.close());

  it('held: CSRF and content-type tricks with the cookie change nothing', async () => {
    const { user, session } = await signedInUser(keygate, tenantId, 'admin');
    const cookie = `keygate_session=${session.cookie}`;
    const send = (path: string, headers: Record<string, string>, body?: string, method = 'POST') =>
      keygate.send({ method: method as 'POST', path, headers: { cookie, ...headers }, raw: body });
    const answers = {
      // A cross-site form (text/plain, urlencoded) with the cookie and no token.
      formText: (await send('/admin/v1/keys', { 'content-type': 'text/plain', origin: 'https://evil.example' }, '{"name":"x","scopes":["admin:keys:read"]}'))
        .status,
      formUrl: (await send('/admin/v1/keys', { 'content-type': 'application/x-www-form-urlencoded' }, 'name=x')).status,
      bodylessNoToken: (await send(`/admin/v1/users/${user.id}/disable`, {})).status,
      nullOrigin: (await send('/console/api/session', { origin: 'null', 'x-csrf-token': session.csrf }, undefined, 'DELETE')).status,
      signInTextPlain: (
        await keygate.send({
          path: '/console/api/session',
          headers: { origin: ISSUER, 'content-type': 'text/plain' },
          raw: JSON.stringify({ email: user.email, password: STRONG_PASSWORD }),
        })
      ).status,
      signInOtherOrigin: (
        await keygate.send({
          path: '/console/api/session',
          headers: { origin: 'https://evil.example' },
          json: { email: user.email, password: STRONG_PASSWORD },
        })
      ).status,
      switchNoToken: (await session.send({ method: 'PUT', path: '/console/api/session/account', json: { tenant_id: null }, csrf: null })).status,
      madeUpCookie: (await keygate.send({ method: 'GET', path: '/admin/v1/keys', headers: { cookie: `keygate_session=${'A'.repeat(43)}` } })).status,
    };
    expect(answers).toEqual({
      formText: 403,
      formUrl: 403,
      bodylessNoToken: 403,
      nullOrigin: 403,
      signInTextPlain: 415,
      signInOtherOrigin: 403,
      switchNoToken: 403,
      madeUpCookie: 401,
    });
    expect((await session.get('/keys')).status).toBe(200);
  });

  it('held: hostile sign-in, set-up and switch input is never a 5xx', async () => {
    const { session } = await signedInUser(keygate, tenantId, 'admin');
    const statuses: number[] = [];
    for (const email of ['a\u0000b@example.test', '\ud800@example.test', 'x'.repeat(320), 'İ@example.test', ' ']) {
      statuses.push((await signInRequest(keygate, email, 'p\u0000assword-long-enough')).status);
    }
    statuses.push((await setPassword(keygate, 'tok\u0000en', 'whatever-long-password-1')).status);
    for (const id of ['\u0000', '00000000-0000-0000-0000-000000000000', 'ZZZZZZZZ-0000-0000-0000-000000000000']) {
      statuses.push((await session.send({ method: 'PUT', path: '/console/api/session/account', json: { tenant_id: id } })).status);
    }
    statuses.push(
      (await session.send({ path: '/console/api/session/two-factor', json: { code: '\u0000' }, headers: { cookie: 'keygate_sign_in_challenge=%00' } })).status,
    );
    expect(statuses.filter((s) => s >= 500)).toEqual([]);
  });
});

describe('attack review 9: console, a child that requires two-factor', () => {
  let keygate: TestKeygate;
  beforeAll(async () => {
    keygate = await startKeygate({ tokenStore: 'redis' });
  });
  afterAll(() => keygate?.close());

  it('F8: a parent admin without two-factor, refused when switched into a strict child, does the same from home with tenant_id', async () => {
    const root = await keygate.newTenant();
    const parentAdmin = await signedInUser(keygate, root, 'admin');
    const child = (await parentAdmin.session.post('/tenants', { name: 'strict child', require_two_factor: true })).body.tenant.id as string;
    // The requirement binds whoever can act on the child: the parent's admin too, from home, by
    // naming the child or through a key or webhook made at home (attack review 10).
    const home = await signIn(keygate, parentAdmin.user.email, STRONG_PASSWORD);
    const refused = [
      await home.get('/keys'),
      await home.post('/keys', { name: 'in the strict child', scopes: ['admin:users:write'], tenant_id: child }),
      await home.post('/keys', { name: 'at home, reaching the child', scopes: ['admin:keys:write'] }),
      await home.get(`/users?tenant_id=${child}`),
      await home.post('/webhooks', { url: 'https://hooks.example.test/keygate', event_types: ['key.created'] }),
    ];
    expect(refused.map((r) => r.body.error?.code)).toEqual(Array(5).fill('two_factor_enrolment_required'));
    // Once the admin has two-factor, the child is theirs to work in again.
    await enrol(home);
    const after = await home.post('/keys', { name: 'in the strict child', scopes: ['admin:users:write'], tenant_id: child });
    expect(after.status).toBe(201);
  });
});

describe('attack review 9: console, with real sign-in limits', () => {
  let keygate: TestKeygate;
  let tenantId: string;

  beforeAll(async () => {
    keygate = await startKeygate({ tokenStore: 'redis', signInFailuresPerAccount: 3, signInFailuresPerSource: 1000 });
    tenantId = await keygate.newTenant();
  });
  afterAll(() => keygate?.close());

  it('F6: a stolen session guesses the current password in a parallel burst on My account: every guess is judged, past the per-account limit', async () => {
    const { session: stolen } = await signedInUser(keygate, tenantId, 'admin');
    const guesses = Array.from({ length: 24 }, (_, i) => `wrong-guess-number-${i}-xyz`);
    // The real password rides last in the burst (a dictionary that happens to hold it).
    guesses.push(STRONG_PASSWORD);
    const answers = await Promise.all(
      guesses.map((current) => stolen.send({ path: '/console/api/account/password', json: { current_password: current, new_password: ATTACKER_PASSWORD } })),
    );
    const judged = answers.filter((a) => a.status === 400 && a.body.error?.details?.some((d: { field: string }) => d.field === 'current_password')).length;
    const taken = answers.some((a) => a.status === 200);
    // The sign-in itself checks one password at a time per (email, source), so a burst is judged
    // no more often than the limit: the same must hold for a stolen session on My account.
    expect({ judgedAtMost3: judged <= 3, passwordTaken: taken }).toEqual({ judgedAtMost3: true, passwordTaken: false });
  });
});

describe('attack review 9: console, the session cookie over https (F9)', () => {
  const HTTPS_ISSUER = 'https://keygate.test';
  let keygate: TestKeygate;
  beforeAll(async () => {
    keygate = await startKeygate({ tokenStore: 'redis', env: { KEYGATE_ISSUER: HTTPS_ISSUER } });
  });
  afterAll(() => keygate?.close());

  const whoAmI = (cookie: string) => keygate.send({ method: 'GET', path: '/console/api/session', headers: { origin: HTTPS_ISSUER, cookie } });

  it('the cookie is __Host- prefixed, so a sibling subdomain cannot plant one; the plain name and a doubled cookie sign nobody in', async () => {
    const tenant = await keygate.newTenant();
    const user = await keygate.newUser(tenant, 'admin');
    const json = { headers: { origin: HTTPS_ISSUER } };
    expect(
      (await keygate.send({ ...json, path: '/console/api/setup', json: { token: await setupTokenFor(keygate, user), password: STRONG_PASSWORD } })).status,
    ).toBe(200);
    const signedIn = await keygate.send({ ...json, path: '/console/api/session', json: { email: user.email, password: STRONG_PASSWORD } });
    expect(signedIn.status).toBe(200);
    const setCookie = signedIn.headers['set-cookie']!.join('\n');
    expect(setCookie).toMatch(/^__Host-keygate_session=[A-Za-z0-9_-]{43}; Path=\/; HttpOnly; SameSite=Strict; Secure$/);
    const id = /^__Host-keygate_session=([^;]+)/.exec(setCookie)![1]!;
    expect((await whoAmI(`__Host-keygate_session=${id}`)).status).toBe(200);
    // What a page of evil.keygate.test can set (Domain=keygate.test): the unprefixed name is not read.
    expect((await whoAmI(`keygate_session=${id}`)).status).toBe(401);
    // Two cookies of the name: which one is Keygate's cannot be told, so neither counts.
    expect((await whoAmI(`__Host-keygate_session=${id}; __Host-keygate_session=${id}`)).status).toBe(401);
  });
});
