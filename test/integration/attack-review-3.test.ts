// Attacker's review 3 of the token-path performance changes (Keygate's own minter, the Redis save
// script, batched key reads, the precompiled introspection answer), over real HTTP, Postgres and
// Redis. Each test asserts the SECURE behaviour; the two holes it found (H1, H2) are fixed, and
// every test here stays as a regression test.
import { createHash, generateKeyPairSync, randomUUID, sign, X509Certificate } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { adminClient, clientFor } from '../support/admin.ts';
import { basicAuth } from '../support/http.ts';
import { ISSUER, newKeyFor, startKeygate, type TestKeygate } from '../support/keygate.ts';
import { CERTIFICATE_HEADER, CERTIFICATE_PROXY, makeCertificates, startKeygateWithTls } from '../support/tls.ts';
import { REDIS_LAYOUT } from '../../src/stores/tokens-redis.ts';
import { hashToken } from '../../src/crypto/token-hash.ts';
import type { CreatedKey } from '../../src/keys/types.ts';
import type { NewKey } from '../../src/keys/schemas.ts';

const TEST_ACTOR = { keyId: null, userId: null, via: 'test' } as const;

/** A DPoP proof made by hand (RFC 9449 §4.2), ES256, and its key's JWK thumbprint (RFC 7638). */
function dpopProof(htu: string): { proof: string; jkt: string } {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const { kty, crv, x, y } = publicKey.export({ format: 'jwk' });
  const encode = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
  const input = `${encode({ typ: 'dpop+jwt', alg: 'ES256', jwk: { kty, crv, x, y } })}.${encode({ jti: randomUUID(), htm: 'POST', htu, iat: Math.floor(Date.now() / 1000) })}`;
  const proof = `${input}.${sign('sha256', Buffer.from(input), { key: privateKey, dsaEncoding: 'ieee-p1363' }).toString('base64url')}`;
  return { proof, jkt: createHash('sha256').update(JSON.stringify({ crv, kty, x, y })).digest('base64url') };
}

describe('attack review 3', () => {
  let keygate: TestKeygate;
  let tenantId: string;
  let introspector: CreatedKey;

  beforeAll(async () => {
    keygate = await startKeygate({ tokenStore: 'redis' });
    tenantId = await keygate.newTenant();
    introspector = await keygate.createKey(tenantId, { name: 'resource server', scopes: ['token:introspect'] });
  });
  afterAll(() => keygate?.close());

  const introspectAt = (target: string, token: string, caller = introspector) =>
    keygate.send({ path: target, headers: { authorization: basicAuth(caller.key.client_id, caller.client_secret) }, form: { token } });

  /** client_credentials with a DPoP proof for this server's token URL (the library's grant). */
  async function dpopToken(key: CreatedKey) {
    const { proof, jkt } = dpopProof(`http://127.0.0.1:${keygate.port}/oauth/token`);
    const minted = await keygate.send({
      path: '/oauth/token',
      headers: { authorization: basicAuth(key.key.client_id, key.client_secret), dpop: proof },
      form: { grant_type: 'client_credentials' },
    });
    expect(minted.status).toBe(200);
    return { token: minted.body.access_token as string, tokenType: minted.body.token_type as string, jkt };
  }

  it('H1: the admin API refuses a DPoP-bound token presented as a plain Bearer token, with no DPoP proof', async () => {
    // A key that may administer its tenant gets a token bound to a DPoP key it holds.
    const key = await keygate.createKey(tenantId, { name: 'dpop admin automation', scopes: ['admin:keys:read', 'admin:keys:write'] });
    const { token, tokenType, jkt } = await dpopToken(key);
    expect(tokenType).toBe('DPoP');
    expect((await introspectAt('/oauth/introspect', token)).body).toMatchObject({ active: true, token_type: 'DPoP', cnf: { jkt } });
    // Whoever copies the token value (a log, a proxy) uses it without the DPoP private key.
    const stolen = clientFor(keygate, key, token);
    const listed = await stolen.get('/keys');
    const created = await stolen.post('/keys', { name: 'planted by a thief', scopes: ['admin:keys:read'] });
    // Before the fix: 200 and 201 (a new key with its secret). RFC 9449 §7.1: a DPoP-bound token is not a bearer token.
    expect({ list: listed.status, create: created.status }).toEqual({ list: 401, create: 401 });
    // The Check Point compat route takes the same bearer tokens: the same refusal there.
    const compat = await keygate.send({
      path: '/api/v1/tenant/token',
      headers: { authorization: `Bearer ${token}` },
      json: { description: 'x', role: 'read-only', childTenantId: tenantId, expiration: '2099-01-01' },
    });
    expect(compat.status).toBe(401);
    expect(compat.headers['www-authenticate']).toContain('error="invalid_token"');
  });

  it('held: a DPoP-bound token is DPoP with its cnf in the token answer and in introspection, on the plain and the Koa path alike', async () => {
    const key = await keygate.createKey(tenantId, { name: 'dpop' });
    const { token, tokenType, jkt } = await dpopToken(key);
    expect(tokenType).toBe('DPoP');
    const plain = await introspectAt('/oauth/introspect', token);
    const viaKoa = await introspectAt(`http://127.0.0.1:${keygate.port}/oauth/introspect`, token);
    expect(JSON.parse(plain.text)).toEqual({
      active: true,
      scope: 'devices:read devices:write',
      client_id: key.key.client_id,
      sub: key.key.client_id,
      tenant_id: tenantId,
      key_kind: 'service',
      token_type: 'DPoP',
      iat: expect.any(Number),
      exp: expect.any(Number),
      iss: ISSUER,
      cnf: { jkt },
    });
    expect({ status: viaKoa.status, cache: viaKoa.headers['cache-control'], body: JSON.parse(viaKoa.text) }).toEqual({
      status: 200,
      cache: 'no-store',
      body: JSON.parse(plain.text),
    });
    // A plain (unbound) token of the same key says Bearer and has no cnf.
    const unbound = (await keygate.token(key)).body;
    expect(unbound.token_type).toBe('Bearer');
    const answer = JSON.parse((await introspectAt('/oauth/introspect', unbound.access_token)).text);
    expect(answer.token_type).toBe('Bearer');
    expect(answer).not.toHaveProperty('cnf');
  });

  it('held: tokens are 43 base64url characters, never repeated across pool refills, on every route', async () => {
    const key = await keygate.createKey(tenantId, { name: 'many tokens' });
    const viaPlain = await Promise.all(Array.from({ length: 300 }, () => keygate.token(key)));
    const viaExchange = await Promise.all([
      ...Array.from({ length: 20 }, () => keygate.send({ path: '/auth/external', json: { clientId: key.key.client_id, accessKey: key.client_secret } })),
      ...Array.from({ length: 20 }, () =>
        keygate.send({ path: '/api/v1/auth/authorize', json: { grantType: 'api_key', apiKey: `${key.key.client_id}.${key.client_secret}` } }),
      ),
    ]);
    const viaLibrary = await Promise.all(Array.from({ length: 20 }, () => dpopToken(key)));
    const values = [
      ...viaPlain.map((r) => r.body.access_token as string),
      ...viaExchange.map((r) => (r.body.data.token ?? r.body.data.accessToken) as string),
      ...viaLibrary.map((r) => r.token),
    ];
    expect(viaPlain.every((r) => r.status === 200) && viaExchange.every((r) => r.status === 200)).toBe(true);
    for (const value of values) expect(value).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(new Set(values).size).toBe(values.length);
    // No value is all zero bytes (the pool's overwritten slots).
    expect(values.filter((value) => Buffer.from(value, 'base64url').every((byte) => byte === 0))).toEqual([]);
  });

  it("held: a token is in its key's index as soon as it is issued, and the save survives a flushed script cache", async () => {
    const redis = new Redis(inject('redisUrl'));
    try {
      const key = await keygate.createKey(tenantId, { name: 'indexed' });
      const first = (await keygate.token(key)).body.access_token as string;
      await redis.script('FLUSH');
      const second = await keygate.token(key);
      expect(second.status).toBe(200);
      const now = Math.floor(Date.now() / 1000);
      const indexed = new Set<string>();
      for (const bucket of REDIS_LAYOUT.liveBuckets(now)) {
        for (const field of await redis.hkeys(REDIS_LAYOUT.indexKey(key.key.client_id, bucket))) indexed.add(field);
      }
      expect(indexed.has(hashToken(first)) && indexed.has(hashToken(second.body.access_token))).toBe(true);
      expect(await redis.ttl(REDIS_LAYOUT.tokenKey(hashToken(first)))).toBeGreaterThan(3500);
      const admin = await adminClient(keygate, tenantId);
      expect((await admin.post(`/keys/${key.key.client_id}/revoke-tokens`)).body).toEqual({ revoked_tokens: 2 });
      for (const token of [first, second.body.access_token]) expect((await introspectAt('/oauth/introspect', token)).body).toEqual({ active: false });
    } finally {
      await redis.quit();
    }
  });

  it('held: concurrent lookups of many keys in one batch each get their own key, and an id in another letter case is no key', async () => {
    const otherTenant = await keygate.newTenant();
    const keys = await Promise.all(
      Array.from({ length: 30 }, (_, i) =>
        keygate.createKey(i % 2 ? tenantId : otherTenant, { name: `batch ${i}`, scopes: i % 3 ? ['devices:read'] : ['devices:write'] }),
      ),
    );
    const tokens = await Promise.all(keys.map((key) => keygate.token(key)));
    keygate.afterDirectWrite(); // every key misses the cache: the lookups below share batches
    const answers = await Promise.all(tokens.map((token) => introspectAt('/oauth/introspect', token.body.access_token)));
    answers.forEach((answer, i) => {
      const key = keys[i]!;
      if (i % 2) expect(answer.body).toMatchObject({ active: true, client_id: key.key.client_id, scope: i % 3 ? 'devices:read' : 'devices:write' });
      else expect(answer.body).toEqual({ active: false }); // another tenant's token
    });
    keygate.afterDirectWrite();
    const [same, upper, lower] = await Promise.all([
      keygate.token(keys[1]!),
      keygate.send({
        path: '/oauth/token',
        headers: { authorization: basicAuth(keys[1]!.key.client_id.toUpperCase(), keys[1]!.client_secret) },
        form: { grant_type: 'client_credentials' },
      }),
      keygate.send({
        path: '/oauth/token',
        headers: { authorization: basicAuth(keys[1]!.key.client_id.toLowerCase(), keys[1]!.client_secret) },
        form: { grant_type: 'client_credentials' },
      }),
    ]);
    expect([same.status, upper.status, lower.status]).toEqual([200, 401, 401]);
  });

  it('held: a change to a key ends its tokens at once, also when its lookup shares a batch', async () => {
    const admin = await adminClient(keygate, tenantId);
    const key = await keygate.createKey(tenantId, { name: 'to be disabled', networks: ['127.0.0.0/8'] });
    const bystander = await keygate.createKey(tenantId, { name: 'bystander' });
    const token = (await keygate.token(key)).body.access_token;
    const other = (await keygate.token(bystander)).body.access_token;
    expect((await admin.post(`/keys/${key.key.client_id}/disable`)).status).toBeLessThan(300);
    const [ended, alive] = await Promise.all([introspectAt('/oauth/introspect', token), introspectAt('/oauth/introspect', other)]);
    expect(ended.body).toEqual({ active: false });
    expect(alive.body.active).toBe(true);
    await keygate.runtime.keyService.setStatus(key.key.client_id, 'active', TEST_ACTOR);
    expect((await introspectAt('/oauth/introspect', token)).body).toEqual({ active: false });
  });

  it('held: old-secret tokens end with a grace-0 rotation; another tenant can neither read nor revoke a token', async () => {
    const admin = await adminClient(keygate, tenantId);
    const key = await keygate.createKey(tenantId, { name: 'rotated' });
    const token = (await keygate.token(key)).body.access_token;
    expect((await admin.post(`/keys/${key.key.client_id}/rotate`, { grace_seconds: 0 })).status).toBe(200);
    expect((await introspectAt('/oauth/introspect', token)).body).toEqual({ active: false });

    const live = await keygate.createKey(tenantId, { name: 'victim' });
    const victimToken = (await keygate.token(live)).body.access_token;
    const stranger = await keygate.createKey(await keygate.newTenant(), { name: 'stranger rs', scopes: ['token:introspect'] });
    expect((await introspectAt('/oauth/introspect', victimToken, stranger)).body).toEqual({ active: false });
    await keygate.send({
      path: '/oauth/revoke',
      headers: { authorization: basicAuth(stranger.key.client_id, stranger.client_secret) },
      form: { token: victimToken },
    });
    expect((await introspectAt('/oauth/introspect', victimToken)).body.active).toBe(true);
  });

  it('held: odd input on the token, introspection and revocation routes is never a 5xx', async () => {
    const key = await keygate.createKey(tenantId, { name: 'odd input' });
    const auth = basicAuth(key.key.client_id, key.client_secret);
    const rsAuth = basicAuth(introspector.key.client_id, introspector.client_secret);
    const weird = ['\u0000', '%', '%zz', 'a'.repeat(20_000), '"}\\', '\ud800', `kg_${'A'.repeat(22)}\u0000`, "kg_' or '1'='1", `kg_${'A'.repeat(5000)}`];
    const requests = [];
    for (const value of weird) {
      for (const target of ['/oauth/token', `http://127.0.0.1:${keygate.port}/oauth/token`]) {
        requests.push(keygate.send({ path: target, headers: { authorization: auth }, form: { grant_type: 'client_credentials', scope: value } }));
        requests.push(keygate.send({ path: target, form: { grant_type: 'client_credentials', client_id: value, client_secret: value } }));
        requests.push(
          keygate.send({
            path: target,
            headers: { authorization: `Basic ${Buffer.from(`${value}:${value}`).toString('base64')}` },
            form: { grant_type: 'client_credentials' },
          }),
        );
      }
      for (const target of ['/oauth/introspect', `http://127.0.0.1:${keygate.port}/oauth/introspect`, '/oauth/revoke']) {
        requests.push(keygate.send({ path: target, headers: { authorization: rsAuth }, form: { token: value, client_ip: value } }));
        requests.push(keygate.send({ path: target, headers: { authorization: rsAuth }, form: { token: value, token_type_hint: value } }));
      }
      requests.push(keygate.send({ path: '/auth/external', json: { clientId: value, accessKey: value } }));
      requests.push(keygate.send({ path: '/api/v1/auth/authorize', json: { apiKey: value } }));
    }
    // Legitimate requests in the same turns (their key lookups share batches with the odd ones).
    keygate.afterDirectWrite();
    const legit = Array.from({ length: 10 }, () => keygate.token(key));
    const statuses = (await Promise.all(requests)).map((r) => r.status);
    expect(statuses.filter((status) => status >= 500)).toEqual([]);
    expect((await Promise.all(legit)).map((r) => r.status)).toEqual(Array(10).fill(200));
  });
});

describe('attack review 3: certificate-bound tokens', () => {
  const PROXY = CERTIFICATE_PROXY;
  const CERT_HEADER = CERTIFICATE_HEADER;
  let dir: string;
  let device: string;
  let keygate: TestKeygate;
  let tenantId: string;
  let introspector: CreatedKey;

  beforeAll(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'keygate-attack3-'));
    device = makeCertificates(dir).device.cert;
    keygate = await startKeygateWithTls(dir);
    tenantId = await keygate.newTenant();
    introspector = await keygate.createKey(tenantId, { name: 'resource server', scopes: ['token:introspect'] });
  });
  afterAll(async () => {
    await keygate?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('H2: the admin API refuses a certificate-bound token presented without the certificate', async () => {
    const key = await keygate.runtime.keyService.create(
      { ...newKeyFor(tenantId, { name: 'device admin', scopes: ['admin:keys:read', 'admin:keys:write'] }), tls_client_certificate: device } as NewKey,
      TEST_ACTOR,
    );
    // The device gets its token through the TLS-terminating proxy, which forwards its certificate.
    const minted = await keygate.send({
      path: '/oauth/token',
      headers: { [CERT_HEADER]: encodeURIComponent(device) },
      form: { grant_type: 'client_credentials', client_id: key.key.client_id },
      from: PROXY,
    });
    expect(minted.status).toBe(200);
    const token: string = minted.body.access_token;
    const x5t = createHash('sha256').update(new X509Certificate(device).raw).digest('base64url');
    expect((await keygate.introspect(introspector, token)).body).toMatchObject({ active: true, token_type: 'Bearer', cnf: { 'x5t#S256': x5t } });
    // Anyone holding the token value, with no certificate at all (plain HTTP, not via the proxy):
    const stolen = clientFor(keygate, key, token);
    const listed = await stolen.get('/keys');
    const created = await stolen.post('/keys', { name: 'planted by a thief', scopes: ['admin:keys:read'] });
    // Before the fix: 200 and 201. RFC 8705 §3: the protected resource must check the certificate against cnf.x5t#S256.
    expect({ list: listed.status, create: created.status }).toEqual({ list: 401, create: 401 });
  });
});
