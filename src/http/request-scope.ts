// Per-request state reachable from code that Koa does not hand a context to (the oidc-provider
// adapter and client hooks run inside the library): request id, resolved client IP, and a memo
// so one request reads each key once.
import { AsyncLocalStorage } from 'node:async_hooks';
import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { Middleware } from 'koa';
import type { IpAddress, Network } from '../shared/network.ts';
import type { DenialReason } from '../shared/denial-reasons.ts';
import { resolveCaller } from './client-ip.ts';

export interface RequestScope {
  requestId: string;
  path: string;
  /** The caller for network rules; undefined when unknown (every rule then fails closed). */
  clientIp: IpAddress | undefined;
  /**
   * The address as text for audit records, logs and `last_used_ip`. Behind a trusted proxy whose
   * X-Forwarded-For cannot be read it is that proxy, while `clientIp` is unknown.
   */
  clientIpText: string | null;
  /** The address `clientIpText` names, parsed: what the failure limits count against. */
  sourceIp: IpAddress | undefined;
  /** Key lookups of this request by client id (memoizeInRequest). */
  memo: Map<string, Promise<unknown>>;
  /** Why the token endpoint refused this request, set from inside oidc-provider (oauth/internals.ts). */
  tokenDenial: DenialReason | undefined;
  /** Generation of the key secret the token endpoint's client authentication matched. */
  secretGeneration: number | undefined;
  /** Set when an abuse limit refused the request: becomes the Retry-After header. */
  retryAfterSeconds: number | undefined;
}

const storage = new AsyncLocalStorage<RequestScope>();

export function currentRequestScope(): RequestScope | undefined {
  return storage.getStore();
}

/** Runs `load(key)` once per request for `key`; outside a request it simply runs it. */
export function memoizeInRequest<T>(key: string, load: (key: string) => Promise<T>): Promise<T> {
  const scope = storage.getStore();
  if (!scope) return load(key);
  let pending = scope.memo.get(key) as Promise<T> | undefined;
  if (!pending) scope.memo.set(key, (pending = load(key)));
  return pending;
}

const INCOMING_REQUEST_ID = /^[A-Za-z0-9._-]{1,64}$/;

/** The scope of one incoming request: its id (a well-formed `X-Request-Id` is kept) and its caller. */
export function openRequestScope(req: IncomingMessage, path: string, trustedProxies: readonly Network[]): RequestScope {
  const incoming = req.headers['x-request-id'];
  const requestId = typeof incoming === 'string' && INCOMING_REQUEST_ID.test(incoming) ? incoming : randomUUID();
  const forwardedFor = req.headers['x-forwarded-for'];
  const caller = resolveCaller(req.socket, typeof forwardedFor === 'string' && forwardedFor !== '' ? forwardedFor : undefined, trustedProxies);
  return {
    requestId,
    path,
    clientIp: caller.ip,
    clientIpText: caller.text,
    sourceIp: caller.source,
    memo: new Map(),
    tokenDenial: undefined,
    secretGeneration: undefined,
    retryAfterSeconds: undefined,
  };
}

/** Runs `work` with `scope` as the current request scope. */
export function runInRequestScope<T>(scope: RequestScope, work: () => T): T {
  return storage.run(scope, work);
}

export function requestScope(trustedProxies: readonly Network[]): Middleware {
  return async function enterRequestScope(ctx, next) {
    const scope = openRequestScope(ctx.req, ctx.path, trustedProxies);
    ctx.set('X-Request-Id', scope.requestId);
    ctx.state.scope = scope;
    await runInRequestScope(scope, next);
  };
}
