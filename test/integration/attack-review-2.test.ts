// Attacker's review 2 of the new console features, over real HTTP. Each test asserts the SECURE
// behaviour: a failing test here is a hole (see the report for the request sequence and the code).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { adminClient, ALL_KEYGATE_SCOPES, type AdminClient } from '../support/admin.ts';
import { STRONG_PASSWORD, sessionCookieOf, sessionFrom, setPassword, signedInUser, signInRequest, tokenOf } from '../support/console.ts';
import { enrol } from '../support/two-factor.ts';
import { basicAuth } from '../support/http.ts';
import { startKeygate, type TestKeygate } from '../support/keygate.ts';
import { awayFromWindowEdge } from '../support/windows.ts';

const ATTACKER_PASSWORD = 'copper-lantern-orchard-93';

describe('attack review 2', () => {
  let keygate: TestKeygate;
  let tenantId: string;

  beforeAll(async () => {
    keygate = await startKeygate({ tokenStore: 'redis' });
    tenantId = await keygate.newTenant();
  });
  afterAll(() => keygate?.close());

  it('H1: a stolen admin session turns its own two-factor off through the admin reset route, with no code', async () => {
    await awayFromWindowEdge(30, 5);
    const { user, session } = await signedInUser(keygate, tenantId, 'admin');
    await enrol(session);
    // The console's own route refuses without a code …
    expect((await session.send({ path: '/console/api/two-factor/disable', json: { code: '000000' } })).status).toBe(400);
    // … the admin route for "a lost phone" does not ask for one when the target is the caller.
    const reset = await session.post(`/users/${user.id}/two-factor/reset`);
    expect(reset.status).toBe(403);
    // Secure: the password alone still opens no session.
    expect((await signInRequest(keygate, user.email, STRONG_PASSWORD)).status).toBe(202);
  });

  it('H6: a stolen admin session (no password, no code) turns into the account itself: own 2FA reset, own set-up link, new password', async () => {
    await awayFromWindowEdge(30, 5);
    const { user, session: stolen } = await signedInUser(keygate, tenantId, 'admin');
    await enrol(stolen);
    // Changing the password the console's way needs the current one …
    const viaAccount = await stolen.send({
      path: '/console/api/account/password',
      json: { current_password: 'guess-guess-guess-1', new_password: ATTACKER_PASSWORD },
    });
    expect(viaAccount.status).toBe(400);
    // … a set-up link for oneself does not.
    const reset = await stolen.post(`/users/${user.id}/two-factor/reset`);
    const link = await stolen.post(`/users/${user.id}/setup-link`);
    const set = link.status === 201 ? (await setPassword(keygate, tokenOf(link.body.setup_link.url), ATTACKER_PASSWORD)).status : link.status;
    const signIn = await signInRequest(keygate, user.email, ATTACKER_PASSWORD);
    const owner = await signInRequest(keygate, user.email, STRONG_PASSWORD);
    // Observed: { reset: 200, link: 201, set: 200, attacker: 200, owner: 401 }: the owner is locked out.
    expect({ reset: reset.status, link: link.status, set, attacker: signIn.status, owner: owner.status }).toEqual({
      reset: 403,
      link: 403,
      set: 403,
      attacker: 401,
      owner: 202,
    });
  });

  it('H2: an admin takes over a peer admin who has two-factor: reset their two-factor, mint a set-up link, sign in as them', async () => {
    await awayFromWindowEdge(30, 5);
    const { session: attacker } = await signedInUser(keygate, tenantId, 'admin');
    const victim = await signedInUser(keygate, tenantId, 'admin');
    await enrol(victim.session);
    const reset = await attacker.post(`/users/${victim.user.id}/two-factor/reset`);
    const link = await attacker.post(`/users/${victim.user.id}/setup-link`);
    const taken = link.status === 201 ? await setPassword(keygate, tokenOf(link.body.setup_link.url), ATTACKER_PASSWORD) : { status: link.status };
    const signIn = await signInRequest(keygate, victim.user.email, ATTACKER_PASSWORD);
    // Observed: 200, 201, 200, 200 (a full session as the victim, no second factor).
    expect({ reset: reset.status, link: link.status, set: taken.status, signIn: signIn.status }).not.toEqual({
      reset: 200,
      link: 201,
      set: 200,
      signIn: 200,
    });
  });

  it('H3: a parent admin without two-factor acts in a child whose tenant requires two-factor of admins', async () => {
    await awayFromWindowEdge(30, 5);
    const root = await keygate.newTenant();
    const parentAdmin = await signedInUser(keygate, root, 'admin');
    const child = (await parentAdmin.session.post('/tenants', { name: 'strict child', require_two_factor: true })).body.tenant.id as string;
    // The child's own admins must enrol first.
    const childAdmin = await signedInUser(keygate, child, 'admin');
    expect((await childAdmin.session.get('/keys')).body.error?.code).toBe('two_factor_enrolment_required');
    // The parent's admin, with no second factor at all, neither switches in nor works there: the
    // child's requirement binds whoever can act on it (attack review 10).
    const switched = await parentAdmin.session.send({ method: 'PUT', path: '/console/api/session/account', json: { tenant_id: child } });
    expect(switched.body.error?.code).toBe('two_factor_enrolment_required');
    const created = await parentAdmin.session.post('/keys', { name: 'in the strict child', scopes: ['admin:users:write'], tenant_id: child });
    expect(created.status).toBe(403);
  });

  it('H5: a set-up link outlives the admin who minted it: disabled, the admin still takes over the admin they invited', async () => {
    const fired = await signedInUser(keygate, tenantId, 'admin');
    const boss = await signedInUser(keygate, tenantId, 'admin');
    // A peer who has set a password gets no link at all …
    expect((await fired.session.post(`/users/${boss.user.id}/setup-link`)).status).toBe(409);
    // … so before leaving, the soon-fired admin invites a new admin and keeps the link.
    const victim = { user: (await fired.session.post('/users', { email: `h5-${Date.now()}@example.test`, role: 'admin' })).body.user };
    const link = await fired.session.post(`/users/${victim.user.id}/setup-link`);
    expect(link.status).toBe(201);
    expect((await boss.session.post(`/users/${fired.user.id}/disable`)).status).toBe(200);
    expect((await fired.session.get('/keys')).status).toBe(401);
    // Keys a disabled person created stop; the link the person minted does not.
    const redeemed = await setPassword(keygate, tokenOf(link.body.setup_link.url), ATTACKER_PASSWORD);
    const signIn = await signInRequest(keygate, victim.user.email, ATTACKER_PASSWORD);
    expect({ redeemed: redeemed.status, signIn: signIn.status }).toEqual({ redeemed: 400, signIn: 401 });
  });

  it('enrolment-only sessions reach none of the new routes', async () => {
    const root = await keygate.newTenant();
    const admin = await signedInUser(keygate, root, 'admin');
    await enrol(admin.session);
    expect((await admin.session.patch(`/tenants/${root}`, { require_two_factor: true })).status).toBeGreaterThanOrEqual(200);
    const manager = await keygate.newUser(root, 'manager');
    const link = await admin.session.post(`/users/${manager.id}/setup-link`);
    await setPassword(keygate, tokenOf(link.body.setup_link.url), STRONG_PASSWORD);
    const signedIn = await signInRequest(keygate, manager.email, STRONG_PASSWORD);
    const limited = sessionFrom(keygate, sessionCookieOf(signedIn)!, signedIn.body.csrf_token);
    const answers = [
      await limited.get('/audit/export?format=jsonl'),
      await limited.send({ method: 'GET', path: '/console/api/session/account' }),
      await limited.send({ method: 'PUT', path: '/console/api/session/account', json: { tenant_id: null } }),
      await limited.send({ method: 'GET', path: '/console/api/account/sessions' }),
      await limited.send({ method: 'DELETE', path: '/console/api/account/sessions' }),
      await limited.send({ path: '/console/api/account/password', json: { current_password: STRONG_PASSWORD, new_password: ATTACKER_PASSWORD } }),
      await limited.send({ path: '/console/api/account', json: { name: 'x' } }),
      await limited.send({ path: '/console/api/two-factor/recovery-codes', json: { code: '123456' } }),
    ];
    expect(answers.map((a) => a.status)).toEqual([403, 403, 403, 403, 403, 403, 403, 409]);
  });

  it('no 5xx from the new routes on hostile input', async () => {
    const { user, session } = await signedInUser(keygate, tenantId, 'admin');
    const parent: AdminClient = await adminClient(keygate, tenantId, ALL_KEYGATE_SCOPES);
    const huge = 'a'.repeat(100_000);
    const answers: [string, number][] = [];
    const note = async (label: string, p: Promise<{ status: number }>) => answers.push([label, (await p).status]);
    await note('impact bad role', session.get(`/users/${user.id}/impact?role=root`));
    await note('impact bad id', session.get('/users/not-a-uuid/impact'));
    await note('impact array role', session.get(`/users/${user.id}/impact?role=admin&role=viewer`));
    await note('sessions bad id', session.get('/users/%00/sessions'));
    await note('end session huge handle', session.delete(`/users/${user.id}/sessions/${huge.slice(0, 4000)}`));
    await note('reset unknown', session.post('/users/00000000-0000-0000-0000-000000000000/two-factor/reset'));
    await note('setup-link unknown', session.post('/users/00000000-0000-4000-8000-000000000000/setup-link'));
    await note('patch role bogus', session.patch(`/users/${user.id}`, { role: 'owner' }));
    await note('patch name number', session.patch(`/users/${user.id}`, { name: 42 }));
    await note('switch number', session.send({ method: 'PUT', path: '/console/api/session/account', json: { tenant_id: 7 } }));
    await note('switch array', session.send({ method: 'PUT', path: '/console/api/session/account', json: [] }));
    await note(
      'switch bad uuid',
      session.send({ method: 'PUT', path: '/console/api/session/account', json: { tenant_id: 'ffffffff-ffff-ffff-ffff-fffffffffffz' } }),
    );
    await note('account name huge', session.send({ path: '/console/api/account', json: { name: huge } }));
    await note('password obj', session.send({ path: '/console/api/account/password', json: { current_password: {}, new_password: [] } }));
    await note('sessions bad handle', session.send({ method: 'DELETE', path: '/console/api/account/sessions?handle=x&handle=y' }));
    await note('2fa confirm no enrol', session.send({ path: '/console/api/two-factor/enrolment/confirm', json: { code: '123456' } }));
    await note('2fa confirm huge', session.send({ path: '/console/api/two-factor/enrolment/confirm', json: { code: huge } }));
    await note('2fa disable off', session.send({ path: '/console/api/two-factor/disable', json: { code: '12345678901234567890' } }));
    await note(
      'second factor bad cookie',
      keygate.send({
        path: '/console/api/session/two-factor',
        headers: { origin: 'http://keygate.test', cookie: 'keygate_sign_in_challenge=%%%' },
        json: { code: '123456' },
      }),
    );
    await note('export since bad', session.get('/audit/export?since=yesterday'));
    await note('export format', session.get('/audit/export?format=xml'));
    await note('export tenant', session.get('/audit/export?tenant_id=not-a-uuid'));
    await note('export actor', session.get('/audit/export?actor_user_id=00000000-0000-0000-0000-000000000000&since=0001-01-01T00:00:00Z'));
    await note('export until far', session.get('/audit/export?until=275760-09-13T00:00:00Z'));
    const ask = (json: unknown) => keygate.send({ path: '/api/v1/tenant/token', headers: { authorization: `Bearer ${parent.token}` }, json });
    await note('compat expiration 24h', ask({ description: 'x', expiration: '2030-01-01T24:00:00Z', role: 'read-only', childTenantId: tenantId }));
    await note('compat roles obj', ask({ description: 'x', expiration: '2030-01-01', roles: [{}], childTenantId: tenantId }));
    await note('compat role proto', ask({ description: 'x', expiration: '2030-01-01', role: '__proto__', childTenantId: tenantId }));
    await note('compat role constructor', ask({ description: 'x', expiration: '2030-01-01', role: 'constructor', childTenantId: tenantId }));
    await note(
      'compat not json',
      keygate.send({ path: '/api/v1/tenant/token', headers: { authorization: `Bearer ${parent.token}`, 'content-type': 'application/json' }, raw: '{' }),
    );
    await note('compat expiration offset', ask({ description: 'x', expiration: '2030-01-01T00:00:00+99:99', role: 'read-only', childTenantId: tenantId }));
    const fives = answers.filter(([, status]) => status >= 500);
    expect(fives).toEqual([]);
  });

  it('compat route: a past expiration and a role beyond the caller are refused', async () => {
    const root = await keygate.newTenant();
    const parent = await adminClient(keygate, root, ALL_KEYGATE_SCOPES);
    const child = (await parent.post('/tenants', { name: 'child' })).body.tenant.id as string;
    const narrow = await adminClient(keygate, root, ['admin:keys:read', 'admin:keys:write']);
    const ask = (token: string, json: Record<string, unknown>) =>
      keygate.send({
        path: '/api/v1/tenant/token',
        headers: { authorization: `Bearer ${token}` },
        json: { description: 'x', role: 'read-only', childTenantId: child, expiration: '2099-01-01', ...json },
      });
    const past = await ask(parent.token, { expiration: '2001-01-01' });
    const beyond = await ask(narrow.token, { role: 'read-write' });
    expect([past.status, beyond.status]).toEqual([400, 400]);
  });

  it('plain token path: a disabled key, a DPoP-bound key and a key moved off the caller’s network get no plain token', async () => {
    const admin = await adminClient(keygate, tenantId, ALL_KEYGATE_SCOPES);
    const created = await admin.post('/keys', { name: 'plain', scopes: ['devices:read'] });
    const key = created.body;
    const tokenFor = (clientId: string, secret: string) =>
      keygate.send({ path: '/oauth/token', headers: { authorization: basicAuth(clientId, secret) }, form: { grant_type: 'client_credentials' } });
    expect((await tokenFor(key.key.client_id, key.client_secret)).status).toBe(200);
    expect((await admin.patch(`/keys/${key.key.client_id}`, { dpop_required: true })).status).toBe(200);
    expect((await tokenFor(key.key.client_id, key.client_secret)).status).toBe(400);
    expect((await admin.patch(`/keys/${key.key.client_id}`, { dpop_required: false })).status).toBe(200);
    expect((await admin.patch(`/keys/${key.key.client_id}`, { networks: ['10.9.9.0/24'] })).status).toBe(200);
    expect((await tokenFor(key.key.client_id, key.client_secret)).status).not.toBe(200);
    expect((await admin.patch(`/keys/${key.key.client_id}`, { networks: [] })).status).toBe(200);
    expect((await admin.post(`/keys/${key.key.client_id}/disable`)).status).toBe(200);
    expect((await tokenFor(key.key.client_id, key.client_secret)).status).toBe(401);
  });
});

describe('attack review 2: network-bound callers', () => {
  let keygate: TestKeygate;
  beforeAll(async () => {
    keygate = await startKeygate({ tokenStore: 'redis' });
  });
  afterAll(() => keygate?.close());

  it('H4: an admin key bound to one network mints a set-up link for a person and so gets an unbound admin session and unbound keys', async () => {
    const root = await keygate.newTenant();
    const bound = await keygate.createKey(root, { name: 'ci only', scopes: ALL_KEYGATE_SCOPES, networks: ['127.0.0.5/32'] });
    const token = await keygate.token(bound, { from: '127.0.0.5' });
    expect(token.status).toBe(200);
    expect((await keygate.token(bound, { from: '127.0.0.9' })).status).not.toBe(200);
    const call = (method: 'GET' | 'POST', path: string, json?: unknown) =>
      keygate.send({ method, path: `/admin/v1${path}`, headers: { authorization: `Bearer ${token.body.access_token}` }, json, from: '127.0.0.5' });
    // An unbound key is refused to this caller, as it should be:
    expect((await call('POST', '/keys', { name: 'anywhere', scopes: ['admin:keys:write'] })).status).toBe(400);
    // … but a person is a credential usable from anywhere:
    const person = await call('POST', '/users', { email: 'escape@example.test', role: 'admin' });
    expect(person.status).toBe(201);
    const link = await call('POST', `/users/${person.body.user.id}/setup-link`);
    const results: number[] = [link.status];
    if (link.status === 201) {
      results.push((await setPassword(keygate, tokenOf(link.body.setup_link.url), ATTACKER_PASSWORD)).status);
      const signedIn = await keygate.send({
        path: '/console/api/session',
        headers: { origin: 'http://keygate.test' },
        json: { email: 'escape@example.test', password: ATTACKER_PASSWORD },
        from: '127.0.0.9',
      });
      results.push(signedIn.status);
      const session = sessionFrom(keygate, sessionCookieOf(signedIn)!, signedIn.body.csrf_token);
      const unbound = await session.post('/keys', { name: 'anywhere', scopes: ['admin:keys:write', 'admin:users:write'] });
      results.push(unbound.status);
      if (unbound.status === 201) results.push((await keygate.token(unbound.body, { from: '127.0.0.9' })).status);
    }
    // Observed: [201, 200, 200, 201, 200]: out of the network bound.
    expect(results).toEqual([403]);
  });

  it('H7: a key an admin made mints a set-up link for that admin (its own creator), and takes the person over', async () => {
    const root = await keygate.newTenant();
    const creator = await signedInUser(keygate, root, 'admin');
    const made = await creator.session.post('/keys', { name: 'automation', scopes: ALL_KEYGATE_SCOPES });
    expect(made.status).toBe(201);
    const token = await keygate.token(made.body);
    const call = (method: 'POST', path: string) =>
      keygate.send({ method, path: `/admin/v1${path}`, headers: { authorization: `Bearer ${token.body.access_token}` }, json: {} });
    // A key may not manage a key that created it (keys/authority.ts) … but it may mint its creator's password.
    const link = await call('POST', `/users/${creator.user.id}/setup-link`);
    const set = link.status === 201 ? (await setPassword(keygate, tokenOf(link.body.setup_link.url), ATTACKER_PASSWORD)).status : link.status;
    const signIn = await signInRequest(keygate, creator.user.email, ATTACKER_PASSWORD);
    // The creator has set a password: the API hands out no link for them (409), to anyone.
    expect({ link: link.status, set, signIn: signIn.status }).toEqual({ link: 409, set: 409, signIn: 401 });
  });

  it('H8: a link minted by a weak key for a viewer still works after the viewer is made admin: the weak key gets an admin session', async () => {
    const root = await keygate.newTenant();
    const boss = await signedInUser(keygate, root, 'admin');
    // Holds what a viewer holds, plus managing users: no key writes, no tenants.
    const weak = await adminClient(keygate, root, ['admin:users:write', 'admin:keys:read', 'admin:audit:read']);
    expect((await weak.post('/keys', { name: 'x', scopes: ['devices:read'] })).status).toBe(403);
    const viewer = await keygate.newUser(root, 'viewer');
    const link = await weak.post(`/users/${viewer.id}/setup-link`);
    expect(link.status).toBe(201);
    // Later the viewer is trusted with more.
    expect((await boss.session.patch(`/users/${viewer.id}`, { role: 'admin' })).status).toBe(200);
    const set = (await setPassword(keygate, tokenOf(link.body.setup_link.url), ATTACKER_PASSWORD)).status;
    const signIn = await signInRequest(keygate, viewer.email, ATTACKER_PASSWORD);
    const power =
      signIn.status === 200
        ? (await sessionFrom(keygate, sessionCookieOf(signIn)!, signIn.body.csrf_token).post('/keys', { name: 'mine', scopes: ALL_KEYGATE_SCOPES })).status
        : 0;
    // Observed: { set: 200, signIn: 200, power: 201 }.
    expect({ set, signIn: signIn.status, power }).toEqual({ set: 400, signIn: 401, power: 0 });
  });

  it('L1: a caller that may not manage an admin still lists the admin’s sessions (IPs, browsers, handles) and key names', async () => {
    const root = await keygate.newTenant();
    const admin = await signedInUser(keygate, root, 'admin');
    const weak = await adminClient(keygate, root, ['admin:users:write', 'admin:keys:read', 'admin:audit:read']);
    // It may not end them (403, as it should) …
    expect((await weak.delete(`/users/${admin.user.id}/sessions`)).status).toBe(403);
    // … but it reads them, and what the admin's keys are called.
    const sessions = await weak.get(`/users/${admin.user.id}/sessions`);
    const impact = await weak.get(`/users/${admin.user.id}/impact`);
    expect({ sessions: sessions.status, impact: impact.status }).toEqual({ sessions: 403, impact: 403 });
  });
});
