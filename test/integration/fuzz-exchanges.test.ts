// Property-based fuzzing of the API-key exchanges (POST /api/v1/auth/authorize, POST /auth/external),
// the public GET routes (/.well-known/oauth-authorization-server, /healthz, /readyz, /metrics,
// /admin/v1/openapi.json) and unknown paths, over real HTTP. Every answer is Keygate's error shape
// (plus `success: false` on /auth/external) or a documented success, never a 5xx, never a reset,
// and never a token for bad credentials.
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CreatedKey } from '../../src/keys/types.ts';
import { authorizationServerMetadata } from '../../src/oauth/metadata.ts';
import {
  anyBody,
  authorizationHeader,
  contentType,
  describeRequest,
  expectKeygateErrorShape,
  expectNoToken,
  extraHeaders,
  assembleRequest,
  fitsHeaderLimit,
  framing,
  FRESH_CLIENT_IDS,
  FRESH_SECRETS,
  fuzzParameters,
  junkText,
  OTHER_METHODS,
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
  wrongSecretFor,
} from '../support/fuzz.ts';
import { ISSUER, startKeygate, type TestKeygate } from '../support/keygate.ts';

const TEST_ACTOR = { keyId: null, userId: null, via: 'test' };
const BLOCK = 105;
const from = sourceAddress(BLOCK);
const AUTHORIZE = '/api/v1/auth/authorize';
const EXTERNAL = '/auth/external';
const EXCHANGE_FIELDS = [
  'grantType',
  'apiKey',
  'clientId',
  'accessKey',
  'grant_type',
  'api_key',
  'client_id',
  'client_secret',
  'scope',
  '__proto__',
  'constructor',
];

describe('fuzz: API-key exchanges, public routes, unknown paths (Redis)', () => {
  let keygate: TestKeygate;
  let tenantId: string;
  let authorizeVictims: CreatedKey[];
  let externalVictims: CreatedKey[];
  let arbitraryVictims: CreatedKey[];
  let good: CreatedKey[];
  let dead: { why: string; clientId: string; secret: string }[];

  const send = (request: RawRequest) => rawSend(keygate.port, request);

  beforeAll(async () => {
    keygate = await startKeygate({ tokenStore: 'redis' });
    tenantId = await keygate.newTenant();
    const create = (input: Parameters<TestKeygate['createKey']>[1] = {}) => keygate.createKey(tenantId, input);
    authorizeVictims = await Promise.all(Array.from({ length: 60 }, () => create()));
    externalVictims = await Promise.all(Array.from({ length: 60 }, () => create()));
    arbitraryVictims = await Promise.all(Array.from({ length: 30 }, () => create()));
    good = await Promise.all(Array.from({ length: 6 }, () => create()));

    const disabled = await create();
    await keygate.runtime.keyService.setStatus(disabled.key.client_id, 'disabled', TEST_ACTOR);
    const expired = await create();
    await keygate.runtime.db
      .updateTable('api_keys')
      .set({ expires_at: new Date(Date.now() - 1000) })
      .where('client_id', '=', expired.key.client_id)
      .execute();
    const otherTenant = await keygate.newTenant();
    const inDisabledTenant = await keygate.createKey(otherTenant);
    await keygate.runtime.tenants.setStatus(otherTenant, 'disabled');
    const elsewhere = await create({ networks: ['198.18.0.0/15', '2001:db8::/32'] });
    const rotated = await create();
    await keygate.runtime.keyService.rotate(rotated.key.client_id, 0, TEST_ACTOR);
    keygate.afterDirectWrite();
    dead = [
      { why: 'disabled key', clientId: disabled.key.client_id, secret: disabled.client_secret },
      { why: 'expired key', clientId: expired.key.client_id, secret: expired.client_secret },
      { why: 'key of a disabled tenant', clientId: inDisabledTenant.key.client_id, secret: inDisabledTenant.client_secret },
      { why: 'caller outside the key networks', clientId: elsewhere.key.client_id, secret: elsewhere.client_secret },
      { why: 'secret rotated out (grace 0)', clientId: rotated.key.client_id, secret: rotated.client_secret },
    ];
  });

  afterAll(() => keygate?.close());

  const pairFrom = (pool: () => CreatedKey[]): fc.Arbitrary<[string, string]> =>
    fc
      .constant(null)
      .chain(() => fc.constantFrom(...pool()))
      .chain((key) => wrongSecretFor(key.client_secret).map((secret): [string, string] => [key.key.client_id, secret]));

  /** A real client_id with a wrong secret, strangers, junk, or a good key's secret under a mangled id. */
  const badPair = (): fc.Arbitrary<[string, string]> =>
    fc.oneof(
      { weight: 4, arbitrary: pairFrom(() => arbitraryVictims) },
      { weight: 2, arbitrary: fc.tuple(fc.constantFrom(...FRESH_CLIENT_IDS), fc.constantFrom(...FRESH_SECRETS)) },
      { weight: 1, arbitrary: fc.tuple(junkText, junkText) },
      {
        weight: 1,
        arbitrary: fc
          .tuple(
            fc.constant(null).chain(() => fc.constantFrom(...good)),
            fc.constantFrom(
              (s: string) => s.toLowerCase(),
              (s: string) => `${s} `,
              (s: string) => ` ${s}`,
              (s: string) => s.slice(0, -1),
              (s: string) => `${s}.`,
              (s: string) => s.replace('kg_', 'KG_'),
              (s: string) => `${s}\u0000`,
              (s: string) => `${s}\u200b`,
            ),
          )
          .map(([key, mangle]): [string, string] => [mangle(key.key.client_id), key.client_secret])
          .filter(([id]) => !good.some((k) => k.key.client_id === id)),
      },
    );

  /** `<client_id>.<secret>` and sloppier joins; never exactly a good key's API key. */
  const apiKeyText = (pair: fc.Arbitrary<[string, string]>) =>
    fc.tuple(pair, fc.constantFrom('.', ':', '..', ' . ', '', '\u3002', '.kg_')).map(([[id, secret], sep]) => `${id}${sep}${secret}`);

  /** JSON objects built around the fields these routes read, with wrong or odd values. */
  const exchangeJson = (pair: fc.Arbitrary<[string, string]>): fc.Arbitrary<Buffer> =>
    fc.oneof(
      fc
        .record(
          {
            grantType: fc.oneof(fc.constant('api_key'), fc.constantFrom('API_KEY', 'api_key ', 'client_credentials', ''), fc.jsonValue({ maxDepth: 1 })),
            apiKey: fc.oneof(apiKeyText(pair), fc.jsonValue({ maxDepth: 2 })),
            clientId: fc.oneof(
              pair.map(([id]) => id),
              fc.jsonValue({ maxDepth: 1 }),
            ),
            accessKey: fc.oneof(
              pair.map(([, s]) => s),
              fc.jsonValue({ maxDepth: 1 }),
            ),
            extra: fc.jsonValue({ maxDepth: 2 }),
          },
          { requiredKeys: [] },
        )
        .map((o) => Buffer.from(JSON.stringify(o))),
      fc
        .tuple(pair, fc.boolean())
        .map(([[id, secret], external]) =>
          Buffer.from(JSON.stringify(external ? { clientId: id, accessKey: secret } : { grantType: 'api_key', apiKey: `${id}.${secret}` })),
        ),
    );

  function exchangeRequest(route: string): fc.Arbitrary<RawRequest> {
    return fc
      .record({
        method: fc.oneof({ weight: 9, arbitrary: fc.constant('POST') }, { weight: 1, arbitrary: fc.constantFrom(...OTHER_METHODS) }),
        query: fc.option(queryString(EXCHANGE_FIELDS), { nil: undefined }),
        type: fc.oneof({ weight: 2, arbitrary: fc.constant('application/json') }, { weight: 3, arbitrary: contentType }),
        authorization: fc.option(authorizationHeader(badPair()), { nil: undefined }),
        body: fc.oneof({ weight: 3, arbitrary: anyBody(EXCHANGE_FIELDS) }, { weight: 3, arbitrary: exchangeJson(badPair()) }),
        extra: extraHeaders(),
        chunked: framing,
        from,
      })
      .map(assembleRequest(route))
      .filter(fitsHeaderLimit);
  }

  function expectDenied(response: RawResponse, request: RawRequest, route: string): void {
    expectKeygateErrorShape(response, request, { external: route === EXTERNAL });
    expectNoToken(response, request);
  }

  const json = (route: string, value: unknown, source: string, type = 'application/json'): RawRequest => ({
    method: 'POST',
    path: route,
    from: source,
    headers: [['Content-Type', type]],
    body: Buffer.from(JSON.stringify(value)),
  });

  for (const route of [AUTHORIZE, EXTERNAL]) {
    it(
      `${route}: arbitrary requests get Keygate errors (405 for other methods), never a 5xx, never a token`,
      async () => {
        const tally = new StatusTally();
        await fc.assert(
          fc.asyncProperty(exchangeRequest(route), async (request) => {
            const response = await send(request);
            tally.add(response.status);
            if (request.method === 'POST') {
              expectDenied(response, request, route);
            } else {
              // The method check happens before the route (see the /auth/external envelope property below).
              expectKeygateErrorShape(response, request, { external: route === EXTERNAL && response.body?.success === false });
              expect(response.status).toBe(405);
            }
          }),
          fuzzParameters(250),
        );
        console.log(`${route} arbitrary: ${tally}`);
      },
      PROPERTY_TIMEOUT,
    );

    it(
      `${route}: any JSON value as the body is a 4xx in Keygate's shape`,
      async () => {
        const value = fc.oneof(
          fc.jsonValue(),
          fc.object(),
          fc.anything({ withObjectString: true, withNullPrototype: true }),
          fc.dictionary(fc.constantFrom(...EXCHANGE_FIELDS), fc.jsonValue()),
        );
        await fc.assert(
          fc.asyncProperty(value, fc.constantFrom('application/json', 'application/json; charset=utf-8', 'Application/JSON'), from, async (v, type, source) => {
            const text = JSON.stringify(v);
            const request: RawRequest = {
              method: 'POST',
              path: route,
              from: source,
              headers: [['Content-Type', type]],
              body: Buffer.from(text === undefined ? 'undefined' : text),
            };
            const response = await send(request);
            expectDenied(response, request, route);
            expect([400, 401, 413, 415, 429], `${response.status} ${response.text}`).toContain(response.status);
          }),
          fuzzParameters(200),
        );
      },
      PROPERTY_TIMEOUT,
    );

    it(
      `${route}: oversized (> 16 KiB, > 64 KiB), invalid UTF-8 and malformed JSON bodies are 4xx without a reset`,
      async () => {
        const tally = new StatusTally();
        const body = fc.oneof(
          fc.constantFrom('{"apiKey":"', '{"clientId":"', '[', '').chain(oversizedBody),
          textWithInvalidUtf8.map((b) => Buffer.concat([Buffer.from('{"apiKey":"'), b, Buffer.from('"}')])),
          textWithInvalidUtf8,
          fc
            .constantFrom(
              '{',
              '{"grantType":"api_key","apiKey":}',
              '{"apiKey":"a"}}',
              '\ufeff{"apiKey":"x"}',
              '{"apiKey":"\\ud800"}',
              'null',
              '[]',
              '"x"',
              '1e999',
              'true',
            )
            .map((s) => Buffer.from(s)),
        );
        await fc.assert(
          fc.asyncProperty(
            body,
            fc.constantFrom(undefined, 1, 1024, 16 * 1024, 65_536),
            fc.constantFrom('application/json', 'application/json; charset=latin1', 'text/plain', undefined),
            from,
            async (payload, chunked, type, source) => {
              const request: RawRequest = { method: 'POST', path: route, from: source, body: payload, chunked, headers: type ? [['Content-Type', type]] : [] };
              const response = await send(request);
              tally.add(response.status);
              expectDenied(response, request, route);
              if (payload.length > 16 * 1024 && type?.startsWith('application/json')) expect(response.status, 'JSON bodies over 16 KiB are 413').toBe(413);
            },
          ),
          fuzzParameters(150),
        );
        console.log(`${route} oversized/malformed: ${tally}`);
      },
      PROPERTY_TIMEOUT,
    );

    it(
      `${route}: unusable keys (disabled, expired, rotated out, off-network, disabled tenant) never get a token`,
      async () => {
        await fc.assert(
          fc.asyncProperty(fc.constantFrom(...dead), from, async (key, source) => {
            const request = json(
              route,
              route === AUTHORIZE ? { grantType: 'api_key', apiKey: `${key.clientId}.${key.secret}` } : { clientId: key.clientId, accessKey: key.secret },
              source,
            );
            const response = await send(request);
            expectDenied(response, request, route);
            expect([401, 429], `${key.why}: ${response.status} ${response.text}`).toContain(response.status);
          }),
          fuzzParameters(100),
        );
      },
      PROPERTY_TIMEOUT,
    );

    it(
      `${route}: duplicated JSON fields whose values are all wrong never get a token`,
      async () => {
        const pair = pairFrom(() => arbitraryVictims);
        await fc.assert(
          fc.asyncProperty(fc.array(pair, { minLength: 2, maxLength: 3 }), from, async (pairs, source) => {
            const fields =
              route === AUTHORIZE
                ? ['"grantType":"api_key"', ...pairs.map(([id, s]) => `"apiKey":${JSON.stringify(`${id}.${s}`)}`)]
                : pairs.flatMap(([id, s]) => [`"clientId":${JSON.stringify(id)}`, `"accessKey":${JSON.stringify(s)}`]);
            const request: RawRequest = {
              method: 'POST',
              path: route,
              from: source,
              headers: [['Content-Type', 'application/json']],
              body: Buffer.from(`{${fields.join(',')}}`),
            };
            const response = await send(request);
            expectDenied(response, request, route);
          }),
          fuzzParameters(100),
        );
      },
      PROPERTY_TIMEOUT,
    );
  }

  it(
    `${EXTERNAL}: every error answer carries the vendor envelope (success: false), whatever the method`,
    async () => {
      await fc.assert(
        fc.asyncProperty(
          fc.constantFrom('POST', ...OTHER_METHODS),
          fc.option(anyBody(EXCHANGE_FIELDS), { nil: undefined }),
          from,
          async (method, body, source) => {
            const request: RawRequest = { method, path: EXTERNAL, from: source, body, headers: [['Content-Type', 'application/json']] };
            const response = await send(request);
            expectDenied(response, request, EXTERNAL);
          },
        ),
        fuzzParameters(100),
      );
    },
    PROPERTY_TIMEOUT,
  );

  it(
    `${AUTHORIZE}: a real client_id with a wrong secret never gets a token`,
    async () => {
      const tally = new StatusTally();
      const grantType = fc.oneof(
        { weight: 9, arbitrary: fc.constant('api_key') },
        { weight: 1, arbitrary: fc.constantFrom('API_KEY', 'client_credentials', ' api_key') },
      );
      await fc.assert(
        fc.asyncProperty(apiKeyText(pairFrom(() => authorizeVictims)), grantType, from, async (apiKey, grant, source) => {
          const request = json(AUTHORIZE, { grantType: grant, apiKey }, source);
          const response = await send(request);
          tally.add(response.status);
          expectDenied(response, request, AUTHORIZE);
        }),
        fuzzParameters(300),
      );
      console.log(`${AUTHORIZE} wrong secrets: ${tally}`);
      expect(tally.get(401)).toBeGreaterThan(150);
    },
    PROPERTY_TIMEOUT,
  );

  it(
    `${EXTERNAL}: a real client_id with a wrong secret never gets a token`,
    async () => {
      const tally = new StatusTally();
      await fc.assert(
        fc.asyncProperty(
          pairFrom(() => externalVictims),
          from,
          async ([clientId, accessKey], source) => {
            const request = json(EXTERNAL, { clientId, accessKey }, source);
            const response = await send(request);
            tally.add(response.status);
            expectDenied(response, request, EXTERNAL);
          },
        ),
        fuzzParameters(300),
      );
      console.log(`${EXTERNAL} wrong secrets: ${tally}`);
      expect(tally.get(401)).toBeGreaterThan(150);
    },
    PROPERTY_TIMEOUT,
  );

  // ------------------------------------------------------------------------------------------
  // Public GET routes

  const metadata = authorizationServerMetadata(ISSUER);
  const GET_ROUTES: Record<string, (response: RawResponse) => void> = {
    '/.well-known/oauth-authorization-server': (r) => expect(r.body).toEqual(metadata),
    '/healthz': (r) => expect(r.body).toEqual({ status: 'ok' }),
    '/readyz': (r) => expect(r.body).toEqual({ status: 'ready', checks: { postgres: 'ok', tokens: 'ok', key_cache: 'ok' } }),
    '/metrics': (r) => expect(r.text).toMatch(/^# HELP /m),
    '/admin/v1/openapi.json': (r) => expect(r.body).toMatchObject({ openapi: expect.stringMatching(/^3\.1/), paths: expect.any(Object) }),
  };

  it(
    'GET routes (metadata, health, readiness, metrics, OpenAPI): any query, headers or body; other methods are 405',
    async () => {
      const tally = new StatusTally();
      await fc.assert(
        fc.asyncProperty(
          fc.constantFrom(...Object.keys(GET_ROUTES)),
          fc.oneof(
            { weight: 3, arbitrary: fc.constant('GET') },
            { weight: 1, arbitrary: fc.constantFrom('POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS', 'TRACE', 'PROPFIND') },
          ),
          fc.option(queryString(['format', 'callback', 'issuer', '__proto__', 'x']), { nil: undefined }),
          fc.option(authorizationHeader(badPair()), { nil: undefined }),
          fc.option(contentType, { nil: undefined }),
          fc.option(anyBody(['a', 'b']), { nil: undefined }),
          extraHeaders(),
          from,
          async (route, method, query, authorization, type, body, extra, source) => {
            const request: RawRequest = {
              method,
              path: query === undefined ? route : `${route}?${query}`,
              from: source,
              body,
              headers: [
                ...(authorization ? [['Authorization', authorization] as [string, string]] : []),
                ...(type ? [['Content-Type', type] as [string, string]] : []),
                ...extra,
              ],
            };
            if (!fitsHeaderLimit(request)) return;
            const response = await send(request);
            tally.add(response.status);
            if (method === 'GET') {
              expect(response.status, `${describeRequest(request)} → ${response.status} ${response.text.slice(0, 300)}`).toBe(200);
              GET_ROUTES[route]!(response);
            } else if (route === '/admin/v1/openapi.json') {
              // Served by the admin router, which answers 404 for any other method (reported, not asserted).
              expectKeygateErrorShape(response, request);
              expect([404, 405]).toContain(response.status);
            } else {
              expectKeygateErrorShape(response, request);
              expect(response.status).toBe(405);
              expect(response.headers.allow).toBe('GET');
            }
          },
        ),
        fuzzParameters(250),
      );
      console.log(`GET routes: ${tally}`);
    },
    PROPERTY_TIMEOUT,
  );

  it(
    'unknown paths (library defaults, encoded bytes, dot segments, slashes, long, non-ASCII) are 404/405 in Keygate\u2019s shape',
    async () => {
      const known = new Set([...Object.keys(GET_ROUTES), AUTHORIZE, EXTERNAL, '/oauth/token', '/oauth/revoke', '/oauth/introspect']);
      const segment = fc.oneof(
        fc.constantFrom(
          'auth',
          'session',
          'end',
          'jwks',
          'me',
          'reg',
          'token',
          'introspection',
          'revoke',
          'userinfo',
          'device',
          'backchannel',
          'request',
          'par',
          'oauth',
          '_closed',
          'authorize',
          '.well-known',
          'openid-configuration',
          'oauth-authorization-server',
          'healthz',
          'readyz',
          'metrics',
          'api',
          'v1',
          'admin',
          'v2',
          'external',
          '.',
          '..',
          '%2e',
          '%2E%2E',
          '%2F',
          '%00',
          '%ff',
          '%c0%af',
          '%',
          '%zz',
          ';',
          ';jsessionid=1',
          '~',
          '*',
          '..;',
          '%5C',
          '\\',
          'HEALTHZ',
          'Healthz',
          'healthz ',
          'healthz%20',
          'healthz\t',
        ),
        junkText,
        fc.integer({ min: 256, max: 6000 }).map((n) => 'p'.repeat(n)),
      );
      const path = fc
        .oneof(
          {
            weight: 6,
            arbitrary: fc
              .tuple(fc.array(segment, { minLength: 1, maxLength: 6 }), fc.constantFrom('', '/', '//', '/.', '?', '?x=1', '#frag'))
              .map(([segments, tail]) => pathSafe(`/${segments.join('/')}${tail}`)),
          },
          {
            weight: 1,
            arbitrary: fc.constantFrom(
              '*',
              '//healthz',
              '/healthz/',
              '/./healthz',
              '/x/../healthz',
              '/%68ealthz',
              '/auth',
              '/session/end',
              '/jwks',
              '/me',
              '/reg',
              '/.well-known/openid-configuration',
              '/oauth/_closed/authorize',
              '/oauth/_closed/jwks',
              '/oauth/_closed/userinfo',
              '/oauth/_closed/session/end',
              '/admin',
              '/admin/',
              '/admin/v1',
              '/admin/v1/',
              '/admin/v2/keys',
              '/api/v1/auth/authorize/',
              '/auth/external/x',
            ),
          },
        )
        .filter((p) => !known.has(p.split('?')[0]!) && p.length < 12_000);
      const tally = new StatusTally();
      await fc.assert(
        fc.asyncProperty(
          path,
          fc.constantFrom('GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'),
          fc.option(anyBody(['a']), { nil: undefined }),
          from,
          async (p, method, body, source) => {
            const request: RawRequest = { method, path: p, from: source, body, headers: body ? [['Content-Type', 'application/json']] : [] };
            const response = await send(request);
            tally.add(response.status);
            expectKeygateErrorShape(response, request);
            expect([401, 404, 405], `${p}: ${response.status}`).toContain(response.status);
          },
        ),
        fuzzParameters(300),
      );
      console.log(`unknown paths: ${tally}`);
    },
    PROPERTY_TIMEOUT,
  );

  it('keeps serving: a fresh key goes through both exchanges from an address the fuzz never used', async () => {
    const key = await keygate.createKey(tenantId);
    const source = quietAddress(BLOCK);
    const authorized = await send(json(AUTHORIZE, { grantType: 'api_key', apiKey: key.api_key }, source));
    expect(authorized.status, authorized.text).toBe(200);
    expect(authorized.body.data.accessToken).toEqual(expect.any(String));
    const external = await send(json(EXTERNAL, { clientId: key.key.client_id, accessKey: key.client_secret }, source));
    expect(external.status, external.text).toBe(200);
    expect(external.body).toMatchObject({ success: true, data: { token: expect.any(String) } });
    expect((await send({ method: 'GET', path: '/readyz', from: source, headers: [] })).status).toBe(200);
  });
});
