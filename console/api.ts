// The one way the console talks to the server: same-origin JSON with the session cookie, the CSRF
// token on every change, and Keygate's error shape turned into an ApiError.
export interface FieldError {
  field: string;
  message: string;
}

export class ApiError extends Error {
  readonly status: number;
  readonly code: string;
  readonly details: FieldError[];
  readonly retryAfter: string | null;
  constructor(status: number, code: string, message: string, details: FieldError[] = [], retryAfter: string | null = null) {
    super(message);
    this.status = status;
    this.code = code;
    this.details = details;
    this.retryAfter = retryAfter;
  }
}

let csrfToken: string | null = null;
let onUnauthorized: () => void = () => {};

export function setCsrfToken(token: string | null): void {
  csrfToken = token;
}

let shownAccount: string | null = null;

/** The account the pages show: sent with every call, so the server refuses one the session has left (another tab switched). */
export function setShownAccount(tenantId: string | null): void {
  shownAccount = tenantId;
}

let onConflict: () => void = () => {};

/** What to do after any 409: one cause is that the session moved to another account in another tab. */
export function whenConflict(handler: () => void): void {
  onConflict = handler;
}

/** What to do when the session has ended (idle, signed out elsewhere, user disabled). */
export function whenUnauthorized(handler: () => void): void {
  onUnauthorized = handler;
}

type Query = Record<string, string | number | undefined | null>;

export function withQuery(path: string, query: Query): string {
  const params = new URLSearchParams();
  for (const [name, value] of Object.entries(query)) if (value !== undefined && value !== null && value !== '') params.set(name, String(value));
  const text = params.toString();
  return text ? `${path}?${text}` : path;
}

export async function api<T>(method: string, path: string, body?: unknown, options: { quietUnauthorized?: boolean } = {}): Promise<T> {
  const headers: Record<string, string> = { Accept: 'application/json' };
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  if (method !== 'GET' && method !== 'HEAD' && csrfToken) headers['X-CSRF-Token'] = csrfToken;
  if (shownAccount) headers['X-Keygate-Account'] = shownAccount;
  const response = await fetch(path, {
    method,
    headers,
    credentials: 'same-origin',
    cache: 'no-store',
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  if (response.status === 204) return undefined as T;
  const payload: unknown = await response.json().catch(() => null);
  if (response.ok) return payload as T;
  const error = (payload as { error?: { code?: string; message?: string; details?: FieldError[] } } | null)?.error;
  const failure = new ApiError(
    response.status,
    error?.code ?? 'error',
    error?.message ?? `the server answered ${response.status}`,
    error?.details ?? [],
    response.headers.get('Retry-After'),
  );
  if (response.status === 401 && !options.quietUnauthorized) onUnauthorized();
  if (response.status === 409 && shownAccount) onConflict();
  throw failure;
}

export const get = <T>(path: string, query: Query = {}) => api<T>('GET', withQuery(path, query));
export const post = <T>(path: string, body?: unknown) => api<T>('POST', path, body ?? {});
export const patch = <T>(path: string, body: unknown) => api<T>('PATCH', path, body);
export const put = <T>(path: string, body: unknown) => api<T>('PUT', path, body);
export const del = (path: string) => api<void>('DELETE', path);

/** A readable line for any failure, the field errors included. */
export function describeError(error: unknown): string {
  if (error instanceof ApiError) {
    const fields = error.details.map((d) => `${d.field}: ${d.message}`).join('; ');
    const retry = error.retryAfter ? ` Try again in ${error.retryAfter} s.` : '';
    return `${error.message}${fields ? ` (${fields})` : ''}${retry}`;
  }
  return error instanceof Error ? error.message : String(error);
}
