// A real Keygate server on a random port over the run's Postgres and (optionally) Redis,
// plus the few fixtures every suite needs: a tenant, keys, tokens.
import type { DestinationStream } from 'pino';
import { inject } from 'vitest';
import { loadConfig } from '../../src/config.ts';
import { createLogger } from '../../src/logger.ts';
import { openRuntime, type Runtime } from '../../src/runtime.ts';
import { startServer } from '../../src/server.ts';
import type { CreatedKey } from '../../src/keys/types.ts';
import type { NewSecretKey } from '../../src/keys/schemas.ts';
import type { Role } from '../../src/identity/roles.ts';
import type { User } from '../../src/stores/users.ts';
import { basicAuth, send, type HttpRequest, type HttpResponse } from './http.ts';
import { waitFor } from './processes.ts';
import { STARTUP_WAIT_LIMIT_MS } from '../../src/keys/key-cache-warmer.ts';

/** Users made in this process, across servers: two servers of one file share a database, so emails stay unique. */
let usersMade = 0;
export const TEST_PEPPER = '1:test-pepper-for-integration-tests-only-0123456789';
export const ISSUER = 'http://keygate.test';

/** A key as the tests describe it; `newKeyFor` turns it into what the key service takes. */
export interface TestKeyInput {
  name?: string;
  description?: string;
  kind?: 'service' | 'user';
  userId?: string | null;
  scopes?: string[];
  networks?: string[];
  /** undefined = the default lifetime; null = never. */
  expiresAt?: Date | null;
  tokenTtlSeconds?: number;
  rateLimitPerMinute?: number | null;
}

export function newKeyFor(tenantId: string, input: TestKeyInput): NewSecretKey {
  return {
    tenant_id: tenantId,
    name: input.name ?? 'test key',
    scopes: input.scopes ?? ['devices:read', 'devices:write'],
    ...(input.description === undefined ? {} : { description: input.description }),
    ...(input.kind === undefined ? {} : { kind: input.kind }),
    ...(input.userId ? { user_id: input.userId } : {}),
    ...(input.networks === undefined ? {} : { networks: input.networks }),
    ...(input.expiresAt === undefined ? {} : { expires_at: input.expiresAt === null ? null : input.expiresAt.toISOString() }),
    ...(input.tokenTtlSeconds === undefined ? {} : { token_ttl_seconds: input.tokenTtlSeconds }),
    ...(input.rateLimitPerMinute === undefined ? {} : { rate_limit_per_minute: input.rateLimitPerMinute }),
  };
}

export interface KeygateOptions {
  tokenStore: 'redis' | 'memory';
  trustedProxies?: string;
  /**
   * Failed-authentication limits, per (client id, source) and per source. Suites share one Redis
   * and send many deliberate failures from 127.0.0.1, so they default to effectively unlimited;
   * the abuse-limit suite sets real ones.
   */
  authFailuresPerClientSource?: number;
  authFailuresPerSource?: number;
  /** REDIS_URL for `tokenStore: 'redis'` instead of the run's Redis (a cluster, a sentinel, …). */
  redisUrl?: string;
  /** Console sessions' idle and absolute lifetimes, seconds (defaults: the server's). */
  sessionIdleSeconds?: number;
  sessionMaxSeconds?: number;
  /** Failed sign-in limits per (email, source) and per source; effectively unlimited unless set. */
  signInFailuresPerAccount?: number;
  signInFailuresPerSource?: number;
  /** Logs at level 'trace' into this stream instead of nowhere. */
  logDestination?: DestinationStream;
  /** Run the event workers (webhooks, audit stream, scheduled events), as `keygate serve` does. */
  deliverEvents?: boolean;
  /** More configuration variables (event timings, sinks, the webhook allow-list …). */
  env?: Record<string, string>;
}

export interface TestKeygate {
  port: number;
  /** The TLS listener's port, when the suite configured one. */
  tlsPort: number | undefined;
  runtime: Runtime;
  send(request: HttpRequest): Promise<HttpResponse>;
  newTenant(): Promise<string>;
  /** A user with a unique email. */
  newUser(tenantId: string, role: Role): Promise<User>;
  createKey(tenantId: string, input?: TestKeyInput): Promise<CreatedKey>;
  /** client_credentials over HTTP Basic from `from` (default 127.0.0.1). */
  token(key: CreatedKey, options?: { scope?: string; from?: string }): Promise<HttpResponse>;
  introspect(caller: CreatedKey, token: string, extra?: Record<string, string>): Promise<HttpResponse>;
  /**
   * After a write that bypasses the services (raw SQL, store calls): the database's change feed
   * tells the server within milliseconds; tests make it immediate instead of racing it.
   */
  afterDirectWrite(): void;
  close(): Promise<void>;
}

export async function startKeygate(options: KeygateOptions): Promise<TestKeygate> {
  const redisUrl = options.redisUrl ?? inject('redisUrl');
  if (options.tokenStore === 'redis' && !redisUrl) throw new Error('this suite needs Redis');
  const config = loadConfig({
    DATABASE_URL: inject('databaseUrl'),
    REDIS_URL: options.tokenStore === 'redis' ? redisUrl : undefined,
    KEYGATE_SECRET_PEPPER: TEST_PEPPER,
    KEYGATE_ISSUER: ISSUER,
    KEYGATE_TRUSTED_PROXIES: options.trustedProxies,
    KEYGATE_AUTH_FAILURES_PER_CLIENT: String(options.authFailuresPerClientSource ?? 1_000_000),
    KEYGATE_AUTH_FAILURES_PER_IP: String(options.authFailuresPerSource ?? 1_000_000),
    LOG_LEVEL: options.logDestination ? 'trace' : 'silent',
    KEYGATE_SESSION_IDLE_SECONDS: options.sessionIdleSeconds === undefined ? undefined : String(options.sessionIdleSeconds),
    KEYGATE_SESSION_MAX_SECONDS: options.sessionMaxSeconds === undefined ? undefined : String(options.sessionMaxSeconds),
    KEYGATE_SIGN_IN_FAILURES_PER_ACCOUNT: String(options.signInFailuresPerAccount ?? 1_000_000),
    KEYGATE_SIGN_IN_FAILURES_PER_IP: String(options.signInFailuresPerSource ?? 1_000_000),
    ...options.env,
  });
  const log = options.logDestination ? createLogger('trace', options.logDestination) : createLogger('silent');
  const runtime = await openRuntime(config, log, { migrate: false, cacheKeys: true, deliverEvents: options.deliverEvents ?? false });
  // Like a load balancer that follows /readyz: suites start once the key cache holds every key.
  await waitFor(async () => !runtime.startupWarmPending(), STARTUP_WAIT_LIMIT_MS + 5000, "the key cache's first pass");
  // '::' accepts IPv6 and IPv4 (as ::ffff:a.b.c.d) so both families can be tested.
  const server = await startServer(runtime, 0, '::');
  const request = (r: HttpRequest) => send(server.port, r);
  let tenants = 0;
  return {
    port: server.port,
    tlsPort: server.tlsPort,
    runtime,
    send: request,
    async newTenant() {
      tenants += 1;
      return (await runtime.tenants.insert({ name: `test tenant ${tenants}` })).id;
    },
    async newUser(tenantId, role) {
      usersMade += 1;
      const user = await runtime.users.insert({ tenantId, email: `user${usersMade}-${process.pid}@example.test`, role });
      if (!user) throw new Error('test setup: duplicate user');
      return user;
    },
    createKey(tenantId, input = {}) {
      return runtime.keyService.create(newKeyFor(tenantId, { name: 'test key', ...input }), { keyId: null, userId: null, via: 'test' });
    },
    token(key, { scope, from } = {}) {
      return request({
        path: '/oauth/token',
        headers: { authorization: basicAuth(key.key.client_id, key.client_secret) },
        form: { grant_type: 'client_credentials', ...(scope === undefined ? {} : { scope }) },
        from,
      });
    },
    introspect(caller, token, extra = {}) {
      return request({
        path: '/oauth/introspect',
        headers: { authorization: basicAuth(caller.key.client_id, caller.client_secret) },
        form: { token, ...extra },
      });
    },
    afterDirectWrite() {
      runtime.forgetKeys('*');
    },
    async close() {
      await server.close();
      await runtime.close();
    },
  };
}

/** Denied-request audit records for one key, newest first. */
export async function deniedEvents(keygate: TestKeygate, clientId: string) {
  return (await keygate.runtime.audit.list({ targetKeyId: clientId })).filter((e) => e.outcome === 'denied');
}
