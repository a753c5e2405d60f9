// People in the console over real HTTP: inviting someone with a set-up link, what a change to a
// user would do to keys (asked before it is made), a person's console sessions (listed with an
// opaque handle, ended one by one or all at once, by themselves or by whoever may manage them),
// My account (name, password), and the per-person user-key limit, in parallel too. Every refusal
// is the request an attacker would send.
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { hashToken } from '../../src/crypto/token-hash.ts';
import {
  STRONG_PASSWORD,
  sessionCookieOf,
  sessionFrom,
  setPassword,
  setupTokenFor,
  signIn,
  signedInUser,
  tokenOf,
  type ConsoleSession,
} from '../support/console.ts';
import { startKeygate, type TestKeygate } from '../support/keygate.ts';

const NEW_PASSWORD = 'quartz-meadow-lantern-42';
const whoAmI = (session: ConsoleSession) => session.send({ method: 'GET', path: '/console/api/session' });
const account = (session: ConsoleSession, path: string, method: 'GET' | 'POST' | 'DELETE', json?: unknown) =>
  session.send({ method, path: `/console/api/account${path}`, ...(json === undefined ? {} : { json }) });

describe('people: users, sessions, my account, key limit', () => {
  let keygate: TestKeygate;
  let tenantId: string;
  let admin: { user: { id: string; email: string }; session: ConsoleSession };

  beforeAll(async () => {
    keygate = await startKeygate({ tokenStore: 'redis' });
    tenantId = await keygate.newTenant();
    admin = await signedInUser(keygate, tenantId, 'admin');
  });
  afterAll(() => keygate?.close());

  it('invite: an admin creates a user and a set-up link; the token rides in the fragment, works once, and the user signs in', async () => {
    const created = await admin.session.post('/users', { email: 'newcomer@example.test', name: 'New Comer', role: 'member' });
    expect(created.status).toBe(201);
    expect(created.body.user).toMatchObject({ has_password: false, last_sign_in_at: null });
    const link = await admin.session.post(`/users/${created.body.user.id}/setup-link`);
    expect(link.status).toBe(201);
    expect(link.body.setup_link.url).toMatch(/^http:\/\/keygate\.test\/console\/setup#token=[A-Za-z0-9_-]{43}$/);
    const token = tokenOf(link.body.setup_link.url);
    expect((await setPassword(keygate, token, STRONG_PASSWORD)).status).toBe(200);
    expect((await setPassword(keygate, token, STRONG_PASSWORD)).status).toBe(400);
    const session = await signIn(keygate, 'newcomer@example.test', STRONG_PASSWORD);
    expect((await whoAmI(session)).body.user.email).toBe('newcomer@example.test');

    const listed = (await admin.session.get(`/users?tenant_id=${tenantId}`)).body.data.find((u: { id: string }) => u.id === created.body.user.id);
    expect(listed).toMatchObject({ has_password: true, key_count: 0, last_sign_in_at: expect.any(String) });
    // The token is in no audit record.
    const audit = await keygate.runtime.db.selectFrom('audit_events').select('details').where('action', '=', 'user.invite').execute();
    expect(JSON.stringify(audit)).not.toContain(token);
  });

  it('a manager may not touch users; a member may not list them; another tenant’s user is 404', async () => {
    const target = await signedInUser(keygate, tenantId, 'admin');
    const manager = await signedInUser(keygate, tenantId, 'manager');
    const member = await signedInUser(keygate, tenantId, 'member');
    const someone = await keygate.newUser(tenantId, 'viewer');
    expect((await manager.session.patch(`/users/${someone.id}`, { role: 'admin' })).status).toBe(403);
    expect((await manager.session.delete(`/users/${target.user.id}/sessions`)).status).toBe(403);
    expect((await manager.session.post(`/users/${target.user.id}/setup-link`)).status).toBe(403);
    expect((await member.session.get('/users')).status).toBe(403);
    expect((await member.session.get(`/users/${someone.id}/sessions`)).status).toBe(403);
    expect((await member.session.get(`/users/${someone.id}/impact`)).status).toBe(403);
    // The admin's session survived every attempt.
    expect((await whoAmI(target.session)).status).toBe(200);

    const otherTenant = await keygate.newTenant();
    const stranger = await signedInUser(keygate, otherTenant, 'viewer');
    for (const response of [
      await admin.session.get(`/users/${stranger.user.id}/impact`),
      await admin.session.get(`/users/${stranger.user.id}/sessions`),
      await admin.session.delete(`/users/${stranger.user.id}/sessions`),
      await admin.session.post(`/users/${stranger.user.id}/setup-link`),
    ]) {
      expect(response.status).toBe(404);
      expect(response.body.error.code).toBe('not_found');
    }
    expect((await whoAmI(stranger.session)).status).toBe(200);
  });

  it('impact: the server says which user keys a demotion narrows and which keys it stops; the next token has the smaller scopes', async () => {
    const { user, session } = await signedInUser(keygate, tenantId, 'manager');
    const own = (await session.post('/keys', { name: 'laptop', kind: 'user', user_id: user.id, scopes: ['devices:read', 'devices:write'] })).body;
    const service = (await session.post('/keys', { name: 'made by the manager', kind: 'service', scopes: ['devices:read'] })).body;
    expect((await keygate.token(own)).body.scope.split(' ').sort()).toEqual(['devices:read', 'devices:write']);

    const impact = await admin.session.get(`/users/${user.id}/impact?role=viewer`);
    expect(impact.status).toBe(200);
    expect(impact.body.impact).toEqual({
      user_keys: [{ client_id: own.key.client_id, name: 'laptop' }],
      delete: {
        deleted_keys: [{ client_id: own.key.client_id, name: 'laptop' }],
        stopped_keys: [{ client_id: service.key.client_id, name: 'made by the manager' }],
      },
      disable: {
        stopped_keys: expect.arrayContaining([
          { client_id: own.key.client_id, name: 'laptop' },
          { client_id: service.key.client_id, name: 'made by the manager' },
        ]),
      },
      role_change: {
        role: 'viewer',
        narrowed_keys: [{ client_id: own.key.client_id, name: 'laptop', scopes_lost: ['devices:write'] }],
        stopped_keys: [{ client_id: service.key.client_id, name: 'made by the manager' }],
      },
    });
    expect((await admin.session.patch(`/users/${user.id}`, { role: 'viewer' })).status).toBe(200);
    expect((await keygate.token(own)).body.scope).toBe('devices:read');
    expect((await keygate.token(service)).status).toBe(401);
    // And the demoted person's very next request through their session is refused.
    expect((await session.post('/keys', { name: 'another', kind: 'user', scopes: ['devices:read'] })).status).toBe(403);
  });

  it('sessions: listed with an opaque handle and their origin; one ends by handle; the handle is no cookie', async () => {
    const { user, session: first } = await signedInUser(keygate, tenantId, 'member');
    const second = await signInFrom(user.email, 'Second Browser/1.0');
    const listed = await account(second, '/sessions', 'GET');
    expect(listed.status).toBe(200);
    expect(listed.body.data).toHaveLength(2);
    const current = listed.body.data.find((s: { current: boolean }) => s.current);
    expect(current).toMatchObject({
      user_agent: 'Second Browser/1.0',
      ip: expect.any(String),
      created_at: expect.any(String),
      last_seen_at: expect.any(String),
    });
    const text = JSON.stringify(listed.body);
    for (const secret of [first.cookie, second.cookie, hashToken(first.cookie), hashToken(second.cookie), first.csrf, second.csrf])
      expect(text).not.toContain(secret);

    const other = listed.body.data.find((s: { current: boolean }) => !s.current);
    // The handle as a cookie signs nobody in.
    expect((await sessionFrom(keygate, other.handle, 'x').send({ method: 'GET', path: '/console/api/session' })).status).toBe(401);
    expect((await account(second, `/sessions?handle=${other.handle}`, 'DELETE')).body).toEqual({ ended: 1 });
    expect((await whoAmI(first)).status).toBe(401);
    expect((await whoAmI(second)).status).toBe(200);
    expect((await account(second, `/sessions?handle=${other.handle}`, 'DELETE')).status).toBe(404);
    expect((await account(second, '/sessions?handle=../../x', 'DELETE')).status).toBe(400);
  });

  it('a person with a password gets no set-up link from the API; the operator’s link ends the old sessions, and they leave the list', async () => {
    const { user, session } = await signedInUser(keygate, tenantId, 'viewer');
    const refused = await admin.session.post(`/users/${user.id}/setup-link`);
    expect(refused.status).toBe(409);
    expect(refused.body.error.code).toBe('conflict');
    // What `keygate users invite` does for an existing person: the operator's break-glass reset.
    const link = (await keygate.runtime.setupLinkService.issue(user, { keyId: null, userId: null, via: 'cli' })).url;
    expect((await admin.session.get(`/users/${user.id}/sessions`)).body.data).toHaveLength(1);
    expect((await setPassword(keygate, tokenOf(link), NEW_PASSWORD)).status).toBe(200);
    expect((await admin.session.get(`/users/${user.id}/sessions`)).body.data).toEqual([]);
    expect((await whoAmI(session)).status).toBe(401);
  });

  it('an admin lists a user’s sessions and ends them all', async () => {
    const { user, session } = await signedInUser(keygate, tenantId, 'viewer');
    const listed = await admin.session.get(`/users/${user.id}/sessions`);
    expect(listed.body.data).toEqual([expect.objectContaining({ current: false })]);
    expect((await admin.session.delete(`/users/${user.id}/sessions`)).body).toEqual({ ended: 1 });
    expect((await whoAmI(session)).status).toBe(401);
    expect((await admin.session.get(`/users/${user.id}/sessions`)).body.data).toEqual([]);
    const ended = await keygate.runtime.db.selectFrom('audit_events').select(['details', 'actor_user_id']).where('action', '=', 'session.end').execute();
    expect(ended).toContainEqual({ actor_user_id: admin.user.id, details: { via: 'console', user_id: user.id, sessions_ended: 1 } });
  });

  it('change password: needs the current one, ends the other sessions and keeps this one under a new cookie', async () => {
    const { user, session } = await signedInUser(keygate, tenantId, 'member');
    const other = await signIn(keygate, user.email, STRONG_PASSWORD);
    const wrong = await account(session, '/password', 'POST', { current_password: 'not-the-password-1', new_password: NEW_PASSWORD });
    expect(wrong.status).toBe(400);
    expect(wrong.body.error.details).toEqual([{ field: 'current_password', message: 'is not your current password' }]);
    const weak = await account(session, '/password', 'POST', { current_password: STRONG_PASSWORD, new_password: 'short' });
    expect(weak.body.error.details).toEqual([{ field: 'new_password', message: 'must be at least 12 characters' }]);
    const changed = await account(session, '/password', 'POST', { current_password: STRONG_PASSWORD, new_password: NEW_PASSWORD });
    expect(changed.body).toEqual({ other_sessions_ended: 1 });
    // The same CSRF token goes on with the new cookie (the browser's other tabs hold it).
    const continued = sessionFrom(keygate, sessionCookieOf(changed)!, session.csrf);
    expect(sessionCookieOf(changed)).not.toBe(session.cookie);
    expect((await whoAmI(other)).status).toBe(401);
    // The old cookie of this very session is worth nothing now: a copy of it would be too.
    expect((await whoAmI(session)).status).toBe(401);
    expect((await whoAmI(continued)).status).toBe(200);
    expect((await account(continued, '/sessions', 'GET')).body.data).toHaveLength(1);
    expect((await continued.send({ path: '/console/api/account', json: { name: 'Renamed after the change' } })).status).toBe(200);
    await expect(signIn(keygate, user.email, STRONG_PASSWORD)).rejects.toThrow(/sign-in refused/);
    expect((await whoAmI(await signIn(keygate, user.email, NEW_PASSWORD))).status).toBe(200);
    const audit = await keygate.runtime.db.selectFrom('audit_events').select('details').where('action', '=', 'user.change_password').execute();
    expect(JSON.stringify(audit)).not.toContain(NEW_PASSWORD);
  });

  it('my account: a person renames themselves, and without CSRF token nothing changes', async () => {
    const { session } = await signedInUser(keygate, tenantId, 'viewer');
    expect((await session.send({ method: 'POST', path: '/console/api/account', json: { name: 'Evil' }, csrf: null })).status).toBe(403);
    const renamed = await account(session, '', 'POST', { name: 'Vera Viewer' });
    expect(renamed.body.user.name).toBe('Vera Viewer');
    expect((await whoAmI(session)).body.user.name).toBe('Vera Viewer');
  });

  it('a member creates their own user keys up to the limit: the 21st is refused with limit_reached', async () => {
    const { session } = await signedInUser(keygate, tenantId, 'member');
    for (let i = 0; i < 20; i++) expect((await session.post('/keys', { name: `k${i}`, kind: 'user', scopes: ['devices:read'] })).status).toBe(201);
    const refused = await session.post('/keys', { name: 'k20', kind: 'user', scopes: ['devices:read'] });
    expect(refused.status).toBe(409);
    expect(refused.body.error).toMatchObject({ code: 'limit_reached', message: 'a person may hold at most 20 user keys: delete one to make room' });
  });

  it('the Redis index of a user’s sessions sheds expired and ended entries', async () => {
    const { user, session } = await signedInUser(keygate, tenantId, 'viewer');
    const redis = new Redis(inject('redisUrl'));
    try {
      const second = await signIn(keygate, user.email, STRONG_PASSWORD);
      expect(await redis.zcard(`kg:su:${user.id}`)).toBe(2);
      await second.send({ method: 'DELETE', path: '/console/api/session' });
      expect(await redis.zcard(`kg:su:${user.id}`)).toBe(1);
      // An entry whose session is gone by expiry (simulated: its score in the past) goes at the next write.
      await redis.zadd(`kg:su:${user.id}`, 1, 'stale-entry');
      expect((await whoAmI(session)).status).toBe(200);
      expect(await redis.zrange(`kg:su:${user.id}`, 0, -1)).toEqual([hashToken(session.cookie)]);
      expect(await redis.pttl(`kg:su:${user.id}`)).toBeGreaterThan(0);
    } finally {
      redis.disconnect();
    }
  });

  async function signInFrom(email: string, userAgent: string): Promise<ConsoleSession> {
    const response = await keygate.send({
      path: '/console/api/session',
      headers: { origin: 'http://keygate.test', 'user-agent': userAgent },
      json: { email, password: STRONG_PASSWORD },
    });
    const cookie = /^keygate_session=([^;]*)/.exec(response.headers['set-cookie']![0]!)![1]!;
    return sessionFrom(keygate, cookie, response.body.csrf_token);
  }
});

describe('people under other settings', () => {
  let keygate: TestKeygate;
  let tenantId: string;
  let people = 0;

  /** Like signedInUser, with emails of its own: this suite's server shares the database with the one above. */
  async function signedInUser(_keygate: TestKeygate, tenant: string, role: 'admin' | 'manager' | 'member' | 'viewer') {
    people += 1;
    const user = (await keygate.runtime.users.insert({ tenantId: tenant, email: `other-settings-${people}-${process.pid}@example.test`, role }))!;
    expect((await setPassword(keygate, await setupTokenFor(keygate, user), STRONG_PASSWORD)).status).toBe(200);
    return { user, session: await signIn(keygate, user.email, STRONG_PASSWORD) };
  }

  beforeAll(async () => {
    keygate = await startKeygate({
      tokenStore: 'memory',
      signInFailuresPerAccount: 3,
      env: {
        KEYGATE_MAX_KEYS_PER_USER: '3',
        // Managers may manage people here: still never one stronger than themselves.
        KEYGATE_ROLE_SCOPES: JSON.stringify({ manager: ['*', '!admin:tenants:write'] }),
      },
    });
    tenantId = await keygate.newTenant();
  });
  afterAll(() => keygate?.close());

  it('six parallel creates against a limit of 3 make exactly three keys; the rest get limit_reached', async () => {
    const { session } = await signedInUser(keygate, tenantId, 'member');
    const responses = await Promise.all(Array.from({ length: 6 }, (_, i) => session.post('/keys', { name: `p${i}`, kind: 'user', scopes: ['devices:read'] })));
    expect(responses.filter((r) => r.status === 201)).toHaveLength(3);
    for (const refused of responses.filter((r) => r.status !== 201)) {
      expect(refused.status).toBe(409);
      expect(refused.body.error.code).toBe('limit_reached');
    }
    expect((await session.get('/keys?limit=200')).body.data).toHaveLength(3);
  });

  it('a manager who may manage people still may not promote anyone to admin, end an admin’s sessions or issue an admin’s set-up link', async () => {
    const manager = await signedInUser(keygate, tenantId, 'manager');
    const target = await signedInUser(keygate, tenantId, 'admin');
    const viewer = (await signedInUser(keygate, tenantId, 'viewer')).user;
    expect((await manager.session.patch(`/users/${viewer.id}`, { role: 'member' })).status).toBe(200);
    const promote = await manager.session.patch(`/users/${viewer.id}`, { role: 'admin' });
    expect(promote.status).toBe(403);
    expect(promote.body.error.message).toMatch(/^the 'admin' role holds scopes this caller lacks/);
    expect((await manager.session.delete(`/users/${target.user.id}/sessions`)).status).toBe(403);
    // Where an admin signs in is not the manager's to read either; their handle comes from the admin's own list.
    expect((await manager.session.get(`/users/${target.user.id}/sessions`)).status).toBe(403);
    expect((await manager.session.get(`/users/${target.user.id}/impact`)).status).toBe(403);
    const handle = (await target.session.send({ method: 'GET', path: '/console/api/account/sessions' })).body.data[0].handle;
    expect((await manager.session.delete(`/users/${target.user.id}/sessions/${handle}`)).status).toBe(403);
    expect((await manager.session.post(`/users/${target.user.id}/setup-link`)).status).toBe(403);
    expect((await whoAmI(target.session)).status).toBe(200);
    // The memory store lists and ends sessions as Redis does.
    expect((await manager.session.delete(`/users/${viewer.id}/sessions`)).body).toEqual({ ended: 1 });
  });

  it('wrong current passwords count as failed sign-ins: past the limit even the right one waits', async () => {
    const { session } = await signedInUser(keygate, tenantId, 'member');
    const change = (current: string) =>
      session.send({ method: 'POST', path: '/console/api/account/password', json: { current_password: current, new_password: NEW_PASSWORD } });
    for (let i = 0; i < 3; i++) expect((await change(`wrong guess number ${i}`)).status).toBe(400);
    const locked = await change(STRONG_PASSWORD);
    expect(locked.status).toBe(429);
    expect(locked.body.error.code).toBe('rate_limited');
    expect(locked.headers['retry-after']).toMatch(/^\d+$/);
    expect((await whoAmI(session)).status).toBe(200);
  });
});
