// Attacker's review 10: ways around review 9's fixes. Each test asserts the SECURE behaviour:
// a failing test here is a hole. A tenant that requires two-factor binds an admin or manager of any
// tenant above it too (their session is limited to enrolment), so every two-factor probe below is
// refused at the door, with the effect it aimed at never happening.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Redis } from 'ioredis';
import { hashToken } from '../../src/crypto/token-hash.ts';
import { adminClient, ALL_KEYGATE_SCOPES, ALL_ADMIN_SCOPES } from '../support/admin.ts';
import { sessionCookieOf, sessionFrom, signedInUser, signInRequest, STRONG_PASSWORD } from '../support/console.ts';
import type { HttpResponse } from '../support/http.ts';
import { startKeygate, type TestKeygate } from '../support/keygate.ts';
import { FAST_EVENTS, startHttpReceiver, type HttpReceiver } from '../support/receivers.ts';

describe('attack review 10: two-factor reach', () => {
  let keygate: TestKeygate;

  beforeAll(async () => {
    keygate = await startKeygate({ tokenStore: 'redis' });
  });
  afterAll(() => keygate?.close());

  /** Root R (no requirement), child C that requires two-factor, a key in C made by admin U of R. */
  async function strictChildWithKeyOf() {
    const root = await keygate.newTenant();
    const rootKey = await adminClient(keygate, root, ALL_KEYGATE_SCOPES);
    const child = await rootKey.post('/tenants', { name: 'soon strict child' });
    expect(child.status, child.text).toBe(201);
    const childId = child.body.tenant.id as string;
    const maker = await signedInUser(keygate, root, 'admin');
    const made = await maker.session.post('/keys', { name: 'secret-project-payments-key', scopes: ['admin:keys:read'], tenant_id: childId });
    expect(made.status, made.text).toBe(201);
    // The child now requires two-factor of its admins: an admin of R without it must not reach it.
    const strict = await rootKey.patch(`/tenants/${childId}`, { require_two_factor: true });
    expect(strict.status, strict.text).toBe(200);
    const unenrolled = await signedInUser(keygate, root, 'admin');
    expect((await unenrolled.session.get(`/keys/${made.body.key.client_id}`)).body.error?.code).toBe('two_factor_enrolment_required');
    return { root, childId, maker, made, unenrolled };
  }

  it('R10-5: an admin without two-factor, refused in the strict child by name, mints a key at home and reaches the child with it', async () => {
    const root = await keygate.newTenant();
    const unenrolled = await signedInUser(keygate, root, 'admin');
    const child = await unenrolled.session.post('/tenants', { name: 'strict child', require_two_factor: true });
    expect(child.status, child.text).toBe(201);
    const childId = child.body.tenant.id as string;
    // By name, from home, the session reaches nothing in the child …
    const direct = await unenrolled.session.post('/keys', { name: 'direct', scopes: ['admin:keys:read'], tenant_id: childId });
    expect(direct.body.error?.code).toBe('two_factor_enrolment_required');
    // … and makes no key at home to reach it with (only a password stands behind the session).
    const home = await unenrolled.session.post('/keys', { name: 'home automation', scopes: ALL_KEYGATE_SCOPES });
    expect({ status: home.status, code: home.body.error?.code }).toEqual({ status: 403, code: 'two_factor_enrolment_required' });
  });

  it('R10-1a: an admin without two-factor stops a key in a strict child by disabling the person who made it', async () => {
    const { maker, made, unenrolled } = await strictChildWithKeyOf();
    expect((await keygate.token(made.body)).status).toBe(200);
    const disabled = await unenrolled.session.post(`/users/${maker.user.id}/disable`);
    const keyStillWorks = (await keygate.token(made.body)).status;
    // Secure: refused like any act on a key out of reach, and the key goes on working.
    expect({ disable: disabled.status, keyStillWorks }).toEqual({ disable: 403, keyStillWorks: 200 });
  });

  it('R10-1b: ... or by lowering their role below key creation', async () => {
    const { maker, made, unenrolled } = await strictChildWithKeyOf();
    const lowered = await unenrolled.session.patch(`/users/${maker.user.id}`, { role: 'member' });
    const keyStillWorks = (await keygate.token(made.body)).status;
    expect({ lowered: lowered.status, keyStillWorks }).toEqual({ lowered: 403, keyStillWorks: 200 });
  });

  it("R10-1c: ... and reads the strict child's key names through the person's impact", async () => {
    const { maker, made, unenrolled } = await strictChildWithKeyOf();
    const impact = await unenrolled.session.get(`/users/${maker.user.id}/impact`);
    expect(impact.status).toBe(403);
    expect(impact.text).not.toContain(made.body.key.client_id);
    expect(impact.text).not.toContain('secret-project-payments-key');
  });
});

describe('attack review 10: two-factor reach through webhooks', () => {
  let keygate: TestKeygate;
  const receivers: HttpReceiver[] = [];

  beforeAll(async () => {
    keygate = await startKeygate({ tokenStore: 'redis', deliverEvents: true, env: FAST_EVENTS });
  });
  afterAll(async () => {
    await keygate?.close();
    for (const receiver of receivers) await receiver.close();
  });

  it("R10-2: an admin without two-factor subscribes at home and receives the strict child's key events", async () => {
    const root = await keygate.newTenant();
    const rootKey = await adminClient(keygate, root, ALL_KEYGATE_SCOPES);
    const child = await rootKey.post('/tenants', { name: 'strict child', require_two_factor: true });
    expect(child.status, child.text).toBe(201);
    const childId = child.body.tenant.id as string;
    const unenrolled = await signedInUser(keygate, root, 'admin');
    const hook = await startHttpReceiver();
    receivers.push(hook);
    const subscribed = await unenrolled.session.post('/webhooks', { url: hook.url, event_types: ['key.created'] });
    expect({ status: subscribed.status, code: subscribed.body.error?.code }).toEqual({ status: 403, code: 'two_factor_enrolment_required' });
    // The child's own automation makes a key there, and one is made at home: nothing reaches the receiver.
    const childAdmin = await adminClient(keygate, childId, ALL_ADMIN_SCOPES);
    expect((await childAdmin.post('/keys', { name: 'strict-child-secret-key', scopes: ['admin:keys:read'] })).status).toBe(201);
    expect((await rootKey.post('/keys', { name: 'marker', scopes: ['admin:keys:read'] })).status).toBe(201);
    await new Promise((resolve) => setTimeout(resolve, 1500));
    expect(hook.requests).toEqual([]);
  });
});

describe('attack review 10: session reissue on a password change', () => {
  let keygate: TestKeygate;

  beforeAll(async () => {
    keygate = await startKeygate({ tokenStore: 'redis' });
  });
  afterAll(() => keygate?.close());

  const NEW_PASSWORD = 'another-long-pass-phrase-42';

  async function changedPassword() {
    const tenant = await keygate.newTenant();
    const person = await signedInUser(keygate, tenant, 'admin');
    const changed = await person.session.send({
      path: '/console/api/account/password',
      json: { current_password: STRONG_PASSWORD, new_password: NEW_PASSWORD },
    });
    expect(changed.status, changed.text).toBe(200);
    const cookie = sessionCookieOf(changed)!;
    expect(cookie).toBeTruthy();
    return { person, changed, cookie };
  }

  it('R10-3: a second console tab (same cookie jar, the CSRF token it read before) can no longer change anything, and is never told to reload', async () => {
    const { person, cookie } = await changedPassword();
    // Tab 2 sends the browser's cookie (now the reissued one) with the CSRF token it holds in memory.
    const otherTab = sessionFrom(keygate, cookie, person.session.csrf);
    const made = await otherTab.post('/keys', { name: 'from the other tab', scopes: ['admin:keys:read'] });
    // Secure and usable: the same session, the same person, the same origin: the change goes through
    // (or the tab is told its session moved, 401/409, which the console answers by reloading).
    expect(made.status, made.text).not.toBe(403);
  });

  it('R10-4: a request still in flight with the old cookie answers with a Set-Cookie that deletes the reissued session cookie', async () => {
    const { person } = await changedPassword();
    // The console's request sent just before the change (same browser) comes back after it.
    const late = await person.session.get('/keys');
    expect(late.status).toBe(401);
    // The browser applies Set-Cookie by name: this clears the cookie the password change just set.
    const clears = (late.headers['set-cookie'] ?? []).filter((c: string) => /^keygate_session=;/.test(c) && /Max-Age=0/.test(c));
    expect(clears).toEqual([]);
  });
});

describe('attack review 10: reissue racing an end of every session', () => {
  let keygate: TestKeygate;

  beforeAll(async () => {
    keygate = await startKeygate({ tokenStore: 'redis' });
  });
  afterAll(() => keygate?.close());

  it("R10-6: a thief's password change outlives an admin ending every session of the account (reissue writes the new session after the end)", async () => {
    const tenant = await keygate.newTenant();
    const admin = await adminClient(keygate, tenant, ALL_KEYGATE_SCOPES);
    const victim = await signedInUser(keygate, tenant, 'member');
    const key = `kg:s:${hashToken(victim.session.cookie)}`;
    // Deterministic interleaving: the admin's "end every session" runs right after reissue has read
    // the old session and before it writes the new one (one Redis round trip, hit by chance otherwise).
    const original = Redis.prototype.get;
    let reads = 0;
    let ended: Promise<unknown> | undefined;
    (Redis.prototype as unknown as { get: unknown }).get = async function (this: Redis, name: string, ...rest: unknown[]) {
      const value = await (original as (...a: unknown[]) => Promise<string | null>).call(this, name, ...rest);
      if (name === key && ++reads === 2) {
        ended = admin.delete(`/users/${victim.user.id}/sessions`);
        const answer = (await ended) as { status: number };
        expect(answer.status).toBeLessThan(300);
      }
      return value;
    };
    let changed: HttpResponse;
    try {
      changed = await victim.session.send({
        path: '/console/api/account/password',
        json: { current_password: STRONG_PASSWORD, new_password: 'thief-chosen-pass-phrase-77' },
      });
    } finally {
      (Redis.prototype as unknown as { get: unknown }).get = original;
    }
    expect(ended).toBeDefined();
    // Secure: the session ended under the change, so the change is refused and nothing is left live;
    // the password is still the old one.
    expect(changed.status, changed.text).toBe(401);
    expect(sessionCookieOf(changed)).toBeUndefined();
    const live = (await admin.get(`/users/${victim.user.id}/sessions`)).body;
    expect((live.data ?? live.sessions ?? []).length).toBe(0);
    expect((await signInRequest(keygate, victim.user.email, STRONG_PASSWORD)).status).toBe(200);
  });
});
