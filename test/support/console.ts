// The console's session over real HTTP: set a password through a set-up link, sign in, and call
// the admin API the way the console's pages do (session cookie, X-CSRF-Token, same Origin).
import type { User } from '../../src/stores/users.ts';
import type { HttpRequest, HttpResponse } from './http.ts';
import { ISSUER, type TestKeygate } from './keygate.ts';

export const STRONG_PASSWORD = 'violet-anchor-harbour-7';

export function tokenOf(setupUrl: string): string {
  const match = /#token=([A-Za-z0-9_-]+)$/.exec(setupUrl);
  if (!match) throw new Error(`not a set-up link: ${setupUrl}`);
  return match[1]!;
}

/** A fresh set-up link's token for `user`, as `keygate users invite` would print it. */
export async function setupTokenFor(keygate: TestKeygate, user: Pick<User, 'id' | 'tenant_id'>): Promise<string> {
  const link = await keygate.runtime.setupLinkService.issue(user, { keyId: null, userId: null, via: 'test' });
  return tokenOf(link.url);
}

export function setPassword(keygate: TestKeygate, token: string, password: string): Promise<HttpResponse> {
  return keygate.send({ path: '/console/api/setup', headers: { origin: ISSUER }, json: { token, password } });
}

export function signInRequest(keygate: TestKeygate, email: string, password: string, from?: string): Promise<HttpResponse> {
  return keygate.send({ path: '/console/api/session', headers: { origin: ISSUER }, json: { email, password }, from });
}

/** The `keygate_session` value a response sets, or undefined. */
export function sessionCookieOf(response: HttpResponse): string | undefined {
  const cookies = response.headers['set-cookie'] ?? [];
  const match = cookies.map((c) => /^keygate_session=([^;]*)/.exec(c)).find(Boolean);
  return match ? match[1] : undefined;
}

export interface ConsoleSession {
  cookie: string;
  csrf: string;
  /** A request carrying the session cookie; changes also carry the CSRF token and the Origin, unless told otherwise. */
  send(request: HttpRequest & { csrf?: string | null; origin?: string | null }): Promise<HttpResponse>;
  get(path: string): Promise<HttpResponse>;
  post(path: string, json?: unknown): Promise<HttpResponse>;
  patch(path: string, json: unknown): Promise<HttpResponse>;
  delete(path: string): Promise<HttpResponse>;
}

export function sessionFrom(keygate: TestKeygate, cookie: string, csrf: string): ConsoleSession {
  const send: ConsoleSession['send'] = ({ csrf: csrfOverride, origin, ...request }) => {
    const method = request.method ?? 'POST';
    const headers: Record<string, string> = { cookie: `keygate_session=${cookie}`, ...request.headers };
    const token = csrfOverride === undefined ? (method === 'GET' ? undefined : csrf) : csrfOverride;
    if (token !== undefined && token !== null) headers['x-csrf-token'] = token;
    const originHeader = origin === undefined ? (method === 'GET' ? undefined : ISSUER) : origin;
    if (originHeader !== undefined && originHeader !== null) headers.origin = originHeader;
    return keygate.send({ ...request, method, headers });
  };
  return {
    cookie,
    csrf,
    send,
    get: (path) => send({ method: 'GET', path: `/admin/v1${path}` }),
    post: (path, json = {}) => send({ method: 'POST', path: `/admin/v1${path}`, json }),
    patch: (path, json) => send({ method: 'PATCH', path: `/admin/v1${path}`, json }),
    delete: (path) => send({ method: 'DELETE', path: `/admin/v1${path}` }),
  };
}

/** Signs in (the password must be set); throws when the server refuses. */
export async function signIn(keygate: TestKeygate, email: string, password: string, from?: string): Promise<ConsoleSession> {
  const response = await signInRequest(keygate, email, password, from);
  const cookie = sessionCookieOf(response);
  if (response.status !== 200 || !cookie) throw new Error(`test setup: sign-in refused (${response.status} ${response.text})`);
  return sessionFrom(keygate, cookie, response.body.csrf_token);
}

/** A user of `role` in `tenantId` with STRONG_PASSWORD set through a set-up link, signed in. */
export async function signedInUser(keygate: TestKeygate, tenantId: string, role: User['role']): Promise<{ user: User; session: ConsoleSession }> {
  const user = await keygate.newUser(tenantId, role);
  const set = await setPassword(keygate, await setupTokenFor(keygate, user), STRONG_PASSWORD);
  if (set.status !== 200) throw new Error(`test setup: password refused (${set.text})`);
  return { user, session: await signIn(keygate, user.email, STRONG_PASSWORD) };
}
