// Attacker's review 11. Each test asserts the SECURE behaviour: a failing test here is a hole.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Redis } from 'ioredis';
import { hashToken } from '../../src/crypto/token-hash.ts';
import { adminClient, ALL_KEYGATE_SCOPES } from '../support/admin.ts';
import { sessionCookieOf, sessionFrom, signedInUser, STRONG_PASSWORD } from '../support/console.ts';
import type { HttpResponse } from '../support/http.ts';
import { startKeygate, type TestKeygate } from '../support/keygate.ts';

const THIEF_PASSWORD = 'thief-chosen-pass-phrase-77';

/**
 * Runs `during` once, in full, just before the first GETDEL of `key` (a session's destroy) goes
 * to Redis: whoever issued that GETDEL has already listed the session, and waits.
 */
function beforeFirstGetdel(key: string, during: () => Promise<unknown>) {
  const original = Redis.prototype.getdel;
  let fired = false;
  (Redis.prototype as unknown as { getdel: unknown }).getdel = async function (this: Redis, name: string, ...rest: unknown[]) {
    if (name === key && !fired) {
      fired = true;
      await during();
    }
    return (original as (...a: unknown[]) => Promise<string | null>).call(this, name, ...rest);
  };
  return {
    restore: () => ((Redis.prototype as unknown as { getdel: unknown }).getdel = original),
    fired: () => fired,
  };
}

describe('attack review 11: reissue racing an end of the session (the other order from R10-6)', () => {
  let keygate: TestKeygate;

  beforeAll(async () => {
    keygate = await startKeygate({ tokenStore: 'redis' });
  });
  afterAll(() => keygate?.close());

  it("R11-1a: a thief's password change outlives an admin ending every session when the admin listed the sessions before the reissue and deletes after it", async () => {
    const tenant = await keygate.newTenant();
    const admin = await adminClient(keygate, tenant, ALL_KEYGATE_SCOPES);
    const victim = await signedInUser(keygate, tenant, 'member');
    const key = `kg:s:${hashToken(victim.session.cookie)}`;
    let changed: HttpResponse | undefined;
    // The admin's end lists the sessions (the old one among them); before its GETDEL of the old
    // one reaches Redis (a user with several sessions: the loop is still on the others), the
    // thief's password change runs through: reissue moves the session to a new id.
    const hook = beforeFirstGetdel(key, async () => {
      changed = await victim.session.send({ path: '/console/api/account/password', json: { current_password: STRONG_PASSWORD, new_password: THIEF_PASSWORD } });
    });
    let ended: HttpResponse;
    try {
      ended = await admin.delete(`/users/${victim.user.id}/sessions`);
    } finally {
      hook.restore();
    }
    expect(hook.fired()).toBe(true);
    expect(ended.status, ended.text).toBeLessThan(300);
    // The admin was told every session ended.
    const cookie = changed && sessionCookieOf(changed);
    const survivor = cookie ? await sessionFrom(keygate, cookie, victim.session.csrf).get('/keys') : undefined;
    const live = (await admin.get(`/users/${victim.user.id}/sessions`)).body;
    // Secure: after "end every session" answered, no session of the person is live.
    expect({ liveSessions: (live.data ?? []).length, survivorStatus: survivor?.status ?? 401 }).toEqual({ liveSessions: 0, survivorStatus: 401 });
  });

  it('R11-1b: a sign-out answered 204 while the password change of the same session leaves it signed in under a new cookie', async () => {
    const tenant = await keygate.newTenant();
    const person = await signedInUser(keygate, tenant, 'member');
    const key = `kg:s:${hashToken(person.session.cookie)}`;
    let changed: HttpResponse | undefined;
    const hook = beforeFirstGetdel(key, async () => {
      changed = await person.session.send({
        path: '/console/api/account/password',
        json: { current_password: STRONG_PASSWORD, new_password: 'another-long-pass-phrase-42' },
      });
    });
    let signedOut: HttpResponse;
    try {
      signedOut = await person.session.send({ method: 'DELETE', path: '/console/api/session' });
    } finally {
      hook.restore();
    }
    expect(hook.fired()).toBe(true);
    expect(signedOut.status, signedOut.text).toBe(204);
    const cookie = changed && sessionCookieOf(changed);
    const after = cookie ? await sessionFrom(keygate, cookie, person.session.csrf).send({ method: 'GET', path: '/console/api/session' }) : undefined;
    // Secure: a sign-out that answered 204 leaves no session of it live (the change is refused, 401,
    // or the reissued session is gone too).
    // The change itself may go through (the password was right); the session it moved to ends with the sign-out.
    expect([200, 401]).toContain(changed?.status);
    expect(after?.status ?? 401).toBe(401);
  });
});
