// GET /admin/v1/audit over real HTTP: every admin change and every denial leaves one event with
// who, what, from where and which request; the filters and the cursor; tenant boundaries; and
// the promise that nothing able to authenticate is ever written to the log.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateClientSecret } from '../../src/crypto/credentials.ts';
import type { CreatedKey } from '../../src/keys/types.ts';
import { adminClient, errorBody, type AdminClient } from '../support/admin.ts';
import { basicAuth, type HttpResponse } from '../support/http.ts';
import { startKeygate, type TestKeygate } from '../support/keygate.ts';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

type Event = Record<string, any>;

describe('admin API: audit log', () => {
  let keygate: TestKeygate;
  let tenantId: string;
  let admin: AdminClient;

  beforeAll(async () => {
    keygate = await startKeygate({ tokenStore: 'redis' });
    tenantId = await keygate.newTenant();
    admin = await adminClient(keygate, tenantId);
  });
  afterAll(() => keygate?.close());

  const audit = (client: AdminClient, query: Record<string, string> = {}) => {
    const search = new URLSearchParams(query).toString();
    return client.get(`/audit${search ? `?${search}` : ''}`);
  };
  const bearer = (client: AdminClient) => ({ authorization: `Bearer ${client.token}` });
  const newKey = async (client = admin, body: Record<string, unknown> = {}): Promise<CreatedKey> => {
    const response = await client.post('/keys', { name: 'audited', scopes: ['devices:read'], ...body });
    expect(response.status).toBe(201);
    return response.body;
  };
  const withSecret = (key: CreatedKey, secret: string): CreatedKey => ({ ...key, client_secret: secret });

  /** The event an admin change through the API leaves. */
  const change = (
    action: string,
    targetKeyId: string,
    response: HttpResponse,
    details: Record<string, unknown>,
    options: { actor?: AdminClient; ip?: string; tenant?: string } = {},
  ): Event => ({
    id: expect.stringMatching(/^\d+$/),
    at: expect.any(String),
    action,
    outcome: 'success',
    reason: null,
    tenant_id: options.tenant ?? tenantId,
    actor_key_id: (options.actor ?? admin).key.key.client_id,
    actor_user_id: null,
    target_key_id: targetKeyId,
    ip: options.ip ?? '127.0.0.1',
    request_id: response.headers['x-request-id'],
    details: { via: 'admin-api', ...details },
  });

  /** Every page of a query, following next_cursor to the end. */
  async function allPages(client: AdminClient, query: Record<string, string>): Promise<{ pages: Event[][]; cursors: (string | null)[] }> {
    const pages: Event[][] = [];
    const cursors: (string | null)[] = [];
    let cursor: string | null = null;
    do {
      const response = await audit(client, { ...query, ...(cursor ? { cursor } : {}) });
      expect(response.status).toBe(200);
      pages.push(response.body.data);
      cursor = response.body.next_cursor;
      cursors.push(cursor);
      expect(pages.length).toBeLessThan(100);
    } while (cursor !== null);
    return { pages, cursors };
  }

  describe('what is recorded', () => {
    it('records create, update, rotate, disable, enable, revoke-tokens and delete, newest first', async () => {
      const startedAt = Date.now();
      const created = await admin.post('/keys', { name: 'audited', scopes: ['devices:read'], networks: ['127.0.0.0/8'] });
      expect(created.status).toBe(201);
      const key: CreatedKey = created.body;
      const id = key.key.client_id;
      expect((await keygate.token(key)).status).toBe(200);

      const updated = await keygate.send({
        method: 'PATCH',
        path: `/admin/v1/keys/${id}`,
        headers: bearer(admin),
        json: { name: 'renamed' },
        from: '127.0.0.5',
      });
      expect(updated.status).toBe(200);
      const rotated = await keygate.send({
        method: 'POST',
        path: `/admin/v1/keys/${id}/rotate`,
        headers: { ...bearer(admin), 'x-request-id': 'audit-test-rotate-1' },
        json: { grace_seconds: 3600 },
      });
      expect(rotated.status).toBe(200);
      expect(rotated.headers['x-request-id']).toBe('audit-test-rotate-1');
      const rotatedKey: CreatedKey = rotated.body;
      expect((await keygate.token(rotatedKey)).status).toBe(200);
      const disabled = await admin.post(`/keys/${id}/disable`);
      expect(disabled.status).toBe(200);
      const enabled = await admin.post(`/keys/${id}/enable`);
      expect(enabled.status).toBe(200);
      expect((await keygate.token(rotatedKey)).status).toBe(200);
      const revoked = await admin.post(`/keys/${id}/revoke-tokens`);
      expect(revoked.body).toEqual({ revoked_tokens: 1 });
      const deleted = await admin.delete(`/keys/${id}`);
      expect(deleted.status).toBe(204);

      const response = await audit(admin, { target_key_id: id });
      expect(response.status).toBe(200);
      // key_id is the filter's older name, still accepted.
      expect((await audit(admin, { key_id: id })).body).toEqual(response.body);
      const disagreeing = await audit(admin, { target_key_id: id, key_id: 'kg_someoneelse' });
      expect(disagreeing.body).toEqual(
        errorBody(disagreeing, 'validation_failed', 'query is invalid', [
          { field: 'key_id', message: 'names another key than target_key_id; give one of them' },
        ]),
      );
      expect(response.body).toEqual({
        data: [
          change('key.delete', id, deleted, { tokens_dropped: 0 }),
          change('key.revoke_tokens', id, revoked, { tokens_dropped: 1 }),
          change('key.enable', id, enabled, {}),
          change('key.disable', id, disabled, { tokens_dropped: 2 }),
          change('key.rotate', id, rotated, { grace_seconds: 3600, tokens_dropped: 0 }),
          change(
            'key.update',
            id,
            updated,
            { fields: ['name'], changes: { name: { from: 'audited', to: 'renamed' } }, narrowed: false, tokens_dropped: 0 },
            { ip: '127.0.0.5' },
          ),
          change('key.create', id, created, { scopes: ['devices:read'], networks: ['127.0.0.0/8'], kind: 'service' }),
        ],
        next_cursor: null,
      });
      const events: Event[] = response.body.data;
      expect(events.find((e) => e.action === 'key.rotate')!.request_id).toBe('audit-test-rotate-1');
      const ids = events.map((e) => BigInt(e.id));
      expect(ids).toEqual([...ids].sort((a, b) => (a > b ? -1 : a < b ? 1 : 0)));
      expect(new Set(ids).size).toBe(ids.length);
      const times = events.map((e) => Date.parse(e.at));
      expect(times).toEqual([...times].sort((a, b) => b - a));
      for (const at of times) {
        expect(at).toBeGreaterThanOrEqual(startedAt - 1000);
        expect(at).toBeLessThanOrEqual(Date.now() + 1000);
      }
    });

    it('records a wrong secret on /oauth/token as denied secret_mismatch, with the caller IP and request id', async () => {
      const key = await newKey();
      const id = key.key.client_id;
      const denied = await keygate.token(withSecret(key, generateClientSecret()), { from: '127.0.0.5' });
      expect(denied.status).toBe(401);
      expect(denied.headers['x-request-id']).toEqual(expect.any(String));

      const response = await audit(admin, { key_id: id, outcome: 'denied' });
      expect(response.status).toBe(200);
      expect(response.body).toEqual({
        data: [
          {
            id: expect.stringMatching(/^\d+$/),
            at: expect.any(String),
            action: 'token.issue',
            outcome: 'denied',
            reason: 'secret_mismatch',
            tenant_id: tenantId,
            actor_key_id: id,
            actor_user_id: null,
            target_key_id: id,
            ip: '127.0.0.5',
            request_id: denied.headers['x-request-id'],
            details: { route: '/oauth/token' },
          },
        ],
        next_cursor: null,
      });
    });
  });

  describe('filters and pages', () => {
    let key: CreatedKey;
    let other: AdminClient;
    /** Newest first: disable (admin), denied token, update (other), create (admin). */
    let events: Event[];

    beforeAll(async () => {
      other = await adminClient(keygate, tenantId, ['admin:keys:write']);
      key = await newKey();
      await sleep(5);
      expect((await other.patch(`/keys/${key.key.client_id}`, { description: 'by the other admin' })).status).toBe(200);
      await sleep(5);
      expect((await keygate.token(withSecret(key, generateClientSecret()), { from: '127.0.0.7' })).status).toBe(401);
      await sleep(5);
      expect((await admin.post(`/keys/${key.key.client_id}/disable`)).status).toBe(200);
      events = (await audit(admin, { key_id: key.key.client_id })).body.data;
    });

    const actions = (response: HttpResponse) => {
      expect(response.status).toBe(200);
      return (response.body.data as Event[]).map((e) => `${e.action}/${e.outcome}`);
    };

    it('key_id: every event about one key, newest first', () => {
      expect(events.map((e) => `${e.action}/${e.outcome}`)).toEqual(['key.disable/success', 'token.issue/denied', 'key.update/success', 'key.create/success']);
      expect(events[1]).toMatchObject({ reason: 'secret_mismatch', ip: '127.0.0.7' });
    });

    it('actor_key_id: only what that admin key did', async () => {
      const response = await audit(admin, { actor_key_id: other.key.key.client_id });
      expect(response.body).toEqual({ data: [events[2]], next_cursor: null });
      expect(events[2]).toMatchObject({ actor_key_id: other.key.key.client_id, details: { via: 'admin-api', fields: ['description'] } });
      expect(actions(await audit(admin, { key_id: key.key.client_id, actor_key_id: admin.key.key.client_id }))).toEqual([
        'key.disable/success',
        'key.create/success',
      ]);
    });

    it('action: one kind of event', async () => {
      expect((await audit(admin, { key_id: key.key.client_id, action: 'key.update' })).body).toEqual({ data: [events[2]], next_cursor: null });
      expect((await audit(admin, { key_id: key.key.client_id, action: 'token.issue' })).body).toEqual({ data: [events[1]], next_cursor: null });
      expect((await audit(admin, { key_id: key.key.client_id, action: 'key.nothing' })).body).toEqual({ data: [], next_cursor: null });
    });

    it('outcome: success or denied', async () => {
      expect((await audit(admin, { key_id: key.key.client_id, outcome: 'denied' })).body).toEqual({ data: [events[1]], next_cursor: null });
      expect((await audit(admin, { key_id: key.key.client_id, outcome: 'success' })).body).toEqual({
        data: [events[0], events[2], events[3]],
        next_cursor: null,
      });
    });

    it('since (inclusive) and until (exclusive), as ISO timestamps in any offset', async () => {
      const [disable, denied, update, create] = events as [Event, Event, Event, Event];
      const query = (extra: Record<string, string>) => audit(admin, { key_id: key.key.client_id, ...extra });
      expect((await query({ since: update.at })).body).toEqual({ data: [disable, denied, update], next_cursor: null });
      expect((await query({ until: denied.at })).body).toEqual({ data: [update, create], next_cursor: null });
      expect((await query({ since: update.at, until: disable.at })).body).toEqual({ data: [denied, update], next_cursor: null });
      expect((await query({ since: inOffset(update.at, 2) })).body).toEqual({ data: [disable, denied, update], next_cursor: null });
      expect((await query({ until: inOffset(denied.at, -5) })).body).toEqual({ data: [update, create], next_cursor: null });
      expect((await query({ since: new Date(Date.now() + 60_000).toISOString() })).body).toEqual({ data: [], next_cursor: null });
    });

    it('pages with limit and cursor: no overlap, nothing missed, next_cursor null on the last page', async () => {
      const paged = await newKey();
      for (let i = 1; i <= 5; i += 1) {
        expect((await admin.patch(`/keys/${paged.key.client_id}`, { name: `paged ${i}` })).status).toBe(200);
      }
      const everything: Event[] = (await audit(admin, { key_id: paged.key.client_id })).body.data;
      expect(everything).toHaveLength(6);

      for (const [limit, sizes] of [
        [1, [1, 1, 1, 1, 1, 1]],
        [3, [3, 3]],
        [4, [4, 2]],
        [6, [6]],
        [200, [6]],
      ] as const) {
        const { pages, cursors } = await allPages(admin, { key_id: paged.key.client_id, limit: String(limit) });
        expect(pages.map((p) => p.length)).toEqual(sizes);
        expect(pages.flat()).toEqual(everything);
        expect(cursors).toEqual([...pages.slice(0, -1).map((p) => p.at(-1)!.id), null]);
      }
    });
  });

  describe('tenant boundaries', () => {
    it('an admin of another tenant sees none of these events', async () => {
      const key = await newKey();
      await admin.post(`/keys/${key.key.client_id}/disable`);
      const foreignTenant = await keygate.newTenant();
      const foreign = await adminClient(keygate, foreignTenant);
      expect((await audit(foreign, { key_id: key.key.client_id })).body).toEqual({ data: [], next_cursor: null });
      expect((await audit(foreign, { actor_key_id: admin.key.key.client_id })).body).toEqual({ data: [], next_cursor: null });
      const { pages } = await allPages(foreign, {});
      expect(pages.flat().length).toBeGreaterThan(0);
      expect(pages.flat().filter((e) => e.tenant_id !== foreignTenant)).toEqual([]);
      // And the other way round.
      const foreignKey = await newKey(foreign);
      expect((await audit(admin, { key_id: foreignKey.key.client_id })).body).toEqual({ data: [], next_cursor: null });
    });

    it('a parent tenant sees its direct children’s events; a child does not see its parent’s', async () => {
      const child = (await keygate.runtime.tenants.insert({ name: 'audit child', parentId: tenantId })).id;
      const created = await admin.post('/keys', { name: 'child key', scopes: ['devices:read'], tenant_id: child });
      expect(created.status).toBe(201);
      const childKeyId = created.body.key.client_id;
      const childAdmin = await adminClient(keygate, child);
      const disabled = await childAdmin.post(`/keys/${childKeyId}/disable`);
      expect(disabled.status).toBe(200);

      const expected = {
        data: [
          change('key.disable', childKeyId, disabled, { tokens_dropped: 0 }, { actor: childAdmin, tenant: child }),
          change('key.create', childKeyId, created, { scopes: ['devices:read'], networks: [], kind: 'service' }, { tenant: child }),
        ],
        next_cursor: null,
      };
      expect((await audit(admin, { key_id: childKeyId })).body).toEqual(expected);
      expect((await audit(childAdmin, { key_id: childKeyId })).body).toEqual(expected);

      const parentKey = await newKey();
      expect((await audit(childAdmin, { key_id: parentKey.key.client_id })).body).toEqual({ data: [], next_cursor: null });
      const { pages } = await allPages(childAdmin, {});
      expect(pages.flat().filter((e) => e.tenant_id !== child)).toEqual([]);
    });

    it('a grandparent sees a grandchild’s events: the whole subtree is its own', async () => {
      const child = (await keygate.runtime.tenants.insert({ name: 'audit child 2', parentId: tenantId })).id;
      const grandchild = (await keygate.runtime.tenants.insert({ name: 'audit grandchild', parentId: child })).id;
      const childAdmin = await adminClient(keygate, child);
      const created = await childAdmin.post('/keys', { name: 'grandchild key', scopes: ['devices:read'], tenant_id: grandchild });
      expect(created.status).toBe(201);
      const id = created.body.key.client_id;
      expect((await audit(childAdmin, { key_id: id })).body).toEqual({
        data: [change('key.create', id, created, { scopes: ['devices:read'], networks: [], kind: 'service' }, { actor: childAdmin, tenant: grandchild })],
        next_cursor: null,
      });
      expect((await audit(admin, { key_id: id })).body).toEqual((await audit(childAdmin, { key_id: id })).body);
    });
  });

  describe('who may read it', () => {
    it('refuses a token without admin:audit:read: 403 forbidden naming the scope', async () => {
      const keysOnly = await adminClient(keygate, tenantId, ['admin:keys:write', 'admin:keys:read']);
      const response = await audit(keysOnly);
      expect(response.status).toBe(403);
      expect(response.body).toEqual({
        error: { code: 'forbidden', message: "this token lacks the 'admin:audit:read' scope", request_id: response.headers['x-request-id'] },
      });
      expect(response.headers['www-authenticate']).toBe('Bearer realm="keygate", error="insufficient_scope", scope="admin:audit:read"');
    });

    it('admin:audit:read alone is enough', async () => {
      const reader = await adminClient(keygate, tenantId, ['admin:audit:read']);
      const response = await audit(reader, { actor_key_id: admin.key.key.client_id, limit: '1' });
      expect(response.status).toBe(200);
      expect(response.body.data).toHaveLength(1);
    });

    it('refuses a request without a bearer token: 401 unauthorized', async () => {
      const response = await keygate.send({ method: 'GET', path: '/admin/v1/audit' });
      expect(response.status).toBe(401);
      expect(response.body).toEqual(errorBody(response, 'unauthorized', 'a bearer token from this server is required'));
      expect(response.headers['www-authenticate']).toBe('Bearer realm="keygate"');
    });

    it('refuses a bearer token this server did not issue, or one whose key was disabled: 401', async () => {
      const unknown = await keygate.send({
        method: 'GET',
        path: '/admin/v1/audit',
        headers: { authorization: 'Bearer AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA' },
      });
      expect(unknown.status).toBe(401);
      expect(unknown.body).toEqual(errorBody(unknown, 'unauthorized', 'the bearer token is not active'));
      expect(unknown.headers['www-authenticate']).toBe('Bearer realm="keygate", error="invalid_token"');

      const reader = await adminClient(keygate, tenantId, ['admin:audit:read']);
      expect((await admin.post(`/keys/${reader.key.key.client_id}/disable`)).status).toBe(200);
      const disabled = await audit(reader);
      expect(disabled.status).toBe(401);
      expect(disabled.body).toEqual(errorBody(disabled, 'unauthorized', 'the bearer token is not active'));
    });
  });

  describe('invalid queries', () => {
    it.each([
      ['an unknown outcome', 'outcome=maybe', 'outcome', 'Invalid option: expected one of "success"|"denied"'],
      ['an unknown parameter', 'foo=1', 'foo', 'unknown field'],
      ['a since that is not a timestamp', 'since=yesterday', 'since', 'Invalid ISO datetime'],
      ['an until without offset', 'until=2026-01-01T00:00:00', 'until', 'Invalid ISO datetime'],
      ['a cursor this server did not issue', 'cursor=abc', 'cursor', 'Invalid string: must match pattern /^\\d{1,19}$/'],
      ['a limit that is not a number', 'limit=ten', 'limit', 'Invalid string: must match pattern /^\\d{1,7}$/'],
      ['an actor_user_id that is not a UUID', 'actor_user_id=nobody', 'actor_user_id', 'Invalid UUID'],
      ['a repeated parameter', 'outcome=success&outcome=denied', 'outcome', 'Invalid option: expected one of "success"|"denied"'],
    ])('refuses %s: 400 validation_failed naming the field', async (_label, query, field, message) => {
      const response = await admin.get(`/audit?${query}`);
      expect(response.status).toBe(400);
      expect(response.body).toEqual(errorBody(response, 'validation_failed', 'query is invalid', [{ field, message }]));
    });

    it.each([
      ['a cursor beyond the 64-bit id range', 'cursor=9999999999999999999', 'cursor'],
      ['a NUL byte in action', 'action=%00', 'action'],
      ['a NUL byte in key_id', 'key_id=k%00', 'key_id'],
      ['a NUL byte in actor_key_id', 'actor_key_id=%00', 'actor_key_id'],
    ])('refuses %s as invalid input (400 naming the field), not with a 500', async (_label, query, field) => {
      const response = await admin.get(`/audit?${query}`);
      expect(response.body).toEqual({
        error: {
          code: 'validation_failed',
          message: 'query is invalid',
          request_id: response.headers['x-request-id'],
          details: [{ field, message: expect.any(String) }],
        },
      });
      expect(response.status).toBe(400);
    });

    it('accepts the largest cursor there can be', async () => {
      const response = await audit(admin, { actor_key_id: admin.key.key.client_id, cursor: '9223372036854775807', limit: '1' });
      expect(response.status).toBe(200);
      expect(response.body.data).toHaveLength(1);
    });
  });

  describe('nothing that authenticates is recorded', () => {
    it('no event holds a client secret, an api_key or an access token', async () => {
      const key = await newKey();
      const id = key.key.client_id;
      const tokens: string[] = [admin.token];
      const secrets: string[] = [key.client_secret];
      const requestIds: string[] = [];
      const remember = (response: HttpResponse) => {
        requestIds.push(response.headers['x-request-id'] as string);
        return response;
      };

      tokens.push((await keygate.token(key)).body.access_token);
      tokens.push((await keygate.send({ path: '/api/v1/auth/authorize', json: { grantType: 'api_key', apiKey: key.api_key } })).body.data.accessToken);
      tokens.push((await keygate.send({ path: '/auth/external', json: { clientId: id, accessKey: key.client_secret } })).body.data.token);
      const rotated: CreatedKey = (await admin.post(`/keys/${id}/rotate`, { grace_seconds: 60 })).body;
      secrets.push(rotated.client_secret);
      tokens.push((await keygate.token(rotated)).body.access_token);

      // Denied token and introspection requests, including secrets pasted where the client_id belongs.
      const wrong = generateClientSecret();
      secrets.push(wrong);
      remember(await keygate.token(withSecret(key, wrong)));
      remember(
        await keygate.send({
          path: '/oauth/token',
          headers: { authorization: basicAuth(key.client_secret, key.client_secret) },
          form: { grant_type: 'client_credentials' },
        }),
      );
      remember(
        await keygate.send({
          path: '/oauth/token',
          form: { grant_type: 'client_credentials', client_id: key.client_secret, client_secret: key.client_secret },
        }),
      );
      remember(await keygate.send({ path: '/api/v1/auth/authorize', json: { grantType: 'api_key', apiKey: `${id}.${wrong}` } }));
      remember(await keygate.send({ path: '/api/v1/auth/authorize', json: { grantType: 'api_key', apiKey: key.client_secret } }));
      remember(await keygate.send({ path: '/auth/external', json: { clientId: key.client_secret, accessKey: key.client_secret } }));
      remember(await keygate.send({ path: '/auth/external', json: { clientId: id, accessKey: wrong } }));
      remember(await keygate.introspect(withSecret(key, wrong), tokens[1]!));
      remember(await keygate.introspect(key, tokens[1]!));
      await keygate.send({ path: '/oauth/revoke', headers: { authorization: basicAuth(id, wrong) }, form: { token: tokens[1]! } });
      await admin.patch(`/keys/${id}`, { description: 'touched' });
      await admin.post(`/keys/${id}/revoke-tokens`);
      await admin.delete(`/keys/${id}`);

      const { pages } = await allPages(admin, {});
      const viaApi = pages.flat();
      expect(viaApi.filter((e) => e.target_key_id === id).length).toBeGreaterThanOrEqual(10);
      const byRequest = (await Promise.all(requestIds.map((requestId) => keygate.runtime.audit.list({ requestId })))).flat();
      expect(byRequest.map((e) => e.outcome)).toEqual(requestIds.map(() => 'denied')); // one record per denial
      const text = JSON.stringify([viaApi, byRequest]);
      expect(text).not.toContain('kgs_');
      for (const secret of secrets) expect(text).not.toContain(secret.slice('kgs_'.length));
      for (const token of tokens) {
        expect(token).toEqual(expect.stringMatching(/^[A-Za-z0-9_-]{43}$/));
        expect(text).not.toContain(token);
      }
    });
  });
});

/** The same instant written with a UTC offset of `hours` (e.g. 2 → "…+02:00"). */
function inOffset(iso: string, hours: number): string {
  const shifted = new Date(Date.parse(iso) + hours * 3_600_000).toISOString().slice(0, -1);
  const sign = hours < 0 ? '-' : '+';
  return `${shifted}${sign}${String(Math.abs(hours)).padStart(2, '0')}:00`;
}
