// GET /admin/v1/openapi.json over real HTTP: the document lists exactly the routes the server
// declares, with their scopes; every documented operation is really served and protected; and
// what the server answers matches what the document says.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { adminRoutes } from '../../src/admin/index.ts';
import type { AdminRoute } from '../../src/admin/router.ts';
import type { CreatedKey } from '../../src/keys/types.ts';
import { adminClient, errorBody, type AdminClient } from '../support/admin.ts';
import type { HttpResponse } from '../support/http.ts';
import { ISSUER, startKeygate, type TestKeygate } from '../support/keygate.ts';

type Json = Record<string, any>;
type Method = 'GET' | 'POST' | 'PATCH' | 'DELETE' | 'PUT';

const METHODS: Method[] = ['GET', 'POST', 'PATCH', 'DELETE', 'PUT'];

describe('admin API: OpenAPI document', () => {
  let keygate: TestKeygate;
  let tenantId: string;
  let admin: AdminClient;
  /** A token of this server that holds no scope the admin API knows. */
  let unscoped: AdminClient;
  let routes: AdminRoute[];
  let served: HttpResponse;
  let doc: Json;

  beforeAll(async () => {
    keygate = await startKeygate({ tokenStore: 'redis' });
    tenantId = await keygate.newTenant();
    admin = await adminClient(keygate, tenantId);
    unscoped = await adminClient(keygate, tenantId, ['devices:read']);
    // The same declarations the server was built from (src/app.ts), over this server's runtime.
    const { runtime } = keygate;
    routes = adminRoutes({ ...runtime, issuer: runtime.config.issuer, lookupKey: (id) => runtime.findKey(id) });
    served = await keygate.send({ method: 'GET', path: '/admin/v1/openapi.json' });
    doc = served.body;
  });
  afterAll(() => keygate?.close());

  /** [METHOD, path, operation] for every operation in the document. */
  const operations = () =>
    Object.entries(doc.paths as Json).flatMap(([path, ops]) =>
      Object.entries(ops as Json).map(([method, op]) => [method.toUpperCase() as Method, path, op as Json] as const),
    );

  const call = (method: Method, path: string, token?: string, json?: unknown) =>
    keygate.send({
      method,
      path: `/admin/v1${path}`,
      headers: token ? { authorization: `Bearer ${token}` } : {},
      json: json ?? (method === 'POST' || method === 'PATCH' ? {} : undefined),
    });

  /** Follows a local `$ref`: against the document root first, else inside the schema that holds it. */
  function deref(schema: Json): Json {
    const ref = schema.$ref as string | undefined;
    if (!ref) return schema;
    return (pointer(doc, ref) ?? pointer(schema, ref)) as Json;
  }

  /** The documented JSON schema of one response, as a validator. */
  function responseValidator(method: Method, path: string, status: number): z.ZodType {
    const schema = doc.paths[path]?.[method.toLowerCase()]?.responses?.[String(status)]?.content?.['application/json']?.schema;
    if (!schema) throw new Error(`no documented JSON body for ${method} ${path} ${status}`);
    // Named schemas live in components.schemas; zod resolves only $defs, so hand them over as such.
    const asDefs = JSON.parse(JSON.stringify(schema).replaceAll('"#/components/schemas/', '"#/$defs/'));
    const defs = JSON.parse(JSON.stringify(doc.components.schemas).replaceAll('"#/components/schemas/', '"#/$defs/'));
    return z.fromJSONSchema({ ...asDefs, $defs: defs });
  }

  function expectDocumented(response: HttpResponse, method: Method, path: string) {
    const documented = doc.paths[path][method.toLowerCase()].responses;
    expect(Object.keys(documented)).toContain(String(response.status));
    const result = responseValidator(method, path, response.status).safeParse(response.body);
    expect(result.success ? [] : result.error.issues, `${method} ${path} ${response.status}: ${response.text}`).toEqual([]);
  }

  it('is served without authentication as an OpenAPI 3.1.0 document, never cached', () => {
    expect(served.status).toBe(200);
    expect(served.headers['content-type']).toMatch(/^application\/json/);
    expect(served.headers['cache-control']).toBe('no-store');
    expect(doc.openapi).toBe('3.1.0');
    expect(doc.info).toMatchObject({ title: 'Keygate admin API', version: '1' });
    expect(doc.servers).toEqual([{ url: `${ISSUER}/admin/v1` }]);
    expect(doc.components.securitySchemes.bearer).toMatchObject({
      type: 'oauth2',
      flows: { clientCredentials: { tokenUrl: `${ISSUER}/oauth/token` } },
    });
  });

  it('documents exactly the declared routes, each with its required scope', () => {
    expect(routes.length).toBeGreaterThanOrEqual(10);
    const documented = operations()
      .map(([method, path, op]) => `${method} ${path} ${op['x-required-scope']}`)
      .sort();
    const declared = routes.map((r) => `${r.method} ${r.path} ${r.scope}`).sort();
    expect(documented).toEqual(declared);
    for (const route of routes) {
      const op = doc.paths[route.path][route.method.toLowerCase()];
      expect(op.security).toEqual([{ bearer: [route.scope] }, { consoleSession: [] }]);
      expect(Object.keys(doc.components.securitySchemes.bearer.flows.clientCredentials.scopes)).toContain(route.scope);
      for (const status of Object.keys(route.responses)) expect(Object.keys(op.responses)).toContain(status);
    }
  });

  it('gives every operation a 401 and a 403 response with the error body, and a unique operationId', () => {
    const ids = new Set<string>();
    for (const [method, path, op] of operations()) {
      for (const status of ['401', '403']) {
        expect(op.responses[status], `${method} ${path} ${status}`).toMatchObject({
          description: expect.any(String),
          content: { 'application/json': { schema: expect.any(Object) } },
        });
      }
      expect(ids.has(op.operationId)).toBe(false);
      ids.add(op.operationId);
    }
  });

  it('declares every path parameter as a required string', () => {
    for (const [method, path, op] of operations()) {
      const names = [...path.matchAll(/\{(\w+)\}/g)].map(([, name]) => name);
      const pathParams = (op.parameters as Json[]).filter((p) => p.in === 'path');
      expect(
        pathParams.map((p) => p.name),
        `${method} ${path}`,
      ).toEqual(names);
      for (const p of pathParams) expect(p).toMatchObject({ required: true, schema: { type: 'string' } });
    }
  });

  it('documents the POST /keys body as a closed object requiring name and scopes', () => {
    const requestBody = doc.paths['/keys'].post.requestBody;
    expect(requestBody.required).toBe(true);
    const schema = deref(requestBody.content['application/json'].schema);
    expect(schema.type).toBe('object');
    expect(schema.additionalProperties).toBe(false);
    expect([...schema.required].sort()).toEqual(['name', 'scopes']);
    expect(Object.keys(schema.properties)).toEqual(expect.arrayContaining(['name', 'scopes', 'networks', 'expires_at', 'token_ttl_seconds', 'tenant_id']));
  });

  it('has no dangling $ref: every local reference resolves against the document itself', () => {
    // OpenAPI 3.1 §4.8.24 / JSON Schema 2020-12: a Schema Object without $id takes the document's
    // URI as its base, so "#/…" points into the OpenAPI document, not into the schema around it.
    const unresolved = new Set<string>();
    walk(doc, (node) => {
      const ref = node.$ref;
      if (typeof ref === 'string' && ref.startsWith('#') && pointer(doc, ref) === undefined) unresolved.add(ref);
    });
    expect([...unresolved].sort()).toEqual([]);
  });

  it('serves every documented operation, behind its scope: an unscoped token gets 403, never 404 or 405', async () => {
    const key = await keygate.createKey(tenantId);
    for (const [method, path, op] of operations()) {
      const response = await call(method, path.replace('{id}', key.key.client_id), unscoped.token);
      const scope = op['x-required-scope'] as string;
      expect(response.status, `${method} ${path}`).toBe(403);
      expect(response.body).toEqual(errorBody(response, 'forbidden', `this token lacks the '${scope}' scope`));
      expect(response.headers['www-authenticate']).toBe(`Bearer realm="keygate", error="insufficient_scope", scope="${scope}"`);
      const anonymous = await call(method, path.replace('{id}', key.key.client_id));
      expect(anonymous.status, `${method} ${path} without a token`).toBe(401);
      expect(anonymous.body).toEqual(errorBody(anonymous, 'unauthorized', 'a bearer token from this server is required'));
    }
    // The key is untouched: nothing ran past the scope check.
    expect((await admin.get(`/keys/${key.key.client_id}`)).body.key).toEqual(key.key);
  });

  it('answers 404 on every /keys/{id} operation for an id that is no key, even one that is not well formed', async () => {
    const bodies: Record<string, unknown> = { PATCH: { name: 'renamed' }, '/keys/{id}/rotate': { grace_seconds: 0 } };
    const ids = ['kg_000000000000000000000a', 'not-a-key', '%2F', '%00', '%E0%A4%A'];
    const answers: string[] = [];
    for (const [method, path] of operations().filter(([, p]) => p.startsWith('/keys/{id}'))) {
      for (const id of ids) {
        const response = await call(method, path.replace('{id}', id), admin.token, bodies[path] ?? bodies[method]);
        answers.push(`${method} ${path.replace('{id}', id)} → ${response.status} ${response.body?.error?.code}`);
        if (response.status === 404) expectDocumented(response, method, path);
      }
    }
    expect(answers.filter((a) => !a.endsWith('→ 404 not_found'))).toEqual([]);
    expect(answers.length).toBeGreaterThanOrEqual(7 * ids.length);
  });

  it('answers 405, with Allow listing exactly the documented methods, for any other method on a documented path', async () => {
    for (const [path, ops] of Object.entries(doc.paths as Json)) {
      const documented = Object.keys(ops as Json).map((m) => m.toUpperCase());
      for (const method of METHODS.filter((m) => !documented.includes(m))) {
        const response = await call(method, path.replace('{id}', 'kg_000000000000000000000a'), admin.token);
        expect(response.status, `${method} ${path}`).toBe(405);
        expect(response.body).toEqual(errorBody(response, 'method_not_allowed', `${method} is not allowed here`));
        expect(String(response.headers.allow).split(', ').sort()).toEqual([...documented].sort());
      }
    }
  });

  it('accepts every documented query parameter, and refuses one it does not document', async () => {
    for (const [method, path, op] of operations().filter(([m]) => m === 'GET')) {
      const query = (op.parameters as Json[]).filter((p) => p.in === 'query');
      for (const param of query) {
        expect(param.required, `${path} ?${param.name}`).toBe(false);
        const response = await call(method, `${path.replace('{id}', admin.key.key.client_id)}?${param.name}=x`, admin.token);
        const unknown = (response.body?.error?.details ?? []).filter((d: Json) => d.message === 'unknown field');
        expect(unknown, `${path} ?${param.name}`).toEqual([]);
      }
      if (query.length > 0) {
        const response = await call(method, `${path}?undocumented=1`, admin.token);
        expect(response.status).toBe(400);
        expect(response.body).toEqual(errorBody(response, 'validation_failed', 'query is invalid', [{ field: 'undocumented', message: 'unknown field' }]));
      }
    }
  });

  it('answers with the bodies the document describes', async () => {
    const created = await call('POST', '/keys', admin.token, { name: 'documented', scopes: ['devices:read'], networks: ['127.0.0.1/32'] });
    expectDocumented(created, 'POST', '/keys');
    const id = (created.body as CreatedKey).key.client_id;
    expect((await keygate.token(created.body, { from: '127.0.0.1' })).status).toBe(200);
    await keygate.runtime.usage.flush();

    expectDocumented(await call('GET', `/keys/${id}`, admin.token), 'GET', '/keys/{id}');
    expectDocumented(await call('GET', '/keys?limit=2', admin.token), 'GET', '/keys');
    expectDocumented(await call('GET', `/keys/${id}/usage?window=7d`, admin.token), 'GET', '/keys/{id}/usage');
    expectDocumented(await call('GET', '/scopes', admin.token), 'GET', '/scopes');
    expectDocumented(await call('PATCH', `/keys/${id}`, admin.token, { description: 'described', rate_limit_per_minute: 60 }), 'PATCH', '/keys/{id}');
    expectDocumented(await call('POST', `/keys/${id}/rotate`, admin.token, { grace_seconds: 60 }), 'POST', '/keys/{id}/rotate');
    expectDocumented(await call('POST', `/keys/${id}/disable`, admin.token), 'POST', '/keys/{id}/disable');
    expectDocumented(await call('POST', `/keys/${id}/enable`, admin.token), 'POST', '/keys/{id}/enable');
    expectDocumented(await call('POST', `/keys/${id}/revoke-tokens`, admin.token), 'POST', '/keys/{id}/revoke-tokens');
    expectDocumented(await call('GET', `/audit?key_id=${id}`, admin.token), 'GET', '/audit');
    expectDocumented(await call('POST', '/keys', admin.token, { name: '', scopes: [] }), 'POST', '/keys');
    expectDocumented(await call('GET', '/audit?outcome=maybe', admin.token), 'GET', '/audit');
    expectDocumented(await call('GET', '/audit', unscoped.token), 'GET', '/audit');
    expectDocumented(await call('GET', '/audit'), 'GET', '/audit');

    const deleted = await call('DELETE', `/keys/${id}`, admin.token);
    expect(deleted.status).toBe(204);
    expect(deleted.text).toBe('');
    expect(doc.paths['/keys/{id}'].delete.responses['204'].content).toBeUndefined();
    expectDocumented(await call('GET', `/keys/${id}`, admin.token), 'GET', '/keys/{id}');
  });
});

/** RFC 6901 JSON pointer in a URI fragment ("#/a/b~1c"); undefined when it leads nowhere. */
function pointer(root: unknown, ref: string): unknown {
  if (!ref.startsWith('#')) return undefined;
  const tokens = ref
    .slice(1)
    .split('/')
    .slice(1)
    .map((t) => decodeURIComponent(t).replace(/~1/g, '/').replace(/~0/g, '~'));
  let node: unknown = root;
  for (const token of tokens) {
    if (node === null || typeof node !== 'object' || !Object.hasOwn(node, token)) return undefined;
    node = (node as Record<string, unknown>)[token];
  }
  return node;
}

function walk(node: unknown, visit: (node: Record<string, unknown>) => void): void {
  if (Array.isArray(node)) {
    for (const item of node) walk(item, visit);
  } else if (node !== null && typeof node === 'object') {
    visit(node as Record<string, unknown>);
    for (const value of Object.values(node)) walk(value, visit);
  }
}
