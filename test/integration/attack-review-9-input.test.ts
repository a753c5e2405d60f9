// Attacker's review 9 (input handling, error shapes, secret leaks). Over real HTTP, Postgres and
// Redis; each test asserts the CORRECT behaviour, so a test that fails is a hole in the code under
// review. `held:` tests passed and document attacks that did not work.
import net from 'node:net';
import { Writable } from 'node:stream';
import { Redis } from 'ioredis';
import { sql } from 'kysely';
import { afterAll, beforeAll, beforeEach, describe, expect, inject, it } from 'vitest';
import { generateClientId, generateClientSecret } from '../../src/crypto/credentials.ts';
import type { CreatedKey } from '../../src/keys/types.ts';
import { adminClient, type AdminClient } from '../support/admin.ts';
import { basicAuth } from '../support/http.ts';
import { deniedEvents, startKeygate, type TestKeygate } from '../support/keygate.ts';
import { awayFromWindowEdge } from '../support/windows.ts';

const FORM = 'application/x-www-form-urlencoded';
/** 1,000 harmless extra parameters: node's querystring.parse keeps only the first 1,000 names. */
const FILLER = Array.from({ length: 1000 }, (_, i) => `f${i}=`).join('&');

describe('attack review 9 (input): OAuth routes', () => {
  let keygate: TestKeygate;
  let tenantId: string;
  let key: CreatedKey;
  let resourceServer: CreatedKey;
  const logLines: string[] = [];

  beforeAll(async () => {
    const destination = new Writable({
      write(chunk, _encoding, done) {
        logLines.push(String(chunk));
        done();
      },
    });
    keygate = await startKeygate({ tokenStore: 'redis', logDestination: destination as never });
    tenantId = await keygate.newTenant();
    key = await keygate.createKey(tenantId, { name: 'client', scopes: ['devices:read', 'devices:write'] });
    resourceServer = await keygate.createKey(tenantId, { name: 'resource server', scopes: ['token:introspect'] });
  });
  afterAll(() => keygate?.close());

  const rawForm = (path: string, body: string | Buffer, headers: Record<string, string> = {}, contentType = FORM) =>
    keygate.send({ path, raw: body, headers: { 'content-type': contentType, ...headers } });

  it('F1: a malformed DPoP proof header ("a.b.c") on /oauth/token is 400 invalid_dpop_proof, never a 500', async () => {
    const auth = basicAuth(key.key.client_id, key.client_secret);
    const basic = await rawForm('/oauth/token', 'grant_type=client_credentials', { authorization: auth, dpop: 'a.b.c' });
    const post = await rawForm('/oauth/token', `grant_type=client_credentials&client_id=${key.key.client_id}&client_secret=${key.client_secret}`, {
      dpop: 'a.b.c',
    });
    // A proof that is not even a JWT is refused as such ("x": 400 invalid_dpop_proof) — so must this one be.
    const x = await rawForm('/oauth/token', 'grant_type=client_credentials', { authorization: auth, dpop: 'x' });
    expect(x.status).toBe(400);
    // docs/api.md: a malformed proof is 400 invalid_dpop_proof (reason dpop_invalid), audited before the answer leaves.
    const audited = (await deniedEvents(keygate, key.key.client_id)).filter((event) => event.reason === 'dpop_invalid').length;
    expect({ basic: basic.status, post: post.status, audited }).toEqual({ basic: 400, post: 400, audited: 3 });
    expect(basic.body).toEqual({ error: 'invalid_dpop_proof', error_description: 'invalid DPoP key binding' });
  });

  it('F3: a repeated parameter after the 1,000th on /oauth/introspect is refused (RFC 6749 §3.2), not silently dropped', async () => {
    const token = (await keygate.token(key)).body.access_token as string;
    const auth = basicAuth(resourceServer.key.client_id, resourceServer.client_secret);
    const short = await rawForm('/oauth/introspect', `token=${token}&token=x`, { authorization: auth });
    expect(short.status).toBe(400); // refused when the repeat is near the start
    const long = await rawForm('/oauth/introspect', `token=${token}&${FILLER}&token=x`, { authorization: auth });
    expect(long.status).toBe(400);
  });

  it('F3: client_ip after the 1,000th parameter is not ignored: a token of a network-bound key is inactive for an outside address', async () => {
    const bound = await keygate.createKey(tenantId, { name: 'bound', networks: ['127.0.0.0/8'] });
    const token = (await keygate.token(bound)).body.access_token as string;
    const auth = basicAuth(resourceServer.key.client_id, resourceServer.client_secret);
    const near = await rawForm('/oauth/introspect', `token=${token}&client_ip=192.0.2.7`, { authorization: auth });
    expect(near.body).toEqual({ active: false });
    const far = await rawForm('/oauth/introspect', `token=${token}&${FILLER}&client_ip=192.0.2.7`, { authorization: auth });
    // Either refused as malformed, or the address is honoured: never "active" for an outside address.
    expect({ status: far.status, active: far.body?.active }).toEqual(far.status === 400 ? { status: 400, active: undefined } : { status: 200, active: false });
  });

  it('F3: /oauth/token refuses a repeated scope after the 1,000th parameter, and never widens a token past the scope asked for', async () => {
    const auth = basicAuth(key.key.client_id, key.client_secret);
    const repeated = await rawForm('/oauth/token', `grant_type=client_credentials&${FILLER}&scope=devices:read&scope=devices:write`, { authorization: auth });
    const narrow = await rawForm('/oauth/token', `grant_type=client_credentials&${FILLER}&scope=devices:read`, { authorization: auth });
    // The repeat is refused; the client that asked for devices:read only gets devices:read only (or a 400).
    expect({ repeated: repeated.status, narrow: narrow.status === 400 ? 'refused' : narrow.body?.scope }).toEqual({
      repeated: 400,
      narrow: narrow.status === 400 ? 'refused' : 'devices:read',
    });
  });

  it('F3: /oauth/revoke refuses a repeated token after the 1,000th parameter', async () => {
    const token = (await keygate.token(key)).body.access_token as string;
    const auth = basicAuth(key.key.client_id, key.client_secret);
    const short = await rawForm('/oauth/revoke', `token=x&token=${token}`, { authorization: auth });
    expect(short.status).toBe(400);
    const long = await rawForm('/oauth/revoke', `token=x&${FILLER}&token=${token}`, { authorization: auth });
    expect(long.status).toBe(400);
  });

  it('held: no secret, API key or token of a request (good or refused, in any field) reaches the log, the audit log, the outbox, /metrics or a Redis key name', async () => {
    const secret = key.client_secret;
    const token = (await keygate.token(key)).body.access_token as string;
    const apiKey = `${key.key.client_id}.${secret}`;
    const rsAuth = basicAuth(resourceServer.key.client_id, resourceServer.client_secret);
    const wrong = basicAuth(key.key.client_id, `${secret.slice(0, -1)}x`);
    const requests = [
      rawForm('/oauth/token', `grant_type=client_credentials&client_id=${secret}&client_secret=${key.key.client_id}`),
      rawForm('/oauth/token', 'grant_type=client_credentials', { authorization: basicAuth(secret, secret) }),
      rawForm('/oauth/token', `grant_type=client_credentials&scope=${secret}`, { authorization: basicAuth(key.key.client_id, secret) }),
      rawForm('/oauth/token', 'grant_type=client_credentials', { authorization: wrong, dpop: 'a.b.c' }),
      rawForm('/oauth/token', 'grant_type=client_credentials', { authorization: basicAuth(key.key.client_id, secret), dpop: 'a.b.c' }),
      rawForm('/oauth/token', `grant_type=client_credentials&client_secret=${secret}`, { authorization: basicAuth(key.key.client_id, secret) }),
      rawForm('/oauth/token', `grant_type=${secret}`, { authorization: basicAuth(key.key.client_id, secret) }),
      rawForm(
        '/oauth/token',
        `grant_type=client_credentials&client_assertion_type=urn%3Aietf%3Aparams%3Aoauth%3Aclient-assertion-type%3Ajwt-bearer&client_assertion=${token}.${secret}.x`,
      ),
      rawForm('/oauth/token', 'grant_type=client_credentials', { authorization: `Bearer ${token}` }),
      rawForm('/oauth/introspect', `token=${token}&client_ip=${secret}`, { authorization: rsAuth }),
      rawForm('/oauth/introspect', `token=${token}&token=${secret}`, { authorization: rsAuth }),
      rawForm('/oauth/introspect', `token=${token}`, { authorization: wrong }),
      rawForm('/oauth/introspect', `token=${token}&client_id=${key.key.client_id}&client_secret=${secret}`),
      rawForm('/oauth/revoke', `token=${secret}`, { authorization: wrong }),
      rawForm('/oauth/revoke', `token=${token}&token_type_hint=${secret}`, { authorization: rsAuth, origin: 'https://x.example' }),
      keygate.send({ path: '/v1/keys/verify', json: { api_key: apiKey, client_ip: secret }, headers: { authorization: rsAuth } }),
      keygate.send({ path: '/v1/keys/verify', json: { api_key: apiKey, [secret]: 1 }, headers: { authorization: wrong } }),
      keygate.send({ path: '/v1/keys/verify', json: { client_id: secret, client_secret: token }, headers: { authorization: rsAuth } }),
      keygate.send({ path: '/api/v1/auth/authorize', json: { grantType: 'api_key', apiKey: `${secret}.${key.key.client_id}` } }),
      keygate.send({ path: '/api/v1/auth/authorize', json: { grantType: secret, apiKey } }),
      keygate.send({ path: '/auth/external', json: { clientId: secret, accessKey: token } }),
      keygate.send({ path: '/auth/external', json: { clientId: key.key.client_id, accessKey: `${secret}x` } }),
      keygate.send({ method: 'GET', path: `/admin/v1/keys?q=${secret}`, headers: { authorization: `Bearer ${token}` } }),
      keygate.send({ method: 'GET', path: `/admin/v1/keys/${secret}`, headers: { authorization: `Bearer ${secret}` } }),
      keygate.send({ method: 'GET', path: `/admin/v1/audit?cursor=${secret}`, headers: { authorization: `Bearer ${token}x` } }),
      keygate.send({ method: 'GET', path: `/oauth/token?client_secret=${secret}` }),
      keygate.send({ path: '/console/api/session', json: { email: secret, password: token } }),
      keygate.send({ path: '/console/api/setup', json: { token: secret, password: token } }),
      keygate.send({ method: 'GET', path: '/admin/v1/keys', headers: { cookie: `keygate_session=${secret}` } }),
      keygate.send({ path: '/api/v1/tenant/token', json: { description: secret }, headers: { authorization: `Bearer ${secret}` } }),
    ];
    const statuses = (await Promise.all(requests)).map((r) => r.status);
    expect(statuses.filter((s) => s === 200).length).toBeGreaterThan(0);
    await new Promise((resolve) => setTimeout(resolve, 300));
    const needles = { secret: secret.slice(4, 40), token: token.slice(0, 30) };
    const places: Record<string, string> = {
      log: logLines.join(''),
      metrics: (await keygate.send({ method: 'GET', path: '/metrics' })).text,
    };
    for (const table of ['audit_events', 'outbox', 'webhook_deliveries', 'webhook_attempts', 'users']) {
      const rows = await sql<{ row: unknown }>`select row_to_json(t) as row from ${sql.table(table)} t`.execute(keygate.runtime.db);
      places[table] = JSON.stringify(rows.rows);
    }
    const redis = new Redis(inject('redisUrl'));
    try {
      places.redisKeys = (await redis.keys(`*${needles.token.slice(0, 16)}*`)).concat(await redis.keys(`*${needles.secret.slice(0, 16)}*`)).join(' ');
    } finally {
      redis.disconnect();
    }
    const found = Object.entries(places).flatMap(([place, text]) =>
      Object.entries(needles)
        .filter(([, needle]) => text.includes(needle))
        .map(([name]) => `${name} in ${place}`),
    );
    expect(found).toEqual([]);
  });

  it('F6: a request whose body stops arriving is answered (408) or closed within 20 s, not held open for minutes', { timeout: 45_000 }, async () => {
    const started = Date.now();
    const outcome = await new Promise<string>((resolve) => {
      const socket = net.connect(keygate.port, '127.0.0.1', () => {
        const head = ['POST /oauth/token HTTP/1.1', 'Host: keygate.test', `Content-Type: ${FORM}`, 'Content-Length: 200', '', ''];
        socket.write(`${head.join('\r\n')}grant_type=client_credentials`); // 29 of the 200 bytes announced, then nothing
      });
      let answer = '';
      socket.on('data', (chunk) => (answer += String(chunk)));
      socket.on('close', () => resolve(`closed after ${Math.round((Date.now() - started) / 1000)} s: ${answer.split('\r\n')[0] ?? ''}`));
      socket.on('error', () => {});
      setTimeout(() => {
        resolve(`still open after ${Math.round((Date.now() - started) / 1000)} s`);
        socket.destroy();
      }, 20_000);
    });
    expect(outcome).toMatch(/^closed after/);
  });

  it('F4: an Origin header (or client-attestation headers) does not tell a known client id from an unknown one (token and revocation)', async () => {
    const known = key.key.client_id;
    const unknown = generateClientId();
    const origin = 'https://attacker.example';
    const answers = async (clientId: string) => {
      const send = (path: string, body: string, headers: Record<string, string> = {}) => rawForm(path, body, { origin, ...headers });
      const all = await Promise.all([
        send('/oauth/token', 'grant_type=client_credentials', { authorization: basicAuth(clientId, generateClientSecret()) }),
        send('/oauth/token', `grant_type=client_credentials&client_id=${clientId}&client_secret=${generateClientSecret()}`),
        send('/oauth/token', `grant_type=client_credentials&client_id=${clientId}`),
        send('/oauth/revoke', 'token=abc', { authorization: basicAuth(clientId, generateClientSecret()) }),
      ]);
      // The same question without an Origin: client-attestation headers (a feature Keygate does not offer).
      const encode = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
      const attestation = {
        'oauth-client-attestation': `${encode({ alg: 'ES256', typ: 'oauth-client-attestation+jwt' })}.${encode({ sub: clientId })}.AAAA`,
        'oauth-client-attestation-pop': `${encode({ alg: 'ES256', typ: 'oauth-client-attestation-pop+jwt' })}.${encode({ iss: clientId })}.AAAA`,
      };
      all.push(await rawForm('/oauth/token', `grant_type=client_credentials&client_id=${clientId}`, attestation));
      all.push(await rawForm('/oauth/revoke', `token=abc&client_id=${clientId}`, attestation));
      return all.map((r) => `${r.status} ${r.text.replaceAll(clientId, '<client id>')}`);
    };
    const forUnknown = await answers(unknown);
    // Refused before any lookup, alike for every client id.
    expect(forUnknown[0]).toBe('400 {"error":"invalid_request","error_description":"cross-origin requests are not accepted"}');
    expect(forUnknown.at(-1)).toBe('400 {"error":"invalid_request","error_description":"client attestation is not supported"}');
    // docs/api.md: "an answer never tells whether a client_id exists". No secret is needed to ask.
    expect(await answers(known)).toEqual(forUnknown);
  });

  it('F5: a client that aborts its request body is not logged or counted as a server failure (500 / "store unavailable")', async () => {
    const admin: AdminClient = await adminClient(keygate, tenantId);
    const abortMidBody = (path: string, headers: Record<string, string>) =>
      new Promise<void>((resolve) => {
        const socket = net.connect(keygate.port, '127.0.0.1', () => {
          const head = [`POST ${path} HTTP/1.1`, 'Host: keygate.test', 'Content-Length: 100', ...Object.entries(headers).map(([k, v]) => `${k}: ${v}`), '', ''];
          socket.write(`${head.join('\r\n')}abc`);
          setTimeout(() => socket.destroy(), 100);
        });
        socket.on('close', () => resolve());
        socket.on('error', () => {});
      });
    const form = { 'content-type': FORM };
    const json = { 'content-type': 'application/json' };
    const cases: [string, Record<string, string>][] = [
      ['/oauth/token', { ...form, authorization: basicAuth(key.key.client_id, key.client_secret) }],
      ['/oauth/introspect', { ...form, authorization: basicAuth(resourceServer.key.client_id, resourceServer.client_secret) }],
      ['/api/v1/auth/authorize', json],
      ['/console/api/session', json],
      ['/admin/v1/keys', { ...json, authorization: `Bearer ${admin.token}` }],
    ];
    const seen: Record<string, string[]> = {};
    for (const [path, headers] of cases) {
      const from = logLines.length;
      await abortMidBody(path, headers);
      await new Promise((resolve) => setTimeout(resolve, 150));
      seen[path] = logLines
        .slice(from)
        .map((line) => JSON.parse(line) as { level: number; msg: string; status?: number })
        .filter((entry) => entry.level >= 40 || (entry.status ?? 0) >= 500)
        .map((entry) => `${entry.level} ${entry.msg}${entry.status ? ` ${entry.status}` : ''}`);
    }
    // Nothing went wrong on the server: no error or "store unavailable" warning, no 5xx in the access log/metrics.
    expect(seen).toEqual(Object.fromEntries(cases.map(([path]) => [path, []])));
  });
});

describe('attack review 9 (input): the per-(client id, source) lockout', () => {
  let keygate: TestKeygate;
  let tenantId: string;

  beforeAll(async () => {
    keygate = await startKeygate({ tokenStore: 'redis', authFailuresPerClientSource: 3, authFailuresPerSource: 1000 });
    tenantId = await keygate.newTenant();
  });
  afterAll(() => keygate?.close());
  beforeEach(() => awayFromWindowEdge(), 30_000);

  // An empty client_id is no client_id (RFC 6749 §3.1): the Basic id stays locked, 429. A body of
  // more parameters than any request needs is refused before anything is judged, 400.
  for (const [variant, decoyBody, refused] of [
    ['an empty client_id', () => 'grant_type=client_credentials&client_id=', 429],
    ['a decoy client_id after the 1,000th parameter', () => `grant_type=client_credentials&${FILLER}&client_id=${generateClientId()}`, 400],
  ] as const) {
    it(`F2: a locked (client id, source) pair stays locked when the body carries ${variant}`, async () => {
      const victim = await keygate.createKey(tenantId, { name: `victim (${variant})` });
      const from = variant.startsWith('an empty') ? '127.0.66.1' : '127.0.66.2';
      const guess = (secret: string, body = 'grant_type=client_credentials') =>
        keygate.send({ path: '/oauth/token', from, raw: body, headers: { 'content-type': FORM, authorization: basicAuth(victim.key.client_id, secret) } });
      // Three wrong secrets for the victim's id from one source: the pair is locked, even for the right secret.
      for (let i = 0; i < 3; i++) expect((await guess(generateClientSecret())).status).toBe(401);
      expect((await guess(generateClientSecret())).status).toBe(429);
      expect((await guess(victim.client_secret)).status).toBe(429);
      // The same Basic credentials, with a body client_id that Keygate's lockout check reads as the id
      // presented but the library ignores ('' is dropped; querystring keeps only 1,000 names).
      const guesses: number[] = [];
      for (let i = 0; i < 5; i++) guesses.push((await guess(generateClientSecret(), decoyBody())).status);
      // docs/api.md: 429 for that client id from that source until the window ends, "even with the right secret".
      const right = await guess(victim.client_secret, decoyBody());
      // Revocation goes through the same check.
      const revoke = await keygate.send({
        path: '/oauth/revoke',
        from,
        raw: decoyBody().replace('grant_type=client_credentials', 'token=abc'),
        headers: { 'content-type': FORM, authorization: basicAuth(victim.key.client_id, victim.client_secret) },
      });
      expect({ guesses, right: right.status, revoke: revoke.status }).toEqual({ guesses: Array(5).fill(refused), right: refused, revoke: refused });
    });
  }
});
