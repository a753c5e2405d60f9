// Admin API calls over real HTTP with a bearer token this server issued.
import type { CreatedKey } from '../../src/keys/types.ts';
import type { HttpResponse } from './http.ts';
import type { TestKeygate } from './keygate.ts';

export const ALL_ADMIN_SCOPES = ['admin:keys:read', 'admin:keys:write', 'admin:users:write', 'admin:tenants:write', 'admin:audit:read'];
/** Every scope Keygate itself gives meaning to: what the bootstrap key holds, and an admin user's role. */
export const ALL_KEYGATE_SCOPES = [...ALL_ADMIN_SCOPES, 'token:introspect'];

export interface AdminClient {
  key: CreatedKey;
  token: string;
  get(path: string): Promise<HttpResponse>;
  post(path: string, json?: unknown): Promise<HttpResponse>;
  patch(path: string, json: unknown): Promise<HttpResponse>;
  put(path: string, json: unknown): Promise<HttpResponse>;
  delete(path: string): Promise<HttpResponse>;
}

/** A service key in `tenantId` holding `scopes`, and a token for it. */
export async function adminClient(keygate: TestKeygate, tenantId: string, scopes = ALL_ADMIN_SCOPES): Promise<AdminClient> {
  const key = await keygate.createKey(tenantId, { name: 'admin automation', scopes });
  const response = await keygate.token(key);
  if (response.status !== 200) throw new Error(`test setup: no admin token (${response.text})`);
  return clientFor(keygate, key, response.body.access_token);
}

export function clientFor(keygate: TestKeygate, key: CreatedKey, token: string): AdminClient {
  const authorization = `Bearer ${token}`;
  const call = (method: 'GET' | 'POST' | 'PUT' | 'DELETE', path: string, json?: unknown) =>
    keygate.send({ method, path: `/admin/v1${path}`, headers: { authorization }, json });
  return {
    key,
    token,
    get: (path) => call('GET', path),
    post: (path, json = {}) => call('POST', path, json),
    patch: (path, json) => keygate.send({ method: 'PATCH', path: `/admin/v1${path}`, headers: { authorization }, json }),
    put: (path, json) => call('PUT', path, json),
    delete: (path) => call('DELETE', path),
  };
}

/** The error body every admin failure has. */
export function errorBody(response: HttpResponse, code: string, message: string, details?: { field: string; message: string }[]) {
  return { error: { code, message, request_id: response.headers['x-request-id'], ...(details ? { details } : {}) } };
}
