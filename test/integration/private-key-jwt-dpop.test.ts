// private_key_jwt (RFC 7523) and DPoP (RFC 9449) against a real Keygate, driven by openid-client
// as a real client would: tokens come out bound, introspection shows the binding, and a replayed
// assertion, a replayed proof and a plain request for a key that requires DPoP are refused.
import { createHash, generateKeyPairSync, type KeyObject, randomUUID, sign, webcrypto } from 'node:crypto';
import * as client from 'openid-client';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { awayFromWindowEdge } from '../support/windows.ts';
import { basicAuth } from '../support/http.ts';
import { deniedEvents, ISSUER, newKeyFor, startKeygate, type TestKeygate } from '../support/keygate.ts';
import type { CreatedKey } from '../../src/keys/types.ts';
import type { NewKey } from '../../src/keys/schemas.ts';

const TEST_ACTOR = { keyId: null, userId: null, via: 'test' } as const;

async function signingKeyPair(alg: 'ES256' | 'EdDSA' | 'RS256') {
  const params =
    alg === 'ES256'
      ? { name: 'ECDSA', namedCurve: 'P-256' }
      : alg === 'EdDSA'
        ? { name: 'Ed25519' }
        : { name: 'RSASSA-PKCS1-v1_5', modulusLength: 2048, publicExponent: new Uint8Array([1, 0, 1]), hash: 'SHA-256' };
  const pair = (await webcrypto.subtle.generateKey(params as never, true, ['sign', 'verify'])) as webcrypto.CryptoKeyPair;
  const jwk = await webcrypto.subtle.exportKey('jwk', pair.publicKey);
  const { kty, crv, x, y, n, e } = jwk;
  const publicJwk = Object.fromEntries(
    Object.entries({ kty, crv, x, y, n, e, kid: `${alg}-${Math.random().toString(36).slice(2)}` }).filter(([, v]) => v !== undefined),
  );
  return { privateKey: pair.privateKey, publicJwk };
}

describe('private_key_jwt and DPoP', () => {
  let keygate: TestKeygate;
  let tenantId: string;
  let introspector: CreatedKey;
  let tokenEndpoint: string;

  beforeAll(async () => {
    keygate = await startKeygate({ tokenStore: 'redis' });
    tenantId = await keygate.newTenant();
    introspector = await keygate.createKey(tenantId, { name: 'resource server', scopes: ['token:introspect'] });
    tokenEndpoint = `http://127.0.0.1:${keygate.port}/oauth/token`;
  });
  afterAll(() => keygate?.close());

  async function createKey(extra: Partial<NewKey>) {
    return keygate.runtime.keyService.create({ ...newKeyFor(tenantId, { name: 'jwt key' }), ...extra } as NewKey, TEST_ACTOR);
  }

  /** An openid-client configuration for `clientId`; every request body it sends is kept in `sent`. */
  function configure(clientId: string, auth: client.ClientAuth) {
    const config = new client.Configuration(
      { issuer: ISSUER, token_endpoint: tokenEndpoint, revocation_endpoint: `http://127.0.0.1:${keygate.port}/oauth/revoke` },
      clientId,
      {},
      auth,
    );
    client.allowInsecureRequests(config);
    const sent: { body: string; dpop: string | undefined }[] = [];
    config[client.customFetch] = (url, options) => {
      const headers = new Headers(options.headers);
      sent.push({ body: String(options.body), dpop: headers.get('dpop') ?? undefined });
      return fetch(url, options as RequestInit);
    };
    return { config, sent };
  }

  async function introspect(token: string) {
    return keygate.introspect(introspector, token);
  }

  it('issues a token to a key that signs its assertion, for each allowed algorithm', async () => {
    for (const alg of ['ES256', 'EdDSA', 'RS256'] as const) {
      const { privateKey, publicJwk } = await signingKeyPair(alg);
      const created = await createKey({ jwks: { keys: [publicJwk as never] } });
      expect(created).not.toHaveProperty('client_secret');
      expect(created.key.auth_method).toBe('private_key_jwt');
      const { config } = configure(created.key.client_id, client.PrivateKeyJwt(privateKey));
      const tokens = await client.clientCredentialsGrant(config, { scope: 'devices:read' });
      expect(tokens.token_type).toBe('bearer');
      const answer = await introspect(tokens.access_token);
      expect(answer.body).toMatchObject({ active: true, client_id: created.key.client_id, scope: 'devices:read', token_type: 'Bearer' });
      expect(answer.body).not.toHaveProperty('cnf');
    }
  });

  it('refuses a replayed client assertion, and audits it', async () => {
    const { privateKey, publicJwk } = await signingKeyPair('ES256');
    const created = await createKey({ jwks: { keys: [publicJwk as never] } });
    const { config, sent } = configure(created.key.client_id, client.PrivateKeyJwt(privateKey));
    await client.clientCredentialsGrant(config);
    // The attacker captured the request and sends it again, byte for byte.
    const replay = await keygate.send({ path: '/oauth/token', raw: sent[0]!.body, headers: { 'content-type': 'application/x-www-form-urlencoded' } });
    expect(replay.status).toBe(401);
    expect(replay.body.error).toBe('invalid_client');
    const reasons = (await deniedEvents(keygate, created.key.client_id)).map((event) => event.reason);
    expect(reasons).toContain('assertion_replayed');
  });

  it('refuses an assertion signed by a key the client does not hold, a secret in its place, and one valid too long', async () => {
    const { publicJwk } = await signingKeyPair('ES256');
    const created = await createKey({ jwks: { keys: [publicJwk as never] } });
    const stranger = await signingKeyPair('ES256');
    const forged = configure(created.key.client_id, client.PrivateKeyJwt(stranger.privateKey));
    await expect(client.clientCredentialsGrant(forged.config)).rejects.toMatchObject({ error: 'invalid_client' });
    // The key has no secret: whatever is presented as one is refused like a wrong secret.
    const basic = await keygate.send({
      path: '/oauth/token',
      headers: { authorization: basicAuth(created.key.client_id, 'kgs_0000000000000000000000000000000000000000000AAAAAA') },
      form: { grant_type: 'client_credentials' },
    });
    expect(basic.status).toBe(401);
    // An assertion that is valid for an hour is refused (the cap is five minutes).
    const own = await signingKeyPair('ES256');
    const capped = await createKey({ jwks: { keys: [own.publicJwk as never] } });
    const longLived = configure(
      capped.key.client_id,
      client.PrivateKeyJwt(own.privateKey, {
        [client.modifyAssertion]: (_header, payload) => {
          payload.exp = (payload.iat as number) + 3600;
        },
      }),
    );
    await expect(client.clientCredentialsGrant(longLived.config)).rejects.toMatchObject({ error: 'invalid_client' });
    const reasons = (await deniedEvents(keygate, created.key.client_id)).map((event) => event.reason);
    expect(reasons).toEqual(expect.arrayContaining(['assertion_invalid', 'wrong_auth_method']));
  });

  it('rotates by adding the new public key, then removing the old one', async () => {
    const oldPair = await signingKeyPair('ES256');
    const newPair = await signingKeyPair('EdDSA');
    const created = await createKey({ jwks: { keys: [oldPair.publicJwk as never] } });
    const actor = TEST_ACTOR;
    await keygate.runtime.keyService.update(created.key.client_id, { jwks: { keys: [oldPair.publicJwk, newPair.publicJwk] as never } }, actor);
    const withOld = configure(created.key.client_id, client.PrivateKeyJwt(oldPair.privateKey));
    const oldToken = await client.clientCredentialsGrant(withOld.config);
    const withNew = configure(created.key.client_id, client.PrivateKeyJwt(newPair.privateKey));
    await client.clientCredentialsGrant(withNew.config);
    await keygate.runtime.keyService.update(created.key.client_id, { jwks: { keys: [newPair.publicJwk] as never } }, actor);
    await expect(client.clientCredentialsGrant(withOld.config)).rejects.toMatchObject({ error: 'invalid_client' });
    await client.clientCredentialsGrant(withNew.config);
    // Removing a public key ends the tokens obtained while it was accepted.
    expect((await introspect(oldToken.access_token)).body).toEqual({ active: false });
  });

  it('revokes its own token with an assertion; once disabled it may not revoke', async () => {
    const { privateKey, publicJwk } = await signingKeyPair('ES256');
    const created = await createKey({ jwks: { keys: [publicJwk as never] } });
    const { config } = configure(created.key.client_id, client.PrivateKeyJwt(privateKey));
    const first = await client.clientCredentialsGrant(config);
    await client.tokenRevocation(config, first.access_token);
    expect((await introspect(first.access_token)).body).toEqual({ active: false });
    const second = await client.clientCredentialsGrant(config);
    await keygate.runtime.db.updateTable('api_keys').set({ status: 'disabled' }).where('client_id', '=', created.key.client_id).execute();
    keygate.afterDirectWrite();
    await expect(client.tokenRevocation(config, second.access_token)).rejects.toMatchObject({ error: 'invalid_client' });
  });

  it('runs the key-state steps for a key without a secret: a disabled key gets no token', async () => {
    const { privateKey, publicJwk } = await signingKeyPair('ES256');
    const created = await createKey({ jwks: { keys: [publicJwk as never] } });
    await keygate.runtime.keyService.setStatus(created.key.client_id, 'disabled', TEST_ACTOR);
    const { config } = configure(created.key.client_id, client.PrivateKeyJwt(privateKey));
    await expect(client.clientCredentialsGrant(config)).rejects.toMatchObject({ error: 'invalid_client' });
    expect((await deniedEvents(keygate, created.key.client_id)).map((event) => event.reason)).toContain('key_disabled');
  });

  it('binds a token to a DPoP key: token_type DPoP, and introspection returns cnf.jkt', async () => {
    const { privateKey, publicJwk } = await signingKeyPair('ES256');
    const created = await createKey({ jwks: { keys: [publicJwk as never] } });
    const { config } = configure(created.key.client_id, client.PrivateKeyJwt(privateKey));
    const dpopKeys = await client.randomDPoPKeyPair('ES256');
    const tokens = await client.clientCredentialsGrant(config, {}, { DPoP: client.getDPoPHandle(config, dpopKeys) });
    expect(tokens.token_type).toBe('dpop');
    const { crv, kty, x, y } = await webcrypto.subtle.exportKey('jwk', dpopKeys.publicKey);
    const thumbprint = createHash('sha256').update(JSON.stringify({ crv, kty, x, y })).digest('base64url');
    const answer = await introspect(tokens.access_token);
    expect(answer.body).toMatchObject({ active: true, token_type: 'DPoP', cnf: { jkt: thumbprint } });
  });

  it('binds a secret-authenticated token with DPoP too, and refuses a replayed proof', async () => {
    const created = await keygate.createKey(tenantId, { name: 'secret + dpop' });
    const { config, sent } = configure(created.key.client_id, client.ClientSecretBasic(created.client_secret));
    const dpopKeys = await client.randomDPoPKeyPair('EdDSA');
    const tokens = await client.clientCredentialsGrant(config, {}, { DPoP: client.getDPoPHandle(config, dpopKeys) });
    expect((await introspect(tokens.access_token)).body).toMatchObject({ token_type: 'DPoP', cnf: { jkt: expect.stringMatching(/^[\w-]{43}$/) } });
    // The captured proof again, on an otherwise valid request.
    const replay = await keygate.send({
      path: '/oauth/token',
      headers: { authorization: basicAuth(created.key.client_id, created.client_secret), dpop: sent[0]!.dpop! },
      form: { grant_type: 'client_credentials' },
    });
    expect(replay.status).toBe(400);
    expect(replay.body.error).toBe('invalid_grant');
    expect(replay.body).not.toHaveProperty('access_token');
    expect((await deniedEvents(keygate, created.key.client_id)).map((event) => event.reason)).toContain('dpop_replayed');
  });

  it('a key that requires DPoP refuses a plain request on every way in, and accepts a bound one', async () => {
    const created = await keygate.runtime.keyService.create({ ...newKeyFor(tenantId, { name: 'dpop required' }), dpop_required: true }, TEST_ACTOR);
    const plain = await keygate.token(created);
    expect(plain.status).toBe(400);
    expect(plain.body).not.toHaveProperty('access_token');
    const exchange = await keygate.send({ path: '/api/v1/auth/authorize', json: { grantType: 'api_key', apiKey: created.api_key } });
    expect(exchange.status).toBe(401);
    const reasons = (await deniedEvents(keygate, created.key.client_id)).map((event) => event.reason);
    expect(reasons.filter((reason) => reason === 'dpop_required')).toHaveLength(2);
    const { config } = configure(created.key.client_id, client.ClientSecretBasic(created.client_secret));
    const tokens = await client.clientCredentialsGrant(config, {}, { DPoP: client.getDPoPHandle(config, await client.randomDPoPKeyPair('ES256')) });
    expect(tokens.token_type).toBe('dpop');
  });

  it('refuses a proof for another URL or signed with an unsupported algorithm', async () => {
    const created = await keygate.createKey(tenantId, { name: 'bad proofs' });
    const wrongUrl = new client.Configuration(
      { issuer: ISSUER, token_endpoint: `http://127.0.0.1:${keygate.port}/oauth/token?x` },
      created.key.client_id,
      {},
      client.ClientSecretBasic(created.client_secret),
    );
    client.allowInsecureRequests(wrongUrl);
    const handle = client.getDPoPHandle(wrongUrl, await client.randomDPoPKeyPair('ES256'), {
      [client.modifyAssertion]: (_header, payload) => {
        payload.htu = 'https://elsewhere.example/oauth/token';
      },
    });
    await expect(client.clientCredentialsGrant(wrongUrl, {}, { DPoP: handle })).rejects.toMatchObject({ error: 'invalid_dpop_proof' });
    expect((await deniedEvents(keygate, created.key.client_id)).map((event) => event.reason)).toContain('dpop_invalid');
  });

  it('validates public keys when a key is created: private parts, weak RSA and too many keys are refused', async () => {
    const { publicJwk } = await signingKeyPair('ES256');
    const invalid = async (jwks: unknown) => {
      await expect(createKey({ jwks: jwks as never })).rejects.toMatchObject({ code: 'validation_failed' });
    };
    await invalid({ keys: [{ ...publicJwk, d: 'AAAA' }] });
    await invalid({ keys: Array.from({ length: 6 }, (_, i) => ({ ...publicJwk, kid: `k${i}` })) });
    await invalid({ keys: [{ ...publicJwk, alg: 'RS256' }] });
    await invalid({ keys: [{ kty: 'oct', k: 'AAAA' }] });
    const weak = (await webcrypto.subtle.generateKey(
      { name: 'RSASSA-PKCS1-v1_5', modulusLength: 1024, publicExponent: new Uint8Array([1, 0, 1]), hash: 'SHA-256' },
      true,
      ['sign', 'verify'],
    )) as webcrypto.CryptoKeyPair;
    const weakJwk = await webcrypto.subtle.exportKey('jwk', weak.publicKey);
    await invalid({ keys: [{ kty: 'RSA', n: weakJwk.n, e: weakJwk.e }] });
    await expect(createKey({ jwks: { keys: [publicJwk as never] }, tls_client_auth: { subject_dn: 'CN=x' } })).rejects.toMatchObject({
      code: 'validation_failed',
    });
  });
});

/** A DPoP proof made by hand (RFC 9449 §4.2), ES256. */
function dpopProof(htu: string): string {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const { kty, crv, x, y } = publicKey.export({ format: 'jwk' });
  const encode = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
  const input = `${encode({ typ: 'dpop+jwt', alg: 'ES256', jwk: { kty, crv, x, y } })}.${encode({ jti: randomUUID(), htm: 'POST', htu, iat: Math.floor(Date.now() / 1000) })}`;
  return `${input}.${sign('sha256', Buffer.from(input), { key: privateKey, dsaEncoding: 'ieee-p1363' }).toString('base64url')}`;
}

describe('DPoP behind a TLS-terminating proxy', () => {
  const PROXY = '127.0.0.2';
  let keygate: TestKeygate;
  let key: CreatedKey;

  beforeAll(async () => {
    keygate = await startKeygate({ tokenStore: 'memory', trustedProxies: PROXY });
    key = await keygate.createKey(await keygate.newTenant(), { name: 'behind proxy' });
  });
  afterAll(() => keygate?.close());

  const request = (from: string) =>
    keygate.send({
      path: '/oauth/token',
      headers: {
        authorization: basicAuth(key.key.client_id, key.client_secret),
        dpop: dpopProof('https://keygate.example/oauth/token'),
        'x-forwarded-proto': 'https',
        'x-forwarded-host': 'keygate.example',
      },
      form: { grant_type: 'client_credentials' },
      from,
    });

  it('a proof for the public URL is accepted when a trusted proxy says that is the URL the client called', async () => {
    const response = await request(PROXY);
    expect(response.status).toBe(200);
    expect(response.body.token_type).toBe('DPoP');
  });

  it('the same headers from any other peer are ignored: the proof names another URL', async () => {
    const response = await request('127.0.0.3');
    expect(response.status).toBe(400);
    expect(response.body.error).toBe('invalid_dpop_proof');
  });
});

describe('private_key_jwt under the failure limits', () => {
  let keygate: TestKeygate;
  let tenantId: string;

  beforeAll(async () => {
    keygate = await startKeygate({ tokenStore: 'memory', authFailuresPerClientSource: 2, authFailuresPerSource: 1000 });
    tenantId = await keygate.newTenant();
  });
  afterAll(() => keygate?.close());
  beforeEach(() => awayFromWindowEdge(), 30_000);

  /** An assertion made by hand (RFC 7523 §3), ES256, without client_id in the form: only its `sub` names the client. */
  function assertionRequest(clientId: string, privateKey: KeyObject) {
    const encode = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
    const now = Math.floor(Date.now() / 1000);
    const input = `${encode({ alg: 'ES256' })}.${encode({ iss: clientId, sub: clientId, aud: ISSUER, jti: randomUUID(), iat: now, exp: now + 60 })}`;
    const assertion = `${input}.${sign('sha256', Buffer.from(input), { key: privateKey, dsaEncoding: 'ieee-p1363' }).toString('base64url')}`;
    return keygate.send({
      path: '/oauth/token',
      form: { grant_type: 'client_credentials', client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer', client_assertion: assertion },
    });
  }

  it('forged assertions lock the client they name from that source, even for the right key next', async () => {
    const own = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const { kty, crv, x, y } = own.publicKey.export({ format: 'jwk' });
    const created = await keygate.runtime.keyService.create(
      { ...newKeyFor(tenantId, { name: 'limited' }), jwks: { keys: [{ kty: kty as 'EC', crv: crv as 'P-256', x: x!, y: y! }] } },
      TEST_ACTOR,
    );
    expect((await assertionRequest(created.key.client_id, own.privateKey)).status).toBe(200);
    const stranger = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey;
    for (let i = 0; i < 2; i++) expect((await assertionRequest(created.key.client_id, stranger)).status).toBe(401);
    expect((await assertionRequest(created.key.client_id, own.privateKey)).status).toBe(429);
  });
});
