// Property-based fuzzing of the admin API (/admin/v1: keys, tenants, users, audit) over real HTTP:
// random credentials, random JSON bodies, random query strings, odd path ids, hostile bodies.
// Every answer is Keygate's error shape with a code from the closed list and its status, or a
// JSON success; never a 5xx, never a reset, never a success without a usable admin token.
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CreatedKey } from '../../src/keys/types.ts';
import type { User } from '../../src/stores/users.ts';
import { adminClient, ALL_ADMIN_SCOPES, type AdminClient } from '../support/admin.ts';
import {
  anyBody,
  authorizationHeader,
  CONTENT_TYPES,
  expectKeygateErrorShape,
  expectKeygateResponse,
  extraHeaders,
  fitsHeaderLimit,
  FRESH_CLIENT_IDS,
  FRESH_SECRETS,
  fuzzParameters,
  invalidUtf8Bytes,
  ipHop,
  jsonBody,
  junkText,
  oversizedBody,
  pathSafe,
  PROPERTY_TIMEOUT,
  queryString,
  quietAddress,
  rawSend,
  type RawRequest,
  type RawResponse,
  sourceAddress,
  StatusTally,
  textWithInvalidUtf8,
} from '../support/fuzz.ts';
import { startKeygate, type TestKeygate } from '../support/keygate.ts';

const TEST_ACTOR = { keyId: null, userId: null, via: 'test' };
const BLOCK = 107;
const from = sourceAddress(BLOCK);

type Template = { method: string; path: string; body: boolean; query?: string[] };
const ROUTES: Template[] = [
  { method: 'POST', path: '/keys', body: true },
  { method: 'GET', path: '/keys', body: false, query: ['status', 'kind', 'user_id', 'tenant_id', 'expiring_within', 'limit', 'cursor'] },
  { method: 'GET', path: '/keys/{id}', body: false },
  { method: 'PATCH', path: '/keys/{id}', body: true },
  { method: 'POST', path: '/keys/{id}/rotate', body: true },
  { method: 'POST', path: '/keys/{id}/disable', body: false },
  { method: 'POST', path: '/keys/{id}/enable', body: false },
  { method: 'POST', path: '/keys/{id}/revoke-tokens', body: false },
  { method: 'DELETE', path: '/keys/{id}', body: false },
  { method: 'POST', path: '/tenants', body: true },
  { method: 'GET', path: '/tenants', body: false },
  { method: 'GET', path: '/tenants/{id}', body: false },
  { method: 'PATCH', path: '/tenants/{id}', body: true },
  { method: 'POST', path: '/tenants/{id}/disable', body: false },
  { method: 'POST', path: '/tenants/{id}/enable', body: false },
  { method: 'POST', path: '/users', body: true },
  { method: 'GET', path: '/users', body: false, query: ['tenant_id'] },
  { method: 'GET', path: '/users/{id}', body: false },
  { method: 'PATCH', path: '/users/{id}', body: true },
  { method: 'POST', path: '/users/{id}/disable', body: false },
  { method: 'POST', path: '/users/{id}/enable', body: false },
  { method: 'DELETE', path: '/users/{id}', body: false },
  { method: 'GET', path: '/audit', body: false, query: ['key_id', 'actor_key_id', 'actor_user_id', 'action', 'outcome', 'since', 'until', 'limit', 'cursor'] },
];
const LIST_ROUTES = ROUTES.filter((r) => r.method === 'GET' && !r.path.includes('{id}'));
const ID_ROUTES = ROUTES.filter((r) => r.path.includes('{id}'));
const BODY_ROUTES = ROUTES.filter((r) => r.body);
const BODY_FIELDS = [
  'name',
  'description',
  'kind',
  'user_id',
  'tenant_id',
  'scopes',
  'networks',
  'expires_at',
  'token_ttl_seconds',
  'rate_limit_per_minute',
  'grace_seconds',
  'allow_never_expiring_keys',
  'max_key_lifetime_days',
  'email',
  'role',
  'status',
  'client_id',
  'secret_hash',
  'created_by',
  '__proto__',
  'constructor',
];

describe('fuzz: admin API /admin/v1 (Redis)', () => {
  let keygate: TestKeygate;
  let tenantId: string;
  let childId: string;
  let admin: AdminClient;
  /** Keys, users and a tenant the fuzz may change, disable or delete. */
  let victimKeys: CreatedKey[];
  let victimUsers: User[];
  /** Bearer tokens that must never open the admin API. */
  let noAdminToken: string;
  let revokedToken: string;
  let disabledKeyToken: string;

  const send = (request: RawRequest) => rawSend(keygate.port, request);

  beforeAll(async () => {
    keygate = await startKeygate({ tokenStore: 'redis' });
    tenantId = await keygate.newTenant();
    childId = (await keygate.runtime.tenants.insert({ name: 'fuzz child', parentId: tenantId })).id;
    admin = await adminClient(keygate, tenantId);
    victimKeys = await Promise.all(Array.from({ length: 6 }, (_, i) => keygate.createKey(i % 2 ? childId : tenantId)));
    victimUsers = await Promise.all([keygate.newUser(tenantId, 'manager'), keygate.newUser(tenantId, 'viewer'), keygate.newUser(childId, 'member')]);

    const plain = await keygate.createKey(tenantId, { scopes: ['devices:read'] });
    noAdminToken = (await keygate.token(plain)).body.access_token;
    const revokedOwner = await keygate.createKey(tenantId, { scopes: ALL_ADMIN_SCOPES });
    revokedToken = (await keygate.token(revokedOwner)).body.access_token;
    await keygate.runtime.keyService.revokeTokens(revokedOwner.key.client_id, TEST_ACTOR);
    const disabledOwner = await keygate.createKey(tenantId, { scopes: ALL_ADMIN_SCOPES });
    disabledKeyToken = (await keygate.token(disabledOwner)).body.access_token;
    await keygate.runtime.keyService.setStatus(disabledOwner.key.client_id, 'disabled', TEST_ACTOR);
    expect(noAdminToken && revokedToken && disabledKeyToken).toBeTruthy();
    g = makeGenerators();
  });

  afterAll(() => keygate?.close());

  // ------------------------------------------------------------------------------------------
  // Generators

  /** Built once the fixtures exist (they feed the id and field pools). */
  function makeGenerators() {
    const uuidish = fc.string({ unit: fc.constantFrom(...'0123456789abcdefABCDEF-'), minLength: 36, maxLength: 36 });
    /** A path id, as it goes on the request line. */
    const pathId = (): fc.Arbitrary<string> =>
      fc
        .oneof(
          { weight: 2, arbitrary: fc.constantFrom(...victimKeys.map((k) => k.key.client_id), ...victimUsers.map((u) => u.id), childId, tenantId) },
          { weight: 1, arbitrary: fc.constantFrom(...FRESH_CLIENT_IDS) },
          { weight: 1, arbitrary: fc.uuid().map((u) => u) },
          { weight: 1, arbitrary: uuidish },
          {
            weight: 1,
            arbitrary: fc.constantFrom(
              '-'.repeat(36),
              '0'.repeat(36),
              'f'.repeat(36),
              `${'-'.repeat(35)}a`,
              '00000000-0000-0000-0000-00000000000g',
              '00000000-0000-0000-0000-000000000000',
            ),
          },
          {
            weight: 3,
            arbitrary: fc.constantFrom(
              '.',
              '..',
              '%2e',
              '%2E%2E',
              '%2F',
              'a%2Fb',
              '%00',
              'kg_%00',
              '%ff',
              '%c0%af',
              '%',
              '%zz',
              '%25',
              '~',
              '*',
              ';',
              ':',
              '@',
              '%20',
              '+',
              'null',
              'undefined',
              '0',
              '-1',
              '1e999',
              'NaN',
              '[]',
              '{}',
              "'",
              '"',
              '\\',
              "'; DROP TABLE api_keys; --",
              'kg_',
              'KG_AAAAAAAAAAAAAAAAAAAAAA',
              'kg_\u00e9',
              'ｋｇ_x',
            ),
          },
          {
            weight: 1,
            arbitrary: fc
              .tuple(fc.constantFrom(...victimKeys.map((k) => k.key.client_id)), fc.constantFrom('%00', '.', '%20', '/', '..', '%2F..', 'x', '%0A', ';'))
              .map(([id, s]) => `${id}${s}`),
          },
          { weight: 2, arbitrary: junkText.map(pathSafe) },
          {
            weight: 1,
            arbitrary: fc
              .tuple(invalidUtf8Bytes, fc.boolean())
              .map(([b, prefix]) => `${prefix ? 'kg_' : ''}${[...b].map((x) => `%${x.toString(16).toUpperCase().padStart(2, '0')}`).join('')}`),
          },
          { weight: 1, arbitrary: fc.integer({ min: 200, max: 5000 }).map((n) => 'i'.repeat(n)) },
        )
        .filter((id) => id !== '' && id !== admin.key.key.client_id && !id.includes('/') && !id.includes('?'));

    const withId = (template: string, id: string) => template.replace('{id}', pathSafe(id));

    const timestamp = fc.oneof(
      fc.date({ min: new Date(-8.64e15), max: new Date(8.64e15), noInvalidDate: true }).map((d) => d.toISOString()),
      fc.date({ min: new Date(Date.now() + 60_000), max: new Date(Date.now() + 300 * 86_400_000), noInvalidDate: true }).map((d) => d.toISOString()),
      fc.constantFrom(
        '2026-02-30T00:00:00Z',
        '2027-02-29T00:00:00Z',
        '2028-02-29T23:59:60Z',
        '9999-12-31T23:59:59Z',
        '0000-01-01T00:00:00Z',
        '+275760-09-13T00:00:00.000Z',
        '-271821-04-20T00:00:00.000Z',
        '2030-01-01T00:00:00+14:00',
        '2030-01-01T00:00:00-23:59',
        '2030-01-01T00:00:00+24:00',
        '2030-01-01',
        '2030-01-01T00:00:00',
        '2030-01-01T00:00:00.123456789Z',
        '1e12',
        '',
        'now',
        '2030-01-01T00:00:00Z\u0000',
      ),
      fc.integer().map((n) => n),
    );
    const number = fc.oneof(
      fc.integer(),
      fc.double(),
      fc.constantFrom(0, -0, 59, 60, 86_400, 86_401, 604_800, 604_801, 1e308, -1e308, 2 ** 53, 2 ** 31, 2 ** 63, 1.5),
      fc.constantFrom('60', '', null, true, [], {}),
    );
    const stringish = fc.oneof(
      junkText,
      fc.constantFrom(null, 1, true, [], {}, ['x']),
      fc.integer({ min: 250, max: 2000 }).map((n) => 'n'.repeat(n)),
    );
    const scopeList = fc.oneof(
      fc.array(
        fc.oneof(
          fc.constantFrom(
            'devices:read',
            'devices:write',
            'token:introspect',
            ...ALL_ADMIN_SCOPES,
            'admin:*',
            'admin:unknown',
            'token:',
            'a b',
            '"',
            '\\',
            'é',
            '',
          ),
          junkText,
        ),
        { maxLength: 8 },
      ),
      fc.integer({ min: 99, max: 150 }).map((n) => Array.from({ length: n }, (_, i) => `s${i}:read`)),
      fc.constantFrom('devices:read', null, [], [null], [1], [['devices:read']]),
    );
    const networkList = fc.oneof(
      fc.array(
        fc.oneof(
          ipHop,
          fc.tuple(fc.ipV4(), fc.integer({ min: -1, max: 40 })).map(([ip, p]) => `${ip}/${p}`),
          fc.tuple(fc.ipV6(), fc.integer({ min: -1, max: 200 })).map(([ip, p]) => `${ip}/${p}`),
          fc.constantFrom(
            '::ffff:10.0.0.0/104',
            '::ffff:10.0.0.0/95',
            '0.0.0.0/0',
            '::/0',
            '10.0.0.5/24',
            '10.0.0.0/08',
            '10.0.0.0/ 8',
            '10.0.0.0/8/8',
            '1.2.3.4/',
            '/24',
          ),
        ),
        { maxLength: 12 },
      ),
      fc.constantFrom('10.0.0.0/8', null, [null], [1]),
    );
    const uuidField = fc.oneof(fc.uuid(), uuidish, fc.constantFrom(...victimUsers.map((u) => u.id)), fc.constantFrom(childId, tenantId), junkText);

    /** Bodies shaped like each route's schema, with hostile values in every field. */
    const shapedBody = fc
      .record(
        {
          name: stringish,
          description: stringish,
          kind: fc.oneof(fc.constantFrom('service', 'user', 'USER', ''), stringish),
          user_id: uuidField,
          tenant_id: uuidField,
          scopes: scopeList,
          networks: networkList,
          expires_at: fc.oneof(timestamp, fc.constant(null)),
          token_ttl_seconds: number,
          rate_limit_per_minute: number,
          grace_seconds: number,
          allow_never_expiring_keys: fc.oneof(fc.boolean(), stringish),
          max_key_lifetime_days: number,
          email: fc.oneof(
            fc.emailAddress(),
            fc.constantFrom('a@b', '@x.y', 'a@b..c', `${'a'.repeat(320)}@x.y`, 'A@EXAMPLE.TEST', 'a@b.c\u0000', 'é@é.é'),
            stringish,
          ),
          role: fc.oneof(fc.constantFrom('admin', 'manager', 'member', 'viewer', 'owner', 'ADMIN'), stringish),
          extra: fc.jsonValue({ maxDepth: 1 }),
        },
        { requiredKeys: [] },
      )
      .map((o) => Buffer.from(JSON.stringify(o)));

    const adminBody = fc.oneof(
      { weight: 4, arbitrary: shapedBody },
      {
        weight: 2,
        arbitrary: fc
          .dictionary(fc.oneof(fc.constantFrom(...BODY_FIELDS), junkText), fc.jsonValue({ maxDepth: 2 }), { maxKeys: 6 })
          .map((o) => Buffer.from(JSON.stringify(o))),
      },
      { weight: 1, arbitrary: fc.object().map((o) => Buffer.from(JSON.stringify(o) ?? '{}')) },
      { weight: 1, arbitrary: fc.anything({ withNullPrototype: true, withObjectString: true }).map((o) => Buffer.from(JSON.stringify(o) ?? 'undefined')) },
      { weight: 1, arbitrary: jsonBody },
    );
    /** Mostly a valid value, sometimes a hostile one: so requests get past validation and reach the services. */
    const field = <T, U>(valid: fc.Arbitrary<T>, hostile: fc.Arbitrary<U>) => fc.oneof({ weight: 4, arbitrary: valid }, { weight: 1, arbitrary: hostile });
    const futureDate = fc.integer({ min: 120, max: 80 * 86_400 }).map((s) => new Date(Date.now() + s * 1000).toISOString());
    const validNetworks = fc.array(
      fc.oneof(
        fc.ipV4(),
        fc.ipV6(),
        fc.tuple(fc.ipV4(), fc.integer({ min: 0, max: 32 })).map(([ip, p]) => `${ip}/${p}`),
        fc.tuple(fc.ipV6(), fc.integer({ min: 0, max: 128 })).map(([ip, p]) => `${ip}/${p}`),
      ),
      { maxLength: 4 },
    );
    const keyFields = {
      name: field(fc.string({ minLength: 1, maxLength: 40 }), stringish),
      description: field(fc.option(fc.string({ maxLength: 200 })), stringish),
      scopes: field(
        fc.uniqueArray(fc.constantFrom('devices:read', 'devices:write', 'fleet:x', ...ALL_ADMIN_SCOPES), { minLength: 1, maxLength: 4 }),
        scopeList,
      ),
      networks: field(validNetworks, networkList),
      expires_at: field(fc.option(futureDate), timestamp),
      token_ttl_seconds: field(fc.integer({ min: 60, max: 86_400 }), number),
      rate_limit_per_minute: field(fc.option(fc.integer({ min: 1, max: 1000 })), number),
    };
    const validBody: Record<string, fc.Arbitrary<Record<string, unknown>>> = {
      'POST /keys': fc.record(
        {
          ...keyFields,
          kind: field(fc.constant('service'), fc.constantFrom('user', 'USER', '', null)),
          user_id: field(fc.constantFrom(...victimUsers.map((u) => u.id)), uuidField),
          tenant_id: field(fc.constantFrom(tenantId, childId), uuidField),
        },
        { requiredKeys: ['name', 'scopes'] },
      ),
      'PATCH /keys/{id}': fc.record(keyFields, { requiredKeys: [] }),
      'POST /keys/{id}/rotate': fc.record({ grace_seconds: field(fc.integer({ min: 0, max: 604_800 }), number) }),
      'POST /tenants': fc.record(
        {
          name: field(fc.string({ minLength: 1, maxLength: 40 }), stringish),
          allow_never_expiring_keys: field(fc.boolean(), stringish),
          max_key_lifetime_days: field(fc.option(fc.integer({ min: 1, max: 36_500 })), number),
        },
        { requiredKeys: ['name'] },
      ),
      'PATCH /tenants/{id}': fc.record(
        {
          name: field(fc.string({ minLength: 1, maxLength: 40 }), stringish),
          allow_never_expiring_keys: field(fc.boolean(), stringish),
          max_key_lifetime_days: field(fc.option(fc.integer({ min: 1, max: 36_500 })), number),
        },
        { requiredKeys: [] },
      ),
      'POST /users': fc.record(
        {
          email: field(
            fc.emailAddress(),
            fc.oneof(fc.constantFrom('a@b', '@x.y', `${'a'.repeat(320)}@x.y`, 'A@EXAMPLE.TEST', 'é@é.é', 'a@b.c\u0000'), stringish),
          ),
          role: field(fc.constantFrom('admin', 'manager', 'member', 'viewer'), fc.constantFrom('owner', 'ADMIN', '', null)),
          name: field(fc.option(fc.string({ minLength: 1, maxLength: 40 })), stringish),
          tenant_id: field(fc.constantFrom(tenantId, childId), uuidField),
        },
        { requiredKeys: ['email', 'role'] },
      ),
      'PATCH /users/{id}': fc.record(
        {
          role: field(fc.constantFrom('admin', 'manager', 'member', 'viewer'), fc.constantFrom('owner', 'ADMIN', '', null)),
          name: field(fc.option(fc.string({ minLength: 1, maxLength: 40 })), stringish),
        },
        { requiredKeys: [] },
      ),
    };
    /** The right kind of id for a route most of the time (never the caller's own tenant: its settings stay put). */
    const idFor = (route: Template): fc.Arbitrary<string> =>
      fc
        .oneof(
          {
            weight: 3,
            arbitrary: route.path.startsWith('/keys')
              ? fc.constantFrom(...victimKeys.map((k) => k.key.client_id))
              : route.path.startsWith('/users')
                ? fc.constantFrom(...victimUsers.map((u) => u.id))
                : fc.constant(childId),
          },
          // Unknown ids of the right shapes (odd ids have their own property below).
          { weight: 1, arbitrary: fc.oneof(fc.constantFrom(...FRESH_CLIENT_IDS), fc.uuid()) },
        )
        .filter((id) => id !== tenantId);

    return { uuidish, pathId, withId, timestamp, number, stringish, scopeList, networkList, uuidField, shapedBody, adminBody, validBody, idFor };
  }
  let g: ReturnType<typeof makeGenerators>;

  const bearer = (token: string): [string, string] => ['Authorization', `Bearer ${token}`];
  const adminRequest = (method: string, path: string, source: string, body?: Buffer, type = 'application/json'): RawRequest => ({
    method,
    path: `/admin/v1${path}`,
    from: source,
    body,
    headers: [bearer(admin.token), ...(body ? [['Content-Type', type] as [string, string]] : [])],
  });

  function expectAdminAnswer(response: RawResponse, request: RawRequest): void {
    expectKeygateResponse(response, request);
    if (response.status === 401)
      expect(response.headers['www-authenticate'], `admin 401 without a Bearer challenge: ${response.text}`).toMatch(/^Bearer realm="keygate"/);
    if (response.status === 403 && response.body?.error?.code === 'forbidden' && /lacks the/.test(response.body.error.message)) {
      expect(response.headers['www-authenticate'], `admin 403 without insufficient_scope: ${response.text}`).toMatch(/error="insufficient_scope"/);
    }
  }

  // ------------------------------------------------------------------------------------------
  // Properties

  it(
    'every route, without a usable admin token (none, junk, other schemes, revoked, disabled key, no admin scope): never a success',
    async () => {
      const token = fc.oneof(
        { weight: 3, arbitrary: authorizationHeader(fc.tuple(fc.constantFrom(...FRESH_CLIENT_IDS), fc.constantFrom(...FRESH_SECRETS))) },
        { weight: 1, arbitrary: fc.constantFrom(revokedToken, disabledKeyToken, noAdminToken).map((t) => `Bearer ${t}`) },
        {
          weight: 1,
          arbitrary: fc
            .tuple(fc.nat({ max: 42 }), fc.constantFrom(...'AZaz09-_'))
            .map(([i, c]) => `Bearer ${admin.token.slice(0, i)}${c}${admin.token.slice(i + 1)}`)
            .filter((h) => h !== `Bearer ${admin.token}`),
        },
        {
          weight: 1,
          arbitrary: fc
            .constantFrom(
              `bearer ${admin.token.slice(1)}`,
              `Bearer  ${admin.token}x`,
              `Bearer ${admin.token}=`,
              `Bearer ${admin.token.toUpperCase()}`,
              `Basic ${admin.token}`,
              `Token ${admin.token}`,
              `Bearer ${admin.token},`,
            )
            .filter((h) => h !== `Bearer ${admin.token}`),
        },
      );
      const tally = new StatusTally();
      await fc.assert(
        fc.asyncProperty(
          fc.constantFrom(...ROUTES),
          fc.oneof(
            { weight: 4, arbitrary: fc.constant(undefined) },
            { weight: 1, arbitrary: fc.constantFrom('GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS') },
          ),
          g.pathId(),
          fc.option(token, { nil: undefined }),
          fc.option(g.adminBody, { nil: undefined }),
          extraHeaders(),
          from,
          async (route, otherMethod, id, authorization, body, extra, source) => {
            const request: RawRequest = {
              method: otherMethod ?? route.method,
              path: `/admin/v1${g.withId(route.path, id)}`,
              from: source,
              body,
              headers: [
                ...(authorization === undefined ? [] : [['Authorization', authorization] as [string, string]]),
                ...(body ? [['Content-Type', 'application/json'] as [string, string]] : []),
                ...extra,
              ],
            };
            if (!fitsHeaderLimit(request)) return;
            const response = await send(request);
            tally.add(response.status);
            expectKeygateErrorShape(response, request);
            expect([401, 403, 404, 405], `${response.status} ${response.text.slice(0, 300)}`).toContain(response.status);
            if (response.status === 401) expect(response.headers['www-authenticate']).toMatch(/^Bearer realm="keygate"/);
          },
        ),
        fuzzParameters(300),
      );
      console.log(`admin without a usable token: ${tally}`);
    },
    PROPERTY_TIMEOUT,
  );

  it(
    'body routes with an admin token: random and schema-shaped JSON bodies get a success or a Keygate error',
    async () => {
      const tally = new StatusTally();
      const routeAndId = fc.constantFrom(...BODY_ROUTES).chain((route) => g.idFor(route).map((id): [Template, string] => [route, id]));
      await fc.assert(
        fc.asyncProperty(routeAndId, g.adminBody, from, async ([route, id], body, source) => {
          const request = adminRequest(route.method, g.withId(route.path, id), source, body);
          if (!fitsHeaderLimit(request)) return;
          const response = await send(request);
          tally.add(response.status);
          expectAdminAnswer(response, request);
          if (response.status === 201 && route.path === '/keys') {
            // A created key never holds a Keygate scope its creator lacks (the admin holds no token:introspect).
            expect(response.body.key.scopes).not.toContain('token:introspect');
            expect(response.body.client_secret).toMatch(/^kgs_[0-9A-Za-z]{49}$/);
          }
        }),
        fuzzParameters(300),
      );
      console.log(`admin bodies: ${tally}`);
    },
    PROPERTY_TIMEOUT,
  );

  it(
    'body routes with an admin token: schema-valid bodies with hostile fields mixed in reach the services and answer a success or a Keygate error',
    async () => {
      const tally = new StatusTally();
      const request = fc
        .constantFrom(...BODY_ROUTES)
        .chain((route) => fc.tuple(fc.constant(route), g.idFor(route), g.validBody[`${route.method} ${route.path}`]!));
      await fc.assert(
        fc.asyncProperty(request, from, async ([route, id, body], source) => {
          const req = adminRequest(route.method, g.withId(route.path, id), source, Buffer.from(JSON.stringify(body)));
          const response = await send(req);
          tally.add(response.status);
          expectAdminAnswer(response, req);
          if (response.status === 201 && route.path === '/keys') {
            expect(response.body.key.scopes).not.toContain('token:introspect');
            expect([tenantId, childId]).toContain(response.body.key.tenant_id);
            expect(response.body.key.status).toBe('active');
          }
        }),
        fuzzParameters(300),
      );
      console.log(`admin near-valid bodies: ${tally}`);
      expect(tally.get(200) + tally.get(201), 'some requests got through validation').toBeGreaterThan(30);
    },
    PROPERTY_TIMEOUT,
  );

  it(
    'list routes with an admin token: random query strings (duplicates, junk cursors, odd dates) are 200 or a Keygate 4xx',
    async () => {
      const b64json = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
      const cursorValue = fc.oneof(
        junkText,
        fc.tuple(g.timestamp, fc.oneof(fc.constantFrom(...FRESH_CLIENT_IDS), junkText)).map(([at, id]) => b64json([at, id])),
        fc.constantFrom(
          b64json(['-271821-04-20T00:00:00.000Z', 'kg_x']),
          b64json(['+275760-09-13T00:00:00.000Z', 'kg_x']),
          b64json(['2026-01-01T00:00:00Z', 'kg_\u0000']),
          b64json(['2026-01-01T00:00:00Z', 7]),
          b64json(['2026-01-01T00:00:00Z']),
          b64json({}),
          b64json(null),
          b64json(['x'.repeat(100), 'y']),
          '9223372036854775807',
          '9223372036854775808',
          '0',
          '-1',
          '00000000000000000001',
        ),
      );
      const valueFor = fc.oneof(
        { weight: 3, arbitrary: junkText },
        {
          weight: 2,
          arbitrary: fc.constantFrom(
            'active',
            'disabled',
            'expired',
            'service',
            'user',
            'success',
            'denied',
            'key.create',
            'token.issue',
            '30d',
            '0',
            '1',
            '200',
            '201',
            '9999999',
            '99999999',
            '1s',
            '1w',
            '-1',
            '1.5',
            '0x10',
            ' 5',
          ),
        },
        { weight: 2, arbitrary: g.uuidField.map(String) },
        { weight: 2, arbitrary: g.timestamp.map(String) },
        { weight: 2, arbitrary: cursorValue },
      );
      const tally = new StatusTally();
      const routeAndQuery = fc
        .constantFrom(...LIST_ROUTES)
        .chain((route) =>
          queryString([...(route.query ?? ['limit', 'cursor', 'tenant_id']), 'unknown', 'limit[]', 'status[0]'], valueFor).map((query): [Template, string] => [
            route,
            query,
          ]),
        );
      await fc.assert(
        fc.asyncProperty(routeAndQuery, from, async ([route, query], source) => {
          const request = adminRequest('GET', `${route.path}${query ? `?${query}` : ''}`, source);
          if (!fitsHeaderLimit(request)) return;
          const response = await send(request);
          tally.add(response.status);
          expectAdminAnswer(response, request);
          expect([200, 400], `${response.status} ${response.text.slice(0, 300)}`).toContain(response.status);
          if (response.status === 200) expect(response.body.data, 'a list answer').toEqual(expect.any(Array));
        }),
        fuzzParameters(300),
      );
      console.log(`admin lists: ${tally}`);
    },
    PROPERTY_TIMEOUT,
  );

  it(
    'id routes with an admin token: odd path ids (encoded bytes, dots, slashes, NUL, uuid look-alikes) are 404/400/409, never a 5xx',
    async () => {
      const tally = new StatusTally();
      await fc.assert(
        fc.asyncProperty(fc.constantFrom(...ID_ROUTES), g.pathId(), fc.option(g.adminBody, { nil: undefined }), from, async (route, id, body, source) => {
          const request = adminRequest(route.method, g.withId(route.path, id), source, route.body ? (body ?? Buffer.from('{}')) : body);
          if (!fitsHeaderLimit(request)) return;
          const response = await send(request);
          tally.add(response.status);
          expectAdminAnswer(response, request);
        }),
        fuzzParameters(300),
      );
      console.log(`admin ids: ${tally}`);
    },
    PROPERTY_TIMEOUT,
  );

  it(
    'body routes with an admin token: wrong content types, invalid UTF-8, oversized (> 16 KiB, > 64 KiB) and chunked bodies are 4xx without a reset',
    async () => {
      const tally = new StatusTally();
      const body = fc.oneof(
        fc.constantFrom('{"name":"', '{"scopes":["', '[', '').chain(oversizedBody),
        textWithInvalidUtf8.map((b) => Buffer.concat([Buffer.from('{"name":"'), b, Buffer.from('","scopes":["devices:read"]}')])),
        anyBody(BODY_FIELDS),
      );
      const type = fc.oneof(
        fc.constantFrom('application/json', 'application/json; charset=utf-16', 'application/merge-patch+json'),
        fc.constantFrom(...CONTENT_TYPES),
        fc.constant(undefined),
      );
      await fc.assert(
        fc.asyncProperty(
          fc.constantFrom(...BODY_ROUTES),
          g.pathId(),
          body,
          type,
          fc.constantFrom(undefined, 1, 1024, 16 * 1024, 65_536),
          from,
          async (route, id, payload, contentType, chunked, source) => {
            const request: RawRequest = {
              method: route.method,
              path: `/admin/v1${g.withId(route.path, id)}`,
              from: source,
              body: payload,
              chunked,
              headers: [bearer(admin.token), ...(contentType ? [['Content-Type', contentType] as [string, string]] : [])],
            };
            if (!fitsHeaderLimit(request)) return;
            const response = await send(request);
            tally.add(response.status);
            expectAdminAnswer(response, request);
            if (payload.length > 16 * 1024 && response.status !== 404 && contentType?.startsWith('application/json')) expect(response.status).toBe(413);
          },
        ),
        fuzzParameters(200),
      );
      console.log(`admin hostile bodies: ${tally}`);
    },
    PROPERTY_TIMEOUT,
  );

  it(
    'a token without admin scopes gets 403 in Keygate\u2019s shape on every route that exists',
    async () => {
      await fc.assert(
        fc.asyncProperty(fc.constantFrom(...ROUTES), g.pathId(), fc.option(g.adminBody, { nil: undefined }), from, async (route, id, body, source) => {
          const request: RawRequest = {
            method: route.method,
            path: `/admin/v1${g.withId(route.path, id)}`,
            from: source,
            body,
            headers: [bearer(noAdminToken), ...(body ? [['Content-Type', 'application/json'] as [string, string]] : [])],
          };
          if (!fitsHeaderLimit(request)) return;
          const response = await send(request);
          expectAdminAnswer(response, request);
          expect(response.status, `${response.status} ${response.text}`).toBe(403);
        }),
        fuzzParameters(150),
      );
    },
    PROPERTY_TIMEOUT,
  );

  it('keeps serving: the admin token still works, and a fresh key gets a token from an address the fuzz never used', async () => {
    const list = await admin.get('/keys?limit=1');
    expect(list.status, list.text).toBe(200);
    const key = await keygate.createKey(tenantId);
    const token = await keygate.token(key, { from: quietAddress(BLOCK) });
    expect(token.status, token.text).toBe(200);
  });
});
