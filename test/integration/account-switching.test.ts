// Working in a child account over real HTTP: a parent's admin switches the session into a child
// and every admin route then acts on that child's subtree with the admin's own role, audited under
// the admin's name with the account named. The attacks: a child's admin asks for the parent's
// tenant, keys, users and audit, or switches into the parent or a sibling (404, never 403); a
// member or viewer of the parent tries to switch (refused); a switch without the CSRF token.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signedInUser, type ConsoleSession } from '../support/console.ts';
import { ISSUER, startKeygate, type TestKeygate } from '../support/keygate.ts';
import type { User } from '../../src/stores/users.ts';

const switchTo = (session: ConsoleSession, tenantId: string | null, csrf?: string | null) =>
  session.send({ method: 'PUT', path: '/console/api/session/account', json: { tenant_id: tenantId }, ...(csrf === undefined ? {} : { csrf }) });
const sessionInfo = (session: ConsoleSession) => session.send({ method: 'GET', path: '/console/api/session' });
const clientIds = (response: { body: { data: { client_id: string }[] } }) => response.body.data.map((k) => k.client_id);

describe('switching the console session into a child account', () => {
  let keygate: TestKeygate;
  let root: string;
  let child: string;
  let sibling: string;
  let grandchild: string;
  let admin: { user: User; session: ConsoleSession };
  let childAdmin: { user: User; session: ConsoleSession };
  let rootKey: string;

  beforeAll(async () => {
    keygate = await startKeygate({ tokenStore: 'redis' });
    root = await keygate.newTenant();
    admin = await signedInUser(keygate, root, 'admin');
    child = (await admin.session.post('/tenants', { name: 'Child A' })).body.tenant.id;
    sibling = (await admin.session.post('/tenants', { name: 'Child B' })).body.tenant.id;
    childAdmin = await signedInUser(keygate, child, 'admin');
    grandchild = (await childAdmin.session.post('/tenants', { name: 'Grandchild' })).body.tenant.id;
    rootKey = (await keygate.createKey(root, { name: 'root key' })).key.client_id;
  });
  afterAll(() => keygate?.close());

  it('reports the own tenant as the active account, and lists the own tenant and every one below it', async () => {
    const info = await sessionInfo(admin.session);
    expect(info.body.account).toEqual({ id: root, name: expect.any(String), path: [{ id: root, name: expect.any(String) }] });
    const accounts = await admin.session.send({ method: 'GET', path: '/console/api/session/account' });
    expect(accounts.status).toBe(200);
    expect(accounts.body.accounts.map((a: { id: string }) => a.id).sort()).toEqual([root, child, sibling, grandchild].sort());
    const deep = accounts.body.accounts.find((a: { id: string }) => a.id === grandchild);
    expect(deep.path.map((p: { name: string }) => p.name)).toEqual([expect.any(String), 'Child A', 'Grandchild']);
  });

  it('a switch needs the CSRF token and the same origin', async () => {
    expect((await switchTo(admin.session, child, null)).status).toBe(403);
    expect(
      (await admin.session.send({ method: 'PUT', path: '/console/api/session/account', json: { tenant_id: child }, origin: 'https://evil.test' })).status,
    ).toBe(403);
    expect((await sessionInfo(admin.session)).body.account.id).toBe(root);
  });

  it('in the child, keys, users, tenants and audit are the child’s subtree; changes are audited under the admin, naming the account', async () => {
    const switched = await switchTo(admin.session, child);
    expect(switched.status).toBe(200);
    expect(switched.body.account).toMatchObject({ id: child, name: 'Child A', path: [{ id: root }, { id: child, name: 'Child A' }] });
    expect((await sessionInfo(admin.session)).body.account.id).toBe(child);

    const created = await admin.session.post('/keys', { name: 'made in the child', scopes: ['devices:read'] });
    expect(created.status).toBe(201);
    expect(created.body.key.tenant_id).toBe(child);
    expect((await keygate.token(created.body)).status).toBe(200);

    const keys = clientIds(await admin.session.get('/keys'));
    expect(keys).toContain(created.body.key.client_id);
    expect(keys).not.toContain(rootKey);
    expect((await admin.session.get(`/keys/${rootKey}`)).status).toBe(404);
    expect((await admin.session.get('/tenants')).body.data.map((t: { id: string }) => t.id).sort()).toEqual([child, grandchild].sort());
    expect((await admin.session.get(`/users/${admin.user.id}`)).status).toBe(404);

    const [record] = (await keygate.runtime.audit.list({ targetKeyId: created.body.key.client_id })).filter((e) => e.action === 'key.create');
    expect(record).toMatchObject({ tenant_id: child, actor_user_id: admin.user.id, actor_key_id: null });
    expect(record!.details).toMatchObject({ via: 'console', acting_in_tenant_id: child });
    const switchRecord = (await keygate.runtime.audit.list({ actorUserId: admin.user.id, action: 'session.switch_account' }))[0];
    expect(switchRecord).toMatchObject({ tenant_id: root, details: { from_tenant_id: root, to_tenant_id: child } });

    // A child's policy is its parent's to set: inside the child, the admin acts as the child does.
    expect((await admin.session.patch(`/tenants/${child}`, { max_key_lifetime_days: 10 })).status).toBe(403);

    const back = await switchTo(admin.session, null);
    expect(back.body.account.id).toBe(root);
    expect(clientIds(await admin.session.get('/keys'))).toContain(rootKey);
  });

  it('a child’s admin gets 404 for the parent’s tenant, keys, users and audit, and for switching into the parent or a sibling', async () => {
    const session = childAdmin.session;
    for (const path of [`/tenants/${root}`, `/tenants/${sibling}`, `/keys/${rootKey}`, `/users/${admin.user.id}`]) {
      const response = await session.get(path);
      expect(response.status, path).toBe(404);
    }
    expect((await session.post(`/tenants/${root}/disable`)).status).toBe(404);
    expect((await session.patch(`/tenants/${root}`, { name: 'taken over' })).status).toBe(404);
    const audit = await session.get(`/audit?target_key_id=${rootKey}`);
    expect(audit.status).toBe(200);
    expect(audit.body.data).toEqual([]);
    expect((await session.get('/audit?limit=200')).body.data.every((e: { tenant_id: string }) => [child, grandchild].includes(e.tenant_id))).toBe(true);

    const answers = [];
    for (const target of [root, sibling, '00000000-0000-4000-8000-000000000000', 'not-a-uuid']) {
      const response = await switchTo(session, target);
      expect(response.status, target).toBe(404);
      answers.push(response.body.error.message);
    }
    expect(new Set(answers).size).toBe(1);
    expect((await sessionInfo(session)).body.account).toMatchObject({ id: child, path: [{ id: child }] });
    // Going down works, and the path starts at the child's own tenant: the parent is never named.
    const down = await switchTo(session, grandchild);
    expect(down.body.account.path.map((p: { id: string }) => p.id)).toEqual([child, grandchild]);
    expect(JSON.stringify((await session.send({ method: 'GET', path: '/console/api/session/account' })).body)).not.toContain(root);
    await switchTo(session, null);
  });

  it('a member or viewer of the parent cannot switch, so cannot escalate', async () => {
    for (const role of ['member', 'viewer'] as const) {
      const { session } = await signedInUser(keygate, root, role);
      const response = await switchTo(session, child);
      expect(response.status, role).toBe(403);
      expect((await sessionInfo(session)).body.account.id).toBe(root);
    }
    const manager = await signedInUser(keygate, root, 'manager');
    expect((await switchTo(manager.session, child)).status).toBe(200);
    const made = await manager.session.post('/keys', { name: 'a manager’s key in the child', scopes: ['devices:read'] });
    expect(made.body.key.tenant_id).toBe(child);
  });

  it('a session in a child that is disabled, or whose person lost the role, falls back to the own tenant', async () => {
    const other = await signedInUser(keygate, root, 'admin');
    expect((await switchTo(other.session, grandchild)).status).toBe(200);
    expect((await admin.session.post(`/tenants/${grandchild}/disable`)).status).toBe(200);
    expect((await sessionInfo(other.session)).body.account.id).toBe(root);
    expect((await switchTo(other.session, grandchild)).status).toBe(409);
    expect((await admin.session.post(`/tenants/${grandchild}/enable`)).status).toBe(200);

    expect((await switchTo(other.session, sibling)).status).toBe(200);
    await keygate.runtime.users.update(other.user.id, { role: 'member' });
    expect((await sessionInfo(other.session)).body.account.id).toBe(root);
    await keygate.runtime.users.update(other.user.id, { role: 'admin' });
    expect((await sessionInfo(other.session)).body.account.id).toBe(root);
  });

  it('a page that still shows another account (a second tab) is refused instead of acting in the account the session moved to', async () => {
    const tab = await signedInUser(keygate, root, 'admin');
    expect((await switchTo(tab.session, child)).status).toBe(200);
    const shown = (tenantId: string) => ({ 'x-keygate-account': tenantId });
    const stale = await tab.session.send({
      method: 'POST',
      path: '/admin/v1/keys',
      json: { name: 'meant for the root', scopes: ['devices:read'] },
      headers: shown(root),
    });
    expect(stale.status).toBe(409);
    expect(stale.body.error.message).toContain('reload the page');
    expect((await tab.session.get('/keys?q=meant')).body.data).toEqual([]);
    expect((await tab.session.send({ method: 'GET', path: '/admin/v1/keys', headers: shown(root) })).status).toBe(409);
    expect((await tab.session.send({ method: 'GET', path: '/admin/v1/keys', headers: shown(child) })).status).toBe(200);
  });

  it('a bearer caller is untouched by any session’s account', async () => {
    const response = await keygate.send({ method: 'PUT', path: '/console/api/session/account', headers: { origin: ISSUER }, json: { tenant_id: child } });
    expect(response.status).toBe(401);
  });
});
