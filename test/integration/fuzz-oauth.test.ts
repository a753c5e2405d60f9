// Property-based fuzzing of the OAuth routes over real HTTP: POST /oauth/token, /oauth/introspect,
// /oauth/revoke. Whatever arrives, the answer is an RFC 6749 error or a documented success, never a
// 5xx, never a reset connection, and never a token (nor a revocation) for bad credentials.
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CreatedKey } from '../../src/keys/types.ts';
import {
  anyBody,
  authorizationHeader,
  basicHeader,
  contentType,
  extraHeaders,
  expectIntrospectionAnswer,
  expectKeygateErrorShape,
  expectNoToken,
  expectOAuthErrorShape,
  formEncode,
  formRaw,
  forwardedFor,
  framing,
  FRESH_CLIENT_IDS,
  FRESH_SECRETS,
  fuzzParameters,
  inCidr,
  ipHop,
  junkText,
  oversizedBody,
  OTHER_METHODS,
  type Pair,
  pathSafe,
  PROPERTY_TIMEOUT,
  queryString,
  quietAddress,
  rawSend,
  fitsHeaderLimit,
  assembleRequest,
  describeRequest,
  type RawRequest,
  sourceAddress,
  StatusTally,
  strictAddress,
  strictHop,
  wrongSecretFor,
  decodesTo,
  headerSafe,
} from '../support/fuzz.ts';
import { basicAuth } from '../support/http.ts';
import { startKeygate, type TestKeygate } from '../support/keygate.ts';

const TEST_ACTOR = { keyId: null, userId: null, via: 'test' };
/** This suite's loopback block (127.101/16); 127.102/16 is its trusted proxy. */
const BLOCK = 101;
const PROXY_BLOCK = 102;
const from = sourceAddress(BLOCK);
const OAUTH_PARAMS = [
  'grant_type',
  'scope',
  'client_id',
  'client_secret',
  'resource',
  'audience',
  'client_assertion',
  'client_assertion_type',
  'token',
  'token_type_hint',
  'client_ip',
  '__proto__',
  'constructor',
];
const ALLOWED_NETWORKS = ['192.0.2.0/24', '2001:db8::/32'];
const KEY_SCOPES = ['devices:read', 'devices:write', 'fleet:admin'];

describe('fuzz: OAuth routes (Redis)', () => {
  let keygate: TestKeygate;
  let tenantId: string;
  /** Keys whose client_id is presented with wrong secrets (each gets locked out after a few). */
  let victims: CreatedKey[];
  /** The same, for the dedicated wrong-secret property only, so it mostly reaches the comparison. */
  let wrongSecretVictims: CreatedKey[];
  /** Keys that must never yield a token even with the secret they were given. */
  let dead: { why: string; clientId: string; secret: string }[];
  /** Healthy keys used with their right secret. */
  let good: CreatedKey[];
  let introspector: CreatedKey;
  let introspectorVictims: CreatedKey[];
  /** A key limited to ALLOWED_NETWORKS and a live token of it (minted through the trusted proxy). */
  let netKey: CreatedKey;
  let netToken: string;
  let goodToken: string;
  /** A live token of a key in an unrelated tenant: never active for this suite's introspector. */
  let foreignToken: string;
  /** A token whose revocation the fuzz tries with bad credentials. */
  let revokeVictim: { key: CreatedKey; token: string };

  const send = (request: RawRequest) => rawSend(keygate.port, request);

  beforeAll(async () => {
    keygate = await startKeygate({ tokenStore: 'redis', trustedProxies: `127.${PROXY_BLOCK}.0.0/16, 10.0.0.0/8` });
    tenantId = await keygate.newTenant();
    const create = (input: Parameters<TestKeygate['createKey']>[1] = {}) => keygate.createKey(tenantId, { scopes: KEY_SCOPES, ...input });
    victims = await Promise.all(Array.from({ length: 40 }, () => create()));
    wrongSecretVictims = await Promise.all(Array.from({ length: 80 }, () => create()));
    good = await Promise.all(Array.from({ length: 12 }, () => create()));
    introspector = await create({ scopes: ['token:introspect'] });
    introspectorVictims = await Promise.all(Array.from({ length: 12 }, () => create({ scopes: ['token:introspect'] })));

    const disabled = await create();
    await keygate.runtime.keyService.setStatus(disabled.key.client_id, 'disabled', TEST_ACTOR);
    const expired = await create();
    await keygate.runtime.db
      .updateTable('api_keys')
      .set({ expires_at: new Date(Date.now() - 1000) })
      .where('client_id', '=', expired.key.client_id)
      .execute();
    const otherTenant = await keygate.newTenant();
    const inDisabledTenant = await keygate.createKey(otherTenant, { scopes: KEY_SCOPES });
    await keygate.runtime.tenants.setStatus(otherTenant, 'disabled');
    const elsewhere = await create({ networks: ['198.18.0.0/15'] });
    const rotated = await create();
    await keygate.runtime.keyService.rotate(rotated.key.client_id, 0, TEST_ACTOR);
    const disabledIntrospector = await create({ scopes: ['token:introspect'] });
    await keygate.runtime.keyService.setStatus(disabledIntrospector.key.client_id, 'disabled', TEST_ACTOR);
    const expiredIntrospector = await create({ scopes: ['token:introspect'] });
    await keygate.runtime.db
      .updateTable('api_keys')
      .set({ expires_at: new Date(Date.now() - 1000) })
      .where('client_id', '=', expiredIntrospector.key.client_id)
      .execute();
    const elsewhereIntrospector = await create({ scopes: ['token:introspect'], networks: ['198.18.0.0/15'] });
    keygate.afterDirectWrite();
    dead = [
      { why: 'disabled key', clientId: disabled.key.client_id, secret: disabled.client_secret },
      { why: 'expired key', clientId: expired.key.client_id, secret: expired.client_secret },
      { why: 'key of a disabled tenant', clientId: inDisabledTenant.key.client_id, secret: inDisabledTenant.client_secret },
      { why: 'caller outside the key networks', clientId: elsewhere.key.client_id, secret: elsewhere.client_secret },
      { why: 'secret rotated out (grace 0)', clientId: rotated.key.client_id, secret: rotated.client_secret },
      { why: 'disabled introspector', clientId: disabledIntrospector.key.client_id, secret: disabledIntrospector.client_secret },
      { why: 'expired introspector', clientId: expiredIntrospector.key.client_id, secret: expiredIntrospector.client_secret },
      { why: 'introspector called from outside its networks', clientId: elsewhereIntrospector.key.client_id, secret: elsewhereIntrospector.client_secret },
    ];

    netKey = await create({ networks: ALLOWED_NETWORKS });
    const minted = await keygate.send({
      path: '/oauth/token',
      from: `127.${PROXY_BLOCK}.0.1`,
      headers: { authorization: basicAuth(netKey.key.client_id, netKey.client_secret), 'x-forwarded-for': '192.0.2.7' },
      form: { grant_type: 'client_credentials' },
    });
    expect(minted.status, minted.text).toBe(200);
    netToken = minted.body.access_token;
    goodToken = (await keygate.token(good[0]!)).body.access_token;
    foreignToken = (await keygate.token(await keygate.createKey(await keygate.newTenant()))).body.access_token;
    const owner = await create();
    revokeVictim = { key: owner, token: (await keygate.token(owner)).body.access_token };

    expect(goodToken && foreignToken && revokeVictim.token).toBeTruthy();
  });

  afterAll(() => keygate?.close());

  // ------------------------------------------------------------------------------------------
  // Credentials that are wrong, in every shape

  const victimPair = (pool = victims): fc.Arbitrary<[string, string]> =>
    fc.constantFrom(...pool).chain((key) => wrongSecretFor(key.client_secret).map((secret): [string, string] => [key.key.client_id, secret]));

  /** A real key's id with a wrong secret, strangers, junk, or the right secret under a wrong id. */
  const badPair = (): fc.Arbitrary<[string, string]> =>
    fc.oneof(
      { weight: 4, arbitrary: victimPair() },
      { weight: 2, arbitrary: fc.tuple(fc.constantFrom(...FRESH_CLIENT_IDS), fc.constantFrom(...FRESH_SECRETS)) },
      { weight: 1, arbitrary: fc.tuple(fc.constantFrom(...FRESH_CLIENT_IDS), junkText) },
      { weight: 1, arbitrary: fc.tuple(junkText, junkText) },
      {
        weight: 1,
        // The right secret presented under an id that is not the key's.
        arbitrary: fc
          .tuple(
            fc.constantFrom(...good),
            fc.constantFrom(
              (s: string) => s.toLowerCase(),
              (s: string) => `${s} `,
              (s: string) => ` ${s}`,
              (s: string) => s.slice(0, -1),
              (s: string) => `${s}.`,
              (s: string) => s.replace('kg_', 'KG_'),
              (s: string) => `${s}\u0000`,
            ),
          )
          .map(([key, mangle]): [string, string] => [mangle(key.key.client_id), key.client_secret])
          .filter(([id]) => !good.some((k) => decodesTo(id).includes(k.key.client_id))),
      },
    );

  /** A form body that would be a valid token request, but for its credentials. */
  const nearlyValidForm = (pair: fc.Arbitrary<[string, string]>) =>
    fc
      .tuple(pair, fc.option(fc.constantFrom('devices:read', 'devices:read devices:write', '', 'nope')), fc.boolean(), fc.boolean())
      .map(([[id, secret], scope, inBody, raw]) => {
        const pairs: Pair[] = [['grant_type', 'client_credentials']];
        if (scope !== null) pairs.push(['scope', scope]);
        if (inBody) pairs.push(['client_id', id], ['client_secret', secret]);
        return Buffer.from(raw ? formRaw(pairs) : formEncode(pairs));
      });

  /** An arbitrary request to one OAuth route: any method, content type, body, headers and credentials. */
  const arbitraryRequest = (route: string): fc.Arbitrary<RawRequest> =>
    fc
      .record({
        method: fc.oneof({ weight: 9, arbitrary: fc.constant('POST') }, { weight: 1, arbitrary: fc.constantFrom(...OTHER_METHODS) }),
        query: fc.option(queryString(OAUTH_PARAMS), { nil: undefined }),
        type: contentType,
        authorization: fc.option(authorizationHeader(badPair()), { nil: undefined }),
        body: fc.oneof({ weight: 3, arbitrary: anyBody(OAUTH_PARAMS) }, { weight: 2, arbitrary: nearlyValidForm(badPair()) }),
        extra: extraHeaders(authorizationHeader(badPair())),
        chunked: framing,
        from,
      })
      .map(assembleRequest(route))
      .filter(fitsHeaderLimit);

  function expectOAuthRoute(response: Awaited<ReturnType<typeof send>>, request: RawRequest): void {
    if (request.method === 'POST') {
      expectOAuthErrorShape(response, request);
      expectNoToken(response, request);
    } else {
      expectKeygateErrorShape(response, request);
      expect(response.status, 'only POST exists here').toBe(405);
    }
  }

  for (const route of ['/oauth/token', '/oauth/introspect', '/oauth/revoke']) {
    it(
      `${route}: arbitrary requests get RFC 6749 errors (or 405), never a 5xx, never a token`,
      async () => {
        const tally = new StatusTally();
        await fc.assert(
          fc.asyncProperty(arbitraryRequest(route), async (request) => {
            const response = await send(request);
            tally.add(response.status);
            expectOAuthRoute(response, request);
          }),
          fuzzParameters(250),
        );
        console.log(`${route} arbitrary: ${tally}`);
      },
      PROPERTY_TIMEOUT,
    );
  }

  // ------------------------------------------------------------------------------------------
  // /oauth/token

  it(
    '/oauth/token: a real client_id with a wrong secret never gets a token (Basic or client_secret_post)',
    async () => {
      const tally = new StatusTally();
      await fc.assert(
        fc.asyncProperty(
          victimPair(wrongSecretVictims),
          fc.boolean(),
          fc.option(fc.constantFrom('devices:read', 'devices:write fleet:admin')),
          from,
          basicHeader(victimPair(wrongSecretVictims)),
          async ([id, secret], post, scope, source, header) => {
            const pairs: Pair[] = [['grant_type', 'client_credentials']];
            if (scope !== null) pairs.push(['scope', scope]);
            if (post) pairs.push(['client_id', id], ['client_secret', secret]);
            const request: RawRequest = {
              method: 'POST',
              path: '/oauth/token',
              from: source,
              headers: [['Content-Type', 'application/x-www-form-urlencoded'], ...(post ? [] : [['Authorization', header] as [string, string]])],
              body: Buffer.from(formEncode(pairs)),
            };
            const response = await send(request);
            tally.add(response.status);
            expectOAuthErrorShape(response, request);
            expectNoToken(response, request);
          },
        ),
        fuzzParameters(300),
      );
      console.log(`/oauth/token wrong secrets: ${tally}`);
      // Most attempts reached the secret comparison rather than a lockout.
      expect(tally.get(401)).toBeGreaterThan(150);
    },
    PROPERTY_TIMEOUT,
  );

  it(
    '/oauth/token and /oauth/introspect: keys that are disabled, expired, rotated out, off-network or in a disabled tenant never get through',
    async () => {
      await fc.assert(
        fc.asyncProperty(
          fc.constantFrom(...dead),
          fc.constantFrom('/oauth/token', '/oauth/introspect'),
          fc.boolean(),
          from,
          async (key, route, post, source) => {
            const pairs: Pair[] = route === '/oauth/token' ? [['grant_type', 'client_credentials']] : [['token', goodToken]];
            if (post) pairs.push(['client_id', key.clientId], ['client_secret', key.secret]);
            const request: RawRequest = {
              method: 'POST',
              path: route,
              from: source,
              headers: [
                ['Content-Type', 'application/x-www-form-urlencoded'],
                ...(post ? [] : [['Authorization', basicAuth(key.clientId, key.secret)] as [string, string]]),
              ],
              body: Buffer.from(formEncode(pairs)),
            };
            const response = await send(request);
            expect([401, 429], `${key.why} on ${route}: ${response.status} ${response.text}`).toContain(response.status);
            expectOAuthErrorShape(response, request);
            expectNoToken(response, request);
          },
        ),
        fuzzParameters(150),
      );
    },
    PROPERTY_TIMEOUT,
  );

  /** POST /oauth/revoke of `token` by (clientId, secret), Basic or client_secret_post. */
  const revokeRequest = (clientId: string, secret: string, token: string, post: boolean, source: string): RawRequest => ({
    method: 'POST',
    path: '/oauth/revoke',
    from: source,
    headers: [['Content-Type', 'application/x-www-form-urlencoded'], ...(post ? [] : [['Authorization', basicAuth(clientId, secret)] as [string, string]])],
    body: Buffer.from(
      formEncode([
        ['token', token],
        ...(post
          ? ([
              ['client_id', clientId],
              ['client_secret', secret],
            ] as Pair[])
          : []),
      ]),
    ),
  });

  it(
    '/oauth/revoke: an unusable token:introspect key (disabled, expired, off-network) never revokes another key\u2019s token',
    async () => {
      const introspectors = dead.filter((d) => d.why.includes('introspector'));
      await fc.assert(
        fc.asyncProperty(fc.constantFrom(...introspectors), fc.constantFrom(...good), fc.boolean(), from, async (key, owner, post, source) => {
          // A fresh live token of another key of the same tenant, each run.
          const minted = await keygate.token(owner, { scope: 'devices:read' });
          expect(minted.status, minted.text).toBe(200);
          const token: string = minted.body.access_token;
          const request = revokeRequest(key.clientId, key.secret, token, post, source);
          const response = await send(request);
          const check = await keygate.introspect(introspector, token);
          expect(
            check.body,
            `${key.why} revoked another key's token (answer ${response.status} ${JSON.stringify(response.text)}) with ${describeRequest(request)}`,
          ).toMatchObject({ active: true });
        }),
        fuzzParameters(150),
      );
    },
    PROPERTY_TIMEOUT,
  );

  it(
    '/oauth/revoke: an unusable key (disabled, expired, off-network, rotated out, disabled tenant) gets 401 invalid_client, not 200',
    async () => {
      await fc.assert(
        fc.asyncProperty(fc.constantFrom(...dead), fc.boolean(), from, async (key, post, source) => {
          const request = revokeRequest(key.clientId, key.secret, 'not-a-live-token', post, source);
          const response = await send(request);
          expect([401, 429], `${key.why} on /oauth/revoke: ${response.status} ${JSON.stringify(response.text)}`).toContain(response.status);
          expectOAuthErrorShape(response, request);
        }),
        fuzzParameters(150),
      );
    },
    PROPERTY_TIMEOUT,
  );

  it(
    '/oauth/token: a duplicated parameter is refused even with the right credentials (RFC 6749 §3.2)',
    async () => {
      const duplicate = fc.constantFrom('grant_type', 'scope', 'client_id', 'client_secret');
      await fc.assert(
        fc.asyncProperty(
          fc.constantFrom(...good),
          duplicate,
          fc.boolean(),
          fc.boolean(),
          fc.constantFrom('devices:read', 'devices:write', 'fleet:admin', 'nope', ''),
          fc.integer({ min: 2, max: 4 }),
          fc.boolean(),
          from,
          async (key, name, sameValue, post, otherScope, copies, shuffle, source) => {
            const base: Pair[] = [
              ['grant_type', 'client_credentials'],
              ['scope', 'devices:read'],
            ];
            const credentials: Pair[] = [
              ['client_id', key.key.client_id],
              ['client_secret', key.client_secret],
            ];
            const pairs: Pair[] = [...base, ...(post || name === 'client_secret' ? credentials : name === 'client_id' ? [credentials[0]!] : [])];
            const original = pairs.find(([n]) => n === name)!;
            const alternative: Record<string, string> = {
              grant_type: 'client_credentials ',
              scope: otherScope,
              client_id: key.key.client_id.toLowerCase(),
              client_secret: key.client_secret.slice(0, -1),
            };
            for (let i = 1; i < copies; i++) pairs.push([name, sameValue ? original[1] : alternative[name]!]);
            if (shuffle) pairs.reverse();
            const usesBasic = !pairs.some(([n]) => n === 'client_secret');
            const request: RawRequest = {
              method: 'POST',
              path: '/oauth/token',
              from: source,
              headers: [
                ['Content-Type', 'application/x-www-form-urlencoded'],
                ...(usesBasic ? [['Authorization', basicAuth(key.key.client_id, key.client_secret)] as [string, string]] : []),
              ],
              body: Buffer.from(formEncode(pairs)),
            };
            const response = await send(request);
            expectOAuthErrorShape(response, request);
            expectNoToken(response, request);
            expect([400, 429], `duplicate '${name}': ${response.status} ${response.text}`).toContain(response.status);
            if (response.status === 400) expect(response.body.error).toBe('invalid_request');
          },
        ),
        fuzzParameters(200),
      );
    },
    PROPERTY_TIMEOUT,
  );

  it(
    '/oauth/token: overlong, numerous and odd scopes never widen a token',
    async () => {
      const scopeToken = fc.string({ unit: fc.constantFrom(...'abcdefghijklmnopqrstuvwxyz:_-.!#$&()*+,/;<=>?@[]^`{|}~'), minLength: 1, maxLength: 40 });
      const scopeParam = fc.oneof(
        fc.array(fc.oneof(fc.constantFrom(...KEY_SCOPES), scopeToken), { minLength: 1, maxLength: 2500 }).map((s) => s.join(' ')),
        fc.tuple(fc.constantFrom(...KEY_SCOPES), fc.integer({ min: 100, max: 6000 })).map(([s, n]) => Array(n).fill(s).join(' ')),
        fc.integer({ min: 129, max: 20_000 }).map((n) => 'd'.repeat(n)),
        fc.integer({ min: 1000, max: 70_000 }).map((n) => `devices:read ${'x'.repeat(n)}`),
        fc
          .tuple(fc.constantFrom(...KEY_SCOPES), fc.constantFrom('\t', '\n', '  ', '\u00a0', '\u3000', '+', ',', '"', '\\', '\u0000', 'é', '\ud83d\ude00'))
          .map(([s, sep]) => `${s}${sep}devices:read`),
        fc.constantFrom(
          '',
          ' ',
          '   ',
          'devices:read ',
          ' devices:read',
          'devices:read  devices:write',
          'DEVICES:READ',
          'devices:*',
          '*',
          'admin:keys:write',
          'token:introspect',
          'openid',
          'offline_access',
        ),
        junkText,
      );
      await fc.assert(
        fc.asyncProperty(fc.constantFrom(...good), scopeParam, fc.boolean(), from, async (key, scope, raw, source) => {
          const pairs: Pair[] = [
            ['grant_type', 'client_credentials'],
            ['scope', scope],
          ];
          const request: RawRequest = {
            method: 'POST',
            path: '/oauth/token',
            from: source,
            headers: [
              ['Content-Type', 'application/x-www-form-urlencoded'],
              ['Authorization', basicAuth(key.key.client_id, key.client_secret)],
            ],
            body: Buffer.from(raw ? formRaw(pairs) : formEncode(pairs)),
          };
          const response = await send(request);
          if (response.status !== 200) {
            expectOAuthErrorShape(response, request);
            expect([400, 413, 429], `${response.status} ${response.text.slice(0, 300)}`).toContain(response.status);
            return;
          }
          // A token: its scopes are exactly what was asked (or every key scope for an empty ask), all held by the key.
          const sent = new URLSearchParams(request.body!.toString('utf8')).get('scope') ?? '';
          const asked = [...new Set(sent.split(' ').filter((s) => s !== ''))];
          expect(response.body, response.text.slice(0, 300)).toEqual({
            access_token: expect.any(String),
            token_type: 'Bearer',
            expires_in: expect.any(Number),
            scope: expect.any(String),
          });
          const granted: string[] = response.body.scope.split(' ').filter((s: string) => s !== '');
          for (const s of granted) expect(KEY_SCOPES, `granted a scope the key lacks, for scope=${JSON.stringify(sent.slice(0, 200))}`).toContain(s);
          for (const s of asked) expect(KEY_SCOPES, `asked for ${JSON.stringify(s.slice(0, 100))}, which the key lacks, and still got a token`).toContain(s);
          expect(new Set(granted)).toEqual(new Set(asked.length > 0 ? asked : KEY_SCOPES));
          expect(response.headers['cache-control']).toMatch(/no-store/);
        }),
        fuzzParameters(200),
      );
    },
    PROPERTY_TIMEOUT,
  );

  it(
    'every OAuth route: oversized bodies (> 16 KiB, > 56 KiB, > 64 KiB), by length or chunked, answer 4xx without a reset',
    async () => {
      const tally = new StatusTally();
      const body = fc.constantFrom('grant_type=client_credentials&scope=', 'token=', 'a=', '', '{"a":"').chain(oversizedBody);
      await fc.assert(
        fc.asyncProperty(
          fc.constantFrom('/oauth/token', '/oauth/introspect', '/oauth/revoke'),
          body,
          fc.constantFrom('application/x-www-form-urlencoded', 'application/json', 'text/plain', undefined),
          fc.constantFrom(undefined, 1024, 16 * 1024, 65_536),
          authorizationHeader(badPair()),
          from,
          async (route, payload, type, chunked, authorization, source) => {
            const request: RawRequest = {
              method: 'POST',
              path: route,
              from: source,
              body: payload,
              chunked,
              headers: [...(type ? [['Content-Type', type] as [string, string]] : []), ['Authorization', authorization]],
            };
            const response = await send(request);
            tally.add(response.status);
            expectOAuthErrorShape(response, request);
            expectNoToken(response, request);
          },
        ),
        fuzzParameters(150),
      );
      console.log(`OAuth oversized: ${tally}`);
    },
    PROPERTY_TIMEOUT,
  );

  // ------------------------------------------------------------------------------------------
  // /oauth/introspect

  it(
    '/oauth/introspect: a real introspector id with a wrong secret never gets an answer',
    async () => {
      const pair = fc
        .constantFrom(...introspectorVictims)
        .chain((key) => wrongSecretFor(key.client_secret).map((s): [string, string] => [key.key.client_id, s]));
      await fc.assert(
        fc.asyncProperty(pair, basicHeader(pair), fc.boolean(), from, async ([id, secret], header, post, source) => {
          const pairs: Pair[] = [['token', netToken]];
          if (post) pairs.push(['client_id', id], ['client_secret', secret]);
          const request: RawRequest = {
            method: 'POST',
            path: '/oauth/introspect',
            from: source,
            body: Buffer.from(formEncode(pairs)),
            headers: [['Content-Type', 'application/x-www-form-urlencoded'], ...(post ? [] : [['Authorization', header] as [string, string]])],
          };
          const response = await send(request);
          expectOAuthErrorShape(response, request);
          expect(response.status).not.toBe(200);
          expect(response.text).not.toMatch(/active/);
        }),
        fuzzParameters(200),
      );
    },
    PROPERTY_TIMEOUT,
  );

  it(
    '/oauth/introspect: the right caller with odd tokens, odd client_ip values and extra or repeated parameters',
    async () => {
      const token = fc.oneof(
        { weight: 4, arbitrary: fc.constant(netToken) },
        { weight: 1, arbitrary: fc.constant(goodToken) },
        { weight: 1, arbitrary: fc.constant(foreignToken) },
        {
          weight: 1,
          arbitrary: fc
            .tuple(fc.nat({ max: 40 }), fc.constantFrom(...'ABCxyz019-_'))
            .map(([i, c]) => netToken.slice(0, i) + c + netToken.slice(i + 1))
            .filter((t) => t !== netToken),
        },
        {
          weight: 1,
          arbitrary: fc.constantFrom(`${netToken} `, ` ${netToken}`, netToken.toUpperCase(), `${netToken}=`, netToken.slice(1), `Bearer ${netToken}`),
        },
        { weight: 2, arbitrary: junkText },
        { weight: 1, arbitrary: fc.integer({ min: 1000, max: 15_000 }).map((n) => 'T'.repeat(n)) },
      );
      const clientIp = fc.oneof(
        { weight: 2, arbitrary: fc.constant(undefined) },
        { weight: 2, arbitrary: fc.tuple(fc.nat({ max: 255 })).map(([n]) => `192.0.2.${n}`) },
        { weight: 1, arbitrary: fc.ipV4() },
        { weight: 1, arbitrary: fc.ipV6() },
        {
          weight: 1,
          arbitrary: fc.constantFrom(
            '::ffff:192.0.2.9',
            '2001:db8::7',
            '2001:0db8:0000::7',
            ' 192.0.2.9 ',
            '192.0.2.9\t',
            '2001:db8::7%eth0',
            '192.0.2.9%1',
            '[2001:db8::7]',
            '192.0.2.9:443',
            '0xc0.0.2.9',
            '3221226001',
            '192.0.2.09',
            '192.0.2',
            '::ffff:c000:209',
            '2001:db8:0:0:0:0:0:7',
            '2001:DB8::7',
            '::',
            '0.0.0.0',
          ),
        },
        { weight: 1, arbitrary: ipHop },
        { weight: 1, arbitrary: fc.integer({ min: 1000, max: 15_000 }).map((n) => `192.0.2.${'1'.repeat(n)}`) },
      );
      const extra = fc.array(
        fc.tuple(fc.constantFrom('token', 'client_ip', 'token_type_hint', 'client_id', 'resource', '__proto__', 'hasOwnProperty'), junkText),
        { maxLength: 2 },
      );
      await fc.assert(
        fc.asyncProperty(token, clientIp, extra, fc.boolean(), from, async (tokenValue, ip, more, raw, source) => {
          const pairs: Pair[] = [['token', tokenValue]];
          if (ip !== undefined) pairs.push(['client_ip', ip]);
          pairs.push(...more);
          const request: RawRequest = {
            method: 'POST',
            path: '/oauth/introspect',
            from: source,
            body: Buffer.from(raw ? formRaw(pairs) : formEncode(pairs)),
            headers: [
              ['Content-Type', 'application/x-www-form-urlencoded'],
              ['Authorization', basicAuth(introspector.key.client_id, introspector.client_secret)],
            ],
          };
          const response = await send(request);
          if (response.status !== 200) {
            expectOAuthErrorShape(response, request);
            expect([400, 413, 429], `${response.status} ${response.text.slice(0, 300)}`).toContain(response.status);
            return;
          }
          expectIntrospectionAnswer(response, request);
          const params = new URLSearchParams(request.body!.toString('utf8'));
          const sentToken = params.get('token');
          const sentIp = params.get('client_ip');
          if (response.body.active) {
            // Only a real token is active, and only from an address inside its key's networks.
            expect([netToken, goodToken], "an invented token, or another tenant's, is active").toContain(sentToken);
            if (sentToken === netToken && sentIp !== null) {
              expect(
                ALLOWED_NETWORKS.some((n) => inCidr(strictAddress(sentIp), n)),
                `active for client_ip=${JSON.stringify(sentIp.slice(0, 100))} outside ${ALLOWED_NETWORKS}`,
              ).toBe(true);
            }
          } else if (
            more.length === 0
            && sentToken === netToken
            && sentIp !== null
            && ALLOWED_NETWORKS.some((n) => inCidr(strictAddress(sentIp), n))
            && sentIp === sentIp.trim()
          ) {
            expect.fail(`the live token is inactive for client_ip=${sentIp}, inside its networks`);
          }
        }),
        fuzzParameters(250),
      );
    },
    PROPERTY_TIMEOUT,
  );

  // ------------------------------------------------------------------------------------------
  // /oauth/revoke

  it(
    '/oauth/revoke: bad credentials never revoke a live token',
    async () => {
      const ownerPair = wrongSecretFor(revokeVictim.key.client_secret).map((s): [string, string] => [revokeVictim.key.key.client_id, s]);
      const pair = fc.oneof(ownerPair, badPair());
      await fc.assert(
        fc.asyncProperty(
          pair,
          basicHeader(pair),
          fc.boolean(),
          fc.option(fc.constantFrom('access_token', 'refresh_token', 'junk', '')),
          from,
          async ([id, secret], header, post, hint, source) => {
            const pairs: Pair[] = [['token', revokeVictim.token]];
            if (hint !== null) pairs.push(['token_type_hint', hint]);
            if (post) pairs.push(['client_id', id], ['client_secret', secret]);
            const request: RawRequest = {
              method: 'POST',
              path: '/oauth/revoke',
              from: source,
              body: Buffer.from(formEncode(pairs)),
              headers: [['Content-Type', 'application/x-www-form-urlencoded'], ...(post ? [] : [['Authorization', header] as [string, string]])],
            };
            const response = await send(request);
            expectOAuthErrorShape(response, request);
            expect(response.status).not.toBe(200);
            const check = await keygate.introspect(introspector, revokeVictim.token);
            expect(check.body, `token revoked by ${JSON.stringify(request.headers)} ${request.body!.toString('latin1')}`).toMatchObject({ active: true });
          },
        ),
        fuzzParameters(150),
      );
    },
    PROPERTY_TIMEOUT,
  );

  // ------------------------------------------------------------------------------------------
  // X-Forwarded-For behind the trusted proxy (127.102/16, 10/8)

  it(
    'X-Forwarded-For from a trusted proxy: a token only when the first untrusted hop from the right is inside the key networks',
    async () => {
      const trusted = (address: ReturnType<typeof strictHop>) => inCidr(address, `127.${PROXY_BLOCK}.0.0/16`) || inCidr(address, '10.0.0.0/8');
      const hop = fc.oneof(
        { weight: 3, arbitrary: fc.nat({ max: 255 }).map((n) => `192.0.2.${n}`) },
        { weight: 1, arbitrary: fc.constantFrom('2001:db8::1', '::ffff:192.0.2.7', '2001:db8:ffff::9') },
        { weight: 3, arbitrary: fc.tuple(fc.nat({ max: 255 }), fc.nat({ max: 255 })).map(([a, b]) => `10.${a}.${b}.1`) },
        { weight: 1, arbitrary: fc.nat({ max: 255 }).map((n) => `127.${PROXY_BLOCK}.0.${n}`) },
        { weight: 4, arbitrary: ipHop },
      );
      const header = fc.oneof({ weight: 4, arbitrary: forwardedFor(hop) }, { weight: 1, arbitrary: forwardedFor() });
      const tally = new StatusTally();
      await fc.assert(
        fc.asyncProperty(fc.array(header, { minLength: 0, maxLength: 2 }), sourceAddress(PROXY_BLOCK), async (values, proxy) => {
          const request: RawRequest = {
            method: 'POST',
            path: '/oauth/token',
            from: proxy,
            body: Buffer.from('grant_type=client_credentials'),
            headers: [
              ['Content-Type', 'application/x-www-form-urlencoded'],
              ['Authorization', basicAuth(netKey.key.client_id, netKey.client_secret)],
              ...values.map((v): [string, string] => ['X-Forwarded-For', v]),
            ],
          };
          const response = await send(request);
          tally.add(response.status);
          // nginx real_ip_recursive over the header as received (Node joins repeated headers with ', ').
          const hops = values.length === 0 ? [] : values.join(', ').split(',');
          let caller: ReturnType<typeof strictHop> = strictAddress(proxy);
          let clean = true;
          for (let i = hops.length - 1; i >= 0; i--) {
            const hop = strictHop(hops[i]!);
            if (!hop) {
              caller = undefined;
              clean = false;
              break;
            }
            caller = hop;
            if (!trusted(hop)) break;
          }
          const allowed = caller !== undefined && ALLOWED_NETWORKS.some((n) => inCidr(caller, n));
          if (response.status === 200) {
            expect(allowed, `a token for caller ${String(caller)} (X-Forwarded-For: ${JSON.stringify(values)})`).toBe(true);
          } else {
            expectOAuthErrorShape(response, request);
            if (clean && allowed) expect.fail(`refused although the caller ${caller} is inside the key networks: ${response.status} ${response.text}`);
          }
        }),
        fuzzParameters(250),
      );
      console.log(`X-Forwarded-For via proxy: ${tally}`);
      expect(tally.get(200)).toBeGreaterThan(10);
    },
    PROPERTY_TIMEOUT,
  );

  it(
    'X-Forwarded-For from an untrusted peer is never believed, whatever it says',
    async () => {
      const header = forwardedFor(fc.oneof(fc.constant('192.0.2.7'), fc.constant('2001:db8::1'), ipHop));
      await fc.assert(
        fc.asyncProperty(fc.array(header, { minLength: 1, maxLength: 2 }), from, async (values, source) => {
          const request: RawRequest = {
            method: 'POST',
            path: '/oauth/token',
            from: source,
            body: Buffer.from('grant_type=client_credentials'),
            headers: [
              ['Content-Type', 'application/x-www-form-urlencoded'],
              ['Authorization', basicAuth(netKey.key.client_id, netKey.client_secret)],
              ...values.map((v): [string, string] => ['X-Forwarded-For', headerSafe(v)]),
            ],
          };
          const response = await send(request);
          expectOAuthErrorShape(response, request);
          expectNoToken(response, request);
        }),
        fuzzParameters(150),
      );
    },
    PROPERTY_TIMEOUT,
  );

  it(
    'paths next to the OAuth routes are 404 in Keygate\u2019s shape',
    async () => {
      const path = fc
        .tuple(
          fc.constantFrom('/oauth/token', '/oauth/introspect', '/oauth/revoke', '/oauth', '/oauth/_closed/authorize', '/oauth/_closed/jwks'),
          fc.constantFrom('/', '//', '/.', '/..', '%2F', '%00', ';x', '.json', '/x', 'x', '%20', '/%2e%2e/token', '..%2f'),
        )
        .map(([a, b]) => pathSafe(a + b));
      await fc.assert(
        fc.asyncProperty(path, fc.constantFrom('POST', 'GET'), from, async (p, method, source) => {
          const request: RawRequest = {
            method,
            path: p,
            from: source,
            headers: [['Content-Type', 'application/x-www-form-urlencoded']],
            body: Buffer.from('grant_type=client_credentials'),
          };
          const response = await send(request);
          expectKeygateErrorShape(response, request);
          expect(response.status).toBe(404);
        }),
        fuzzParameters(100),
      );
    },
    PROPERTY_TIMEOUT,
  );

  it('keeps serving: a fresh key gets a token from an address the fuzz never used, and it introspects as active', async () => {
    const key = await keygate.createKey(tenantId, { scopes: ['devices:read'] });
    const response = await keygate.token(key, { from: quietAddress(BLOCK) });
    expect(response.status, response.text).toBe(200);
    const introspection = await keygate.introspect(introspector, response.body.access_token);
    expect(introspection.body).toMatchObject({ active: true, client_id: key.key.client_id });
    expect((await keygate.send({ method: 'GET', path: '/readyz' })).status).toBe(200);
  });
});
