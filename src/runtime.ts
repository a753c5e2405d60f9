// Builds every dependency from a Config: Postgres (embedded or DATABASE_URL), the token store
// (Redis or in-memory), the stores and the key service. Shared by the server and the CLI so both
// reach the same data (SPEC §7).
import type { Logger } from 'pino';
import type { Config } from './config.ts';
import { parsePepperRing } from './config.ts';
import type { PepperRing } from './crypto/secret-hash.ts';
import { loadOrCreateLocalPepper } from './embedded/pepper.ts';
import { createKeyService, type KeyService } from './keys/service.ts';
import { createUsageRecorder, type UsageRecorder } from './keys/usage.ts';
import { createTenantService, type TenantService } from './identity/tenants.ts';
import { createUserService, type UserService } from './identity/users.ts';
import { createAuditStore, type AuditStore } from './stores/audit.ts';
import { connectDatabase, type Db } from './stores/db.ts';
import { createKeyStore, type KeyStore } from './stores/keys.ts';
import { migrateToLatest } from './stores/migrate.ts';
import { createTenantStore, type TenantStore } from './stores/tenants.ts';
import { createMemoryTokenStore } from './stores/tokens-memory.ts';
import { createRedisTokenStore } from './stores/tokens-redis.ts';
import type { TokenStore } from './stores/tokens.ts';
import { instrumentTokenStore } from './stores/tokens-instrumented.ts';
import { createMetrics, type Metrics } from './http/metrics.ts';
import { createUserStore, type UserStore } from './stores/users.ts';

export interface Runtime {
  config: Config;
  log: Logger;
  db: Db;
  pepperRing: PepperRing;
  keys: KeyStore;
  tenants: TenantStore;
  users: UserStore;
  audit: AuditStore;
  tokens: TokenStore;
  keyService: KeyService;
  tenantService: TenantService;
  userService: UserService;
  usage: UsageRecorder;
  metrics: Metrics;
  close(): Promise<void>;
}

export interface RuntimeOptions {
  /** Run migrations now (the server does when configured; `keygate migrate` always does). */
  migrate: boolean;
}

export async function openRuntime(config: Config, log: Logger, options: RuntimeOptions): Promise<Runtime> {
  // Loaded only when needed: production images omit the embedded Postgres binaries.
  const embedded = config.databaseUrl
    ? undefined
    : await (await import('./embedded/postgres.ts')).openEmbeddedPostgres(config.dataDir, log);
  const db = connectDatabase(config.databaseUrl ?? embedded!.url);
  if (options.migrate) {
    const { applied } = await migrateToLatest(db);
    if (applied.length > 0) log.info({ applied }, 'migrations applied');
  }
  const pepperRing = config.pepperRing ?? parsePepperRing(await loadOrCreateLocalPepper(config.dataDir));
  const metrics = createMetrics();
  const tokens = instrumentTokenStore(config.redisUrl ? createRedisTokenStore(config.redisUrl) : createMemoryTokenStore(), metrics);
  const stores = {
    keys: createKeyStore(db, config.roleScopes),
    tenants: createTenantStore(db),
    users: createUserStore(db),
    audit: createAuditStore(db),
  };
  const usage = createUsageRecorder(stores.keys, log);
  const keyService = createKeyService({
    ...stores,
    tokens,
    pepperRing,
    issuer: config.issuer,
    defaultTokenTtlSeconds: config.tokenTtlSeconds,
  });
  const identityDeps = { ...stores, tokens };
  return {
    config,
    tenantService: createTenantService(identityDeps),
    userService: createUserService(identityDeps),
    log,
    db,
    pepperRing,
    tokens,
    keyService,
    usage,
    metrics,
    ...stores,
    async close() {
      await usage.close();
      await tokens.close();
      await db.destroy();
      await embedded?.stop();
    },
  };
}
