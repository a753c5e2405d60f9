// /admin/v1/keys over real HTTP: every endpoint, every limit, tenant boundaries, and the promise
// that narrowing a key ends its live tokens within the same request.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ALL_KEYGATE_SCOPES, adminClient, errorBody, type AdminClient } from '../support/admin.ts';
import { startKeygate, type TestKeygate } from '../support/keygate.ts';

describe('admin API: keys', () => {
  let keygate: TestKeygate;
  let tenantId: string;
  let admin: AdminClient;
  let introspector: Awaited<ReturnType<TestKeygate['createKey']>>;

  beforeAll(async () => {
    keygate = await startKeygate({ tokenStore: 'redis' });
    tenantId = await keygate.newTenant();
    admin = await adminClient(keygate, tenantId, ALL_KEYGATE_SCOPES);
    introspector = await keygate.createKey(tenantId, { scopes: ['token:introspect'] });
  });
  afterAll(() => keygate?.close());

  const create = (body: Record<string, unknown>) => admin.post('/keys', { name: 'svc', scopes: ['devices:read', 'devices:write'], ...body });
  const validation = (response: Awaited<ReturnType<AdminClient['get']>>, details: { field: string; message: string }[]) => {
    expect(response.status).toBe(400);
    expect(response.body).toEqual(errorBody(response, 'validation_failed', 'request body is invalid', details));
  };
  const tokenOf = async (created: { client_secret: string; key: { client_id: string } }, scope?: string) =>
    (await keygate.token(created as never, { scope })).body.access_token as string;
  const isActive = async (token: string) => (await keygate.introspect(introspector, token)).body.active as boolean;

  describe('POST /keys', () => {
    it('creates a key: 201 with the secret, api_key and key file, shown once', async () => {
      const response = await create({
        description: 'sensor fleet',
        networks: ['203.0.113.0/24', '2001:db8::1'],
        token_ttl_seconds: 600,
        rate_limit_per_minute: 120,
      });
      expect(response.status).toBe(201);
      const { key, client_secret, api_key, key_file } = response.body;
      expect(key).toEqual({
        client_id: expect.stringMatching(/^kg_[0-9A-Za-z]{22}$/),
        name: 'svc',
        description: 'sensor fleet',
        kind: 'service',
        tenant_id: tenantId,
        user_id: null,
        scopes: ['devices:read', 'devices:write'],
        networks: ['203.0.113.0/24', '2001:db8::1/128'],
        expires_at: expect.any(String),
        status: 'active',
        token_ttl_seconds: 600,
        rate_limit_per_minute: 120,
        created_by: admin.key.key.client_id,
        created_at: expect.any(String),
        updated_at: expect.any(String),
        last_used_at: null,
        last_used_ip: null,
        auth_method: 'client_secret',
        jwks: null,
        tls_client_auth: null,
        tls_client_certificate: null,
        dpop_required: false,
      });
      const lifetimeDays = (Date.parse(key.expires_at) - Date.parse(key.created_at)) / 86_400_000;
      expect(Math.round(lifetimeDays)).toBe(90);
      expect(client_secret).toMatch(/^kgs_[0-9A-Za-z]{49}$/);
      expect(api_key).toBe(`${key.client_id}.${client_secret}`);
      expect(key_file).toEqual({
        client_id: key.client_id,
        client_secret,
        api_key,
        token_url: 'http://keygate.test/oauth/token',
        issuer: 'http://keygate.test',
        scopes: key.scopes,
        expires_at: key.expires_at,
      });
      const shown = await admin.get(`/keys/${key.client_id}`);
      expect(shown.body).toEqual({ key });
      expect(shown.text).not.toContain(client_secret);
    });

    it('accepts expires_at null (never) and an explicit future expiry', async () => {
      expect((await create({ expires_at: null })).body.key.expires_at).toBeNull();
      const at = new Date(Date.now() + 3_600_000).toISOString();
      expect((await create({ expires_at: at })).body.key.expires_at).toBe(at);
    });

    it.each([
      ['empty name', { name: '' }, 'name', 'Too small: expected string to have >=1 characters'],
      ['256-character name', { name: 'n'.repeat(256) }, 'name', 'Too big: expected string to have <=255 characters'],
      ['1025-character description', { description: 'd'.repeat(1025) }, 'description', 'Too big: expected string to have <=1024 characters'],
      ['11 networks', { networks: Array.from({ length: 11 }, (_, i) => `10.0.${i}.0/24`) }, 'networks', 'Too big: expected array to have <=10 items'],
      ['no scopes', { scopes: [] }, 'scopes', 'Too small: expected array to have >=1 items'],
      ['token TTL under a minute', { token_ttl_seconds: 59 }, 'token_ttl_seconds', 'Too small: expected number to be >=60'],
      ['token TTL over a day', { token_ttl_seconds: 86_401 }, 'token_ttl_seconds', 'Too big: expected number to be <=86400'],
      ['fractional TTL', { token_ttl_seconds: 60.5 }, 'token_ttl_seconds', 'Invalid input: expected int, received number'],
      ['zero rate limit', { rate_limit_per_minute: 0 }, 'rate_limit_per_minute', 'Too small: expected number to be >=1'],
      ['expiry that is not a timestamp', { expires_at: 'tomorrow' }, 'expires_at', 'Invalid ISO datetime'],
      ['unknown kind', { kind: 'robot' }, 'kind', 'Invalid option: expected one of "service"|"user"'],
      ['unknown field', { colour: 'blue' }, 'colour', 'unknown field'],
    ])('refuses %s with a field error', async (_label, body, field, message) => {
      validation(await create(body), [{ field, message }]);
    });

    it.each([
      ['an invalid CIDR', { networks: ['10.0.0.0/33'] }, 'networks', "'10.0.0.0/33' is not an IP address or CIDR"],
      ['a host name as network', { networks: ['example.com'] }, 'networks', "'example.com' is not an IP address or CIDR"],
      ['a scope with a space', { scopes: ['devices read'] }, 'scopes', "'devices read' is not a valid scope (RFC 6749 §3.3 characters, 1–128 long)"],
      ['an unknown Keygate scope', { scopes: ['admin:everything'] }, 'scopes', "'admin:everything' is not a known Keygate scope"],
      ['an expiry in the past', { expires_at: new Date(Date.now() - 1000).toISOString() }, 'expires_at', 'must be a timestamp in the future'],
      ['a user key without a user', { kind: 'user' }, 'user_id', 'user keys need an existing user of the same tenant'],
    ])('refuses %s with a field error', async (_label, body, field, message) => {
      validation(await create(body), [{ field, message }]);
    });

    it('refuses to grant a Keygate scope the caller does not hold', async () => {
      const limited = await adminClient(keygate, tenantId, ['admin:keys:write']);
      const response = await limited.post('/keys', { name: 'escalation', scopes: ['admin:tenants:write'] });
      validation(response, [{ field: 'scopes', message: "'admin:tenants:write' can only be granted by a caller that holds it" }]);
    });

    it('enforces the tenant expiry policy', async () => {
      const strict = await keygate.newTenant();
      await keygate.runtime.db.updateTable('tenants').set({ allow_never_expiring_keys: false, max_key_lifetime_days: 30 }).where('id', '=', strict).execute();
      keygate.afterDirectWrite();
      const strictAdmin = await adminClient(keygate, strict);
      validation(await strictAdmin.post('/keys', { name: 'x', scopes: ['a:read'], expires_at: null }), [
        { field: 'expires_at', message: 'this tenant does not allow keys that never expire' },
      ]);
      validation(await strictAdmin.post('/keys', { name: 'x', scopes: ['a:read'], expires_at: new Date(Date.now() + 31 * 86_400_000).toISOString() }), [
        { field: 'expires_at', message: 'must be within 30 days' },
      ]);
      const defaulted = await strictAdmin.post('/keys', { name: 'x', scopes: ['a:read'] });
      expect(Math.round((Date.parse(defaulted.body.key.expires_at) - Date.now()) / 86_400_000)).toBe(30);
    });

    it('refuses the 21st key of a user', async () => {
      const user = await keygate.newUser(tenantId, 'admin');
      for (let i = 0; i < 20; i++) expect((await create({ kind: 'user', user_id: user.id, scopes: ['devices:read'] })).status).toBe(201);
      const refused = await create({ kind: 'user', user_id: user.id, scopes: ['devices:read'] });
      expect(refused.status).toBe(409);
      expect(refused.body.error).toMatchObject({ code: 'limit_reached', details: [{ field: 'user_id', message: 'already holds 20 user keys' }] });
    });

    it('refuses a body over 16 KiB with 413, a non-JSON type with 415 and broken JSON with 400', async () => {
      const big = await create({ description: 'x'.repeat(20_000) });
      expect(big.status).toBe(413);
      expect(big.body).toEqual(errorBody(big, 'payload_too_large', 'body exceeds 16384 bytes'));
      const form = await keygate.send({ path: '/admin/v1/keys', headers: { authorization: `Bearer ${admin.token}` }, form: { name: 'x' } });
      expect(form.status).toBe(415);
      expect(form.body).toEqual(errorBody(form, 'unsupported_media_type', 'Content-Type must be application/json'));
      const broken = await keygate.send({
        path: '/admin/v1/keys',
        headers: { authorization: `Bearer ${admin.token}`, 'content-type': 'application/json' },
        raw: '{"name":',
      });
      expect(broken.status).toBe(400);
      expect(broken.body).toEqual(errorBody(broken, 'invalid_request', 'body is not valid JSON'));
    });

    it('writes nothing when a request is refused', async () => {
      const before = (await admin.get('/keys?limit=1')).body.counts.total;
      await create({ networks: ['not-an-ip'] });
      expect((await admin.get('/keys?limit=1')).body.counts.total).toBe(before);
    });
  });

  describe('GET /keys', () => {
    let listTenant: string;
    let lister: AdminClient;
    beforeAll(async () => {
      listTenant = await keygate.newTenant();
      lister = await adminClient(keygate, listTenant, ['admin:keys:read', 'admin:keys:write']);
      const make = (body: Record<string, unknown>) => lister.post('/keys', { name: 'k', scopes: ['a:read'], ...body });
      await make({ expires_at: new Date(Date.now() + 5 * 86_400_000).toISOString() });
      await make({ expires_at: new Date(Date.now() + 60 * 86_400_000).toISOString() });
      const disabled = (await make({})).body.key.client_id;
      await lister.post(`/keys/${disabled}/disable`);
      const expired = (await make({})).body.key.client_id;
      await keygate.runtime.db
        .updateTable('api_keys')
        .set({ expires_at: new Date(Date.now() - 1000) })
        .where('client_id', '=', expired)
        .execute();
      keygate.afterDirectWrite();
    });

    it('returns counts over the tenant: total, active, disabled, expired, expiring within 30 days', async () => {
      const response = await lister.get('/keys');
      expect(response.status).toBe(200);
      // The lister's own key is the fifth (active, 90 days).
      expect(response.body.counts).toEqual({ total: 5, active: 3, disabled: 1, expired: 1, expiring_30d: 1 });
      expect(response.body.data).toHaveLength(5);
      expect(response.body.next_cursor).toBeNull();
    });

    it.each([
      ['status=disabled', 1],
      ['status=expired', 1],
      ['status=active', 3],
      ['kind=user', 0],
      ['kind=service', 5],
      ['expiring_within=30d', 1],
      ['expiring_within=7776001', 4],
    ])('filters by %s', async (query, count) => {
      expect((await lister.get(`/keys?${query}`)).body.data).toHaveLength(count);
    });

    it('pages with a stable cursor in the default order', async () => {
      const all = (await lister.get('/keys')).body.data.map((k: { client_id: string }) => k.client_id);
      const seen: string[] = [];
      let path = '/keys?limit=2';
      for (let i = 0; i < 5; i++) {
        const page = await lister.get(path);
        seen.push(...page.body.data.map((k: { client_id: string }) => k.client_id));
        if (!page.body.next_cursor) break;
        path = `/keys?limit=2&cursor=${page.body.next_cursor}`;
      }
      expect(seen).toEqual(all);
    });

    it('refuses a bad filter or cursor with a field error', async () => {
      const status = await lister.get('/keys?status=lost');
      expect(status.status).toBe(400);
      expect(status.body.error.details).toEqual([{ field: 'status', message: 'Invalid option: expected one of "active"|"disabled"|"expired"' }]);
      const cursor = await lister.get('/keys?cursor=garbage');
      expect(cursor.body).toEqual(
        errorBody(cursor, 'validation_failed', 'query is invalid', [{ field: 'cursor', message: 'not a cursor this server issued' }]),
      );
    });
  });

  describe('PATCH /keys/{id}', () => {
    it('changes name, description, TTL and rate limit, keeping live tokens', async () => {
      const created = (await create({})).body;
      const token = await tokenOf(created);
      const response = await admin.patch(`/keys/${created.key.client_id}`, {
        name: 'renamed',
        description: null,
        token_ttl_seconds: 300,
        rate_limit_per_minute: 10,
      });
      expect(response.status).toBe(200);
      expect(response.body.key).toMatchObject({ name: 'renamed', description: null, token_ttl_seconds: 300, rate_limit_per_minute: 10 });
      expect(await isActive(token)).toBe(true);
      expect((await keygate.token(created)).body.expires_in).toBe(300);
    });

    it.each([
      ['fewer scopes', { scopes: ['devices:read'] }],
      ['narrower networks', { networks: ['127.0.0.1/32'] }],
      ['an earlier expiry', { expires_at: new Date(Date.now() + 3_600_000).toISOString() }],
    ])('drops live tokens at once on %s', async (_label, patch) => {
      const created = (await create({ networks: ['127.0.0.0/8'] })).body;
      const token = await tokenOf(created);
      expect(await isActive(token)).toBe(true);
      expect((await admin.patch(`/keys/${created.key.client_id}`, patch)).status).toBe(200);
      expect(await isActive(token)).toBe(false);
    });

    it('keeps live tokens when rights only widen', async () => {
      const created = (await create({ networks: ['127.0.0.1/32'], scopes: ['devices:read'] })).body;
      const token = await tokenOf(created);
      expect(
        (await admin.patch(`/keys/${created.key.client_id}`, { scopes: ['devices:read', 'devices:write'], networks: ['127.0.0.0/8'], expires_at: null }))
          .status,
      ).toBe(200);
      expect(await isActive(token)).toBe(true);
    });

    it('refuses invalid changes field by field and changes nothing', async () => {
      const created = (await create({})).body;
      validation(await admin.patch(`/keys/${created.key.client_id}`, { name: '', networks: ['300.0.0.1'] }), [
        { field: 'name', message: 'Too small: expected string to have >=1 characters' },
        { field: 'networks', message: "'300.0.0.1' is not an IP address or CIDR" },
      ]);
      validation(await admin.patch(`/keys/${created.key.client_id}`, { name: '   ' }), [{ field: 'name', message: 'must not be blank' }]);
      validation(await admin.patch(`/keys/${created.key.client_id}`, { networks: ['300.0.0.1'] }), [
        { field: 'networks', message: "'300.0.0.1' is not an IP address or CIDR" },
      ]);
      expect((await admin.get(`/keys/${created.key.client_id}`)).body.key.networks).toEqual([]);
    });
  });

  describe('state changes', () => {
    it('disable drops tokens and refuses new ones; enable lets the key work again', async () => {
      const created = (await create({})).body;
      const token = await tokenOf(created);
      const disabled = await admin.post(`/keys/${created.key.client_id}/disable`);
      expect(disabled.status).toBe(200);
      expect(disabled.body.key.status).toBe('disabled');
      expect(await isActive(token)).toBe(false);
      expect((await keygate.token(created)).status).toBe(401);
      expect((await admin.post(`/keys/${created.key.client_id}/enable`)).body.key.status).toBe('active');
      expect(await isActive(await tokenOf(created))).toBe(true);
    });

    it('revoke-tokens drops every live token and says how many', async () => {
      const created = (await create({})).body;
      const tokens = [await tokenOf(created), await tokenOf(created), await tokenOf(created)];
      const response = await admin.post(`/keys/${created.key.client_id}/revoke-tokens`);
      expect(response.status).toBe(200);
      expect(response.body).toEqual({ revoked_tokens: 3 });
      for (const token of tokens) expect(await isActive(token)).toBe(false);
      expect(await isActive(await tokenOf(created))).toBe(true);
    });

    it('delete answers 204, ends live tokens, and the key is gone', async () => {
      const created = (await create({})).body;
      const token = await tokenOf(created);
      const response = await admin.delete(`/keys/${created.key.client_id}`);
      expect(response.status).toBe(204);
      expect(response.text).toBe('');
      expect(await isActive(token)).toBe(false);
      const gone = await admin.get(`/keys/${created.key.client_id}`);
      expect(gone.body).toEqual(errorBody(gone, 'not_found', 'no such key'));
    });
  });

  describe('authentication, scopes and tenants', () => {
    it('401 without a bearer token, and for a token that is no longer active', async () => {
      const none = await keygate.send({ method: 'GET', path: '/admin/v1/keys' });
      expect(none.status).toBe(401);
      expect(none.headers['www-authenticate']).toBe('Bearer realm="keygate"');
      expect(none.body).toEqual(errorBody(none, 'unauthorized', 'a bearer token from this server is required'));
      const revokedAdmin = await adminClient(keygate, tenantId);
      await keygate.runtime.keyService.setStatus(revokedAdmin.key.key.client_id, 'disabled', { keyId: null, userId: null, via: 'test' });
      const stale = await revokedAdmin.get('/keys');
      expect(stale.status).toBe(401);
      expect(stale.headers['www-authenticate']).toBe('Bearer realm="keygate", error="invalid_token"');
      expect(stale.body).toEqual(errorBody(stale, 'unauthorized', 'the bearer token is not active'));
    });

    it('403 when the token lacks admin:keys:write, and nothing is created', async () => {
      const reader = await adminClient(keygate, tenantId, ['admin:keys:read']);
      const before = (await reader.get('/keys?limit=1')).body.counts.total;
      const response = await reader.post('/keys', { name: 'nope', scopes: ['a:read'] });
      expect(response.status).toBe(403);
      expect(response.body).toEqual(errorBody(response, 'forbidden', "this token lacks the 'admin:keys:write' scope"));
      expect((await reader.get('/keys?limit=1')).body.counts.total).toBe(before);
    });

    it('403 for a token that asked for fewer scopes than its key holds', async () => {
      const token = (await keygate.token(admin.key, { scope: 'admin:keys:read' })).body.access_token;
      const response = await keygate.send({ path: '/admin/v1/keys', headers: { authorization: `Bearer ${token}` }, json: { name: 'x', scopes: ['a:read'] } });
      expect(response.status).toBe(403);
    });

    it('another tenant’s admin sees 404 for this tenant’s keys, and changes nothing', async () => {
      const created = (await create({})).body;
      const stranger = await adminClient(keygate, await keygate.newTenant());
      for (const [method, path] of [
        ['get', ''],
        ['post', '/disable'],
        ['post', '/rotate'],
        ['post', '/revoke-tokens'],
        ['delete', ''],
      ] as const) {
        const response =
          method === 'get'
            ? await stranger.get(`/keys/${created.key.client_id}${path}`)
            : method === 'delete'
              ? await stranger.delete(`/keys/${created.key.client_id}${path}`)
              : await stranger.post(`/keys/${created.key.client_id}${path}`, path === '/rotate' ? { grace_seconds: 0 } : {});
        expect(response.status).toBe(404);
        expect(response.body).toEqual(errorBody(response, 'not_found', 'no such key'));
      }
      const patched = await stranger.patch(`/keys/${created.key.client_id}`, { name: 'hijacked' });
      expect(patched.status).toBe(404);
      expect((await stranger.get('/keys')).body.data.map((k: { client_id: string }) => k.client_id)).not.toContain(created.key.client_id);
      expect((await admin.get(`/keys/${created.key.client_id}`)).body.key).toMatchObject({ name: 'svc', status: 'active' });
      expect(await isActive(await tokenOf(created))).toBe(true);
    });

    it('a parent tenant’s admin manages keys of its child tenant', async () => {
      const child = (await keygate.runtime.tenants.insert({ name: 'child', parentId: tenantId })).id;
      const created = await admin.post('/keys', { name: 'for the child', scopes: ['a:read'], tenant_id: child });
      expect(created.status).toBe(201);
      expect(created.body.key.tenant_id).toBe(child);
      expect((await admin.get(`/keys?tenant_id=${child}`)).body.data).toHaveLength(1);
      expect((await admin.post(`/keys/${created.body.key.client_id}/disable`)).status).toBe(200);
      const childAdmin = await adminClient(keygate, child);
      validation(await childAdmin.post('/keys', { name: 'up', scopes: ['a:read'], tenant_id: tenantId }), [{ field: 'tenant_id', message: 'no such tenant' }]);
    });

    it('answers 404 for an unknown admin path and 405 for a wrong method', async () => {
      const missing = await admin.get('/nothing');
      expect(missing.body).toEqual(errorBody(missing, 'not_found', 'no such route'));
      const wrong = await admin.get('/keys/x/rotate');
      expect(wrong.status).toBe(405);
      expect(wrong.headers.allow).toBe('POST');
    });
  });
});
