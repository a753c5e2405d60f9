// Attacks on the console found in review: each test sends the attacker's requests over real HTTP
// and states the refusal the console owes.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { clientFor } from '../support/admin.ts';
import { STRONG_PASSWORD, setPassword, setupTokenFor, signedInUser, signIn, signInRequest } from '../support/console.ts';
import { startKeygate, type TestKeygate } from '../support/keygate.ts';

describe('console review: sign-in limits', () => {
  let keygate: TestKeygate;
  let tenantId: string;

  beforeAll(async () => {
    keygate = await startKeygate({ tokenStore: 'redis', signInFailuresPerAccount: 3, signInFailuresPerSource: 1000 });
    tenantId = await keygate.newTenant();
  });
  afterAll(() => keygate?.close());

  it('a burst of parallel wrong passwords is judged no more often than the per-account limit allows', async () => {
    const user = await keygate.newUser(tenantId, 'admin');
    expect((await setPassword(keygate, await setupTokenFor(keygate, user), STRONG_PASSWORD)).status).toBe(200);
    // The attacker fires 20 guesses at once from one address instead of one after another.
    const guesses = Array.from({ length: 20 }, (_, i) => signInRequest(keygate, user.email, `wrong-guess-number-${i}`, '127.0.0.77'));
    const answers = await Promise.all(guesses);
    const judged = answers.filter((answer) => answer.status === 401).length;
    // Three failures lock the (email, source) pair: no more than three guesses may be checked.
    expect(judged).toBeLessThanOrEqual(3);
  });
});

describe('console review: authorization of signed-in people', () => {
  let keygate: TestKeygate;
  let tenantId: string;

  beforeAll(async () => {
    keygate = await startKeygate({ tokenStore: 'redis' });
    tenantId = await keygate.newTenant();
  });
  afterAll(() => keygate?.close());

  it('a manager cannot make a user key for another person (an admin), and so act in their name', async () => {
    const boss = await keygate.newUser(tenantId, 'admin');
    const { session } = await signedInUser(keygate, tenantId, 'manager');
    const forged = await session.post('/keys', {
      name: 'the admin’s laptop',
      kind: 'user',
      user_id: boss.id,
      scopes: ['admin:keys:write', 'admin:audit:read'],
    });
    // User keys of a person are made by an admin or by that person, never by a manager.
    if (forged.status === 201) {
      // What the manager gets otherwise: a secret that acts as the admin, recorded as the admin.
      const token = await keygate.token(forged.body);
      const asBoss = clientFor(keygate, forged.body, token.body.access_token);
      const made = await asBoss.post('/keys', { name: 'made “by the admin”', scopes: ['devices:read'] });
      const [event] = await keygate.runtime.audit.list({ action: 'key.create', targetKeyId: made.body.key.client_id });
      expect(made.status).toBe(201);
      // The manager's change is on the record as the admin's.
      expect(event?.actor_user_id, 'a key the manager made is audited as the admin').not.toBe(boss.id);
    }
    expect(forged.status).toBe(400);
  });

  it('a child tenant’s manager does not learn the email of the parent tenant’s admin from the key list', async () => {
    const child = (await keygate.runtime.tenants.insert({ name: 'child of the review tenant', parentId: tenantId })).id;
    const parentAdmin = await signedInUser(keygate, tenantId, 'admin');
    const made = await parentAdmin.session.post('/keys', { name: 'made from above', tenant_id: child, scopes: ['devices:read'] });
    expect(made.status).toBe(201);
    const childManager = await signedInUser(keygate, child, 'manager');
    // The parent's people are not the child's to list (GET /users is refused to it) ...
    expect((await childManager.session.get(`/users/${parentAdmin.user.id}`)).status).toBe(403);
    const listed = await childManager.session.get('/keys');
    const row = (listed.body.data as { client_id: string; created_by: unknown }[]).find((k) => k.client_id === made.body.key.client_id);
    // ... nor their email addresses through the list's "created by" column.
    expect(JSON.stringify(row)).not.toContain(parentAdmin.user.email);
  });

  it('a resource a tenant above defines binds below, even when a child tenant defined it first', async () => {
    const root = await keygate.newTenant();
    const child = (await keygate.runtime.tenants.insert({ name: 'child', parentId: root })).id;
    const grandchild = (await keygate.runtime.tenants.insert({ name: 'grandchild', parentId: child })).id;
    const rootAdmin = await signedInUser(keygate, root, 'admin');
    const childAdmin = await signedInUser(keygate, child, 'admin');
    // The child tenant's admin gets in first, with an action of its own making ...
    const early = await childAdmin.session.send({
      method: 'PUT',
      path: `/admin/v1/scopes/devices?tenant_id=${grandchild}`,
      json: { actions: ['read', 'wipe'] },
    });
    expect(early.status).toBe(200);
    // ... then the root defines `devices` for its whole subtree with reading only.
    const binding = await rootAdmin.session.send({ method: 'PUT', path: '/admin/v1/scopes/devices', json: { actions: ['read'] } });
    expect(binding.status).toBe(200);
    const wipe = await childAdmin.session.post('/keys', { name: 'wiper', tenant_id: grandchild, scopes: ['devices:wipe'] });
    expect(wipe.status).toBe(400);
  });
});

describe('console review: sign-out', () => {
  let keygate: TestKeygate;
  let tenantId: string;

  beforeAll(async () => {
    keygate = await startKeygate({ tokenStore: 'redis' });
    tenantId = await keygate.newTenant();
  });
  afterAll(() => keygate?.close());

  it('a session signed out stays ended, even while a stolen copy of its cookie is busy', async () => {
    const { user } = await signedInUser(keygate, tenantId, 'admin');
    // Alone, a sign-out ends the session.
    const quiet = await signIn(keygate, user.email, STRONG_PASSWORD);
    expect((await quiet.send({ method: 'DELETE', path: '/console/api/session' })).status).toBe(204);
    expect((await quiet.send({ method: 'GET', path: '/console/api/session' })).status).toBe(401);
    const revived: number[] = [];
    for (let round = 0; round < 8; round += 1) {
      const session = await signIn(keygate, user.email, STRONG_PASSWORD);
      const read = () => session.send({ method: 'GET', path: '/console/api/session' });
      // The attacker holding the cookie keeps reading while its owner signs out.
      const answers = await Promise.all([
        ...Array.from({ length: 10 }, read),
        session.send({ method: 'DELETE', path: '/console/api/session' }),
        ...Array.from({ length: 10 }, read),
      ]);
      expect(answers[10]!.status).toBe(204);
      if ((await read()).status === 200) revived.push(round);
    }
    expect(revived, 'rounds after which the signed-out session still answered 200').toEqual([]);
  });
});

describe('console review: the key list’s cursor', () => {
  let keygate: TestKeygate;
  let tenantId: string;

  beforeAll(async () => {
    keygate = await startKeygate({ tokenStore: 'redis' });
    tenantId = await keygate.newTenant();
  });
  afterAll(() => keygate?.close());

  it('a forged cursor whose client id holds a NUL is a 400, not a 500', async () => {
    const { session } = await signedInUser(keygate, tenantId, 'viewer');
    const forged = Buffer.from(JSON.stringify(['-created_at', null, 'kg_\u0000'])).toString('base64url');
    const answer = await session.get(`/keys?cursor=${forged}`);
    expect({ status: answer.status, code: answer.body.error?.code }).toEqual({ status: 400, code: 'validation_failed' });
  });
});
