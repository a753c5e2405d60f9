// Builds every dependency from a Config: Postgres (embedded or DATABASE_URL), the token store
// (Redis or in-memory), the stores and the key service. Shared by the server and the CLI so both
// reach the same data.
import { readFileSync } from 'node:fs';
import type { Logger } from 'pino';
import type { Config } from './config.ts';
import { ConfigError, parsePepperRing } from './config.ts';
import type { PepperRing } from './crypto/secret-hash.ts';
import { loadOrCreateLocalPepper } from './embedded/pepper.ts';
import { createKeyService, type KeyService } from './keys/service.ts';
import type { Transact } from './keys/audited-change.ts';
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
import { countKeyCacheLookup, createMetrics, exposeKeyCacheSize, timed, type Metrics } from './shared/metrics.ts';
import { createKeyCache } from './keys/key-cache.ts';
import { createKeyCacheWarmer } from './keys/key-cache-warmer.ts';
import { batchLoads } from './keys/batched-loads.ts';
import { createOwnerChain } from './keys/owner-chain.ts';
import { createSnapshotReader } from './keys/snapshot.ts';
import type { KeySnapshot } from './keys/model.ts';
import { listenForKeyChanges } from './stores/key-changes.ts';
import { isConnectionFailure, StoreUnavailableError } from './shared/store-failures.ts';
import { createMemoryCounters, createRedisCounters, type WindowCounters } from './stores/counters.ts';
import { connectRedis } from './stores/redis-connection.ts';
import { createUserStore, type UserStore } from './stores/users.ts';
import { createSetupLinkStore, type SetupLinkStore } from './stores/setup-links.ts';
import { createMemorySessionStore } from './stores/sessions-memory.ts';
import { createRedisSessionStore } from './stores/sessions-redis.ts';
import { createSessions, type Sessions } from './identity/sessions.ts';
import { createUserSessions, type UserSessions } from './identity/user-sessions.ts';
import { createAccountService, type AccountService } from './identity/account.ts';
import { createTwoFactorStore, type TwoFactorStore } from './stores/two-factor.ts';
import { createTwoFactor, type TwoFactor } from './identity/two-factor.ts';
import { createSetupLinks, type SetupLinks } from './identity/setup-links.ts';
import { createScopeCatalogueStore } from './stores/scope-catalogue.ts';
import { createScopeCatalogueService, type ScopeCatalogueService } from './keys/scope-catalogue-service.ts';
import { createActivityRecorder, type ActivityRecorder } from './keys/activity.ts';
import type { KeyActivityStore } from './stores/key-activity.ts';
import { createRedisActivityStore } from './stores/key-activity-redis.ts';
import { createMemoryActivityStore } from './stores/key-activity-memory.ts';
import { createMemoryReplayStore, createRedisReplayStore, type ReplayStore } from './stores/replay.ts';
import { createOutboxStore, type OutboxStore } from './stores/outbox.ts';
import { createWebhookStore, type WebhookStore } from './stores/webhooks.ts';
import { createEventScheduleStore } from './stores/event-schedule.ts';
import { createDenialSummaries, type DenialSummaries } from './keys/denial-summaries.ts';
import { createEventMetrics } from './shared/metrics.ts';
import { createWebhookService, type WebhookService } from './events/webhooks.ts';
import { createAuditStream, sinkDestinations } from './events/audit-stream.ts';
import { createFanOut } from './events/fan-out.ts';
import { createScheduledEvents } from './events/scheduled.ts';
import { createWebhookDelivery } from './events/webhook-delivery.ts';
import { startEventWorkers } from './events/workers.ts';
import { createEventRetention } from './events/retention.ts';
import { closeInOrder } from './shared/close-in-order.ts';

export interface Runtime {
  config: Config;
  log: Logger;
  db: Db;
  pepperRing: PepperRing;
  keys: KeyStore;
  tenants: TenantStore;
  users: UserStore;
  audit: AuditStore;
  setupLinks: SetupLinkStore;
  outbox: OutboxStore;
  webhooks: WebhookStore;
  tokens: TokenStore;
  keyService: KeyService;
  webhookService: WebhookService;
  /** Per-key denial counts, flushed as `key.denials` events once per window. */
  denialSummaries: DenialSummaries;
  tenantService: TenantService;
  userService: UserService;
  scopeCatalogueService: ScopeCatalogueService;
  usage: UsageRecorder;
  /** Per-key activity counts, batched off the hot path (keys/activity.ts). */
  activity: ActivityRecorder;
  /** Where they are kept: Redis when configured, else process memory. */
  activityStore: KeyActivityStore;
  metrics: Metrics;
  /** Console sessions: in Redis when configured, else in this process. */
  sessions: Sessions;
  /** People's second factor: TOTP and recovery codes. */
  twoFactorService: TwoFactor;
  twoFactor: TwoFactorStore;
  /** One-time links with which people set their password. */
  setupLinkService: SetupLinks;
  /** People's console sessions, listed and ended (their own, or a user's by an admin). */
  userSessions: UserSessions;
  /** A signed-in person's own name and password. */
  accountService: AccountService;
  /** Fixed-window counters for abuse limits: shared through Redis, or in memory when embedded. */
  counters: WindowCounters;
  /** Proofs already used (client assertions, DPoP proofs): shared through Redis, or in memory when embedded. */
  replay: ReplayStore;
  /** Key snapshots for the token and introspection paths: cached when `cacheKeys`, else read each time. */
  findKey(clientId: string): Promise<KeySnapshot | undefined>;
  /** Drops cached key state here and now ('*' = all); the change feed does it on every replica. */
  forgetKeys(clientId: string): void;
  /** True while a starting replica's key cache takes its first pass over every key (not ready yet). */
  startupWarmPending(): boolean;
  close(): Promise<void>;
}

export interface RuntimeOptions {
  /** Run migrations now (the server does when configured; `keygate migrate` always does). */
  migrate: boolean;
  /** Cache key snapshots, invalidated by the database's change feed (the server; not the CLI). */
  cacheKeys?: boolean;
  /** Deliver events: webhooks, the audit stream, scheduled events (the server; not the CLI). */
  deliverEvents?: boolean;
}

async function openEmbedded(dataDir: string, log: Logger) {
  try {
    return await (await import('./embedded/postgres.ts')).openEmbeddedPostgres(dataDir, log);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ERR_MODULE_NOT_FOUND') {
      throw new ConfigError('DATABASE_URL: required here, this installation has no embedded Postgres (a production image)');
    }
    throw error;
  }
}

function readAuditSinkCa(path: string): Buffer {
  try {
    return readFileSync(path);
  } catch (error) {
    throw new ConfigError(`KEYGATE_AUDIT_SINK_CA_FILE: cannot read '${path}' (${(error as NodeJS.ErrnoException).code})`);
  }
}

export async function openRuntime(config: Config, log: Logger, options: RuntimeOptions): Promise<Runtime> {
  // Loaded only when needed: production images omit the embedded Postgres binaries.
  const embedded = config.databaseUrl ? undefined : await openEmbedded(config.dataDir, log);
  const databaseUrl = config.databaseUrl ?? embedded!.url;
  const db = connectDatabase(databaseUrl);
  if (options.migrate) {
    const { applied } = await migrateToLatest(db);
    if (applied.length > 0) log.info({ applied }, 'migrations applied');
  }
  const pepperRing = config.pepperRing ?? parsePepperRing(await loadOrCreateLocalPepper(config.dataDir));
  const metrics = createMetrics();
  // One connection for the abuse counters, the console's sessions, used proofs and per-key activity
  // (tokens keep their own); the counters own it and close it.
  const sharedRedis = config.redisUrl ? connectRedis(config.redisUrl) : undefined;
  const counters = sharedRedis ? createRedisCounters(sharedRedis) : createMemoryCounters();
  const sessionStore = sharedRedis ? createRedisSessionStore(sharedRedis) : createMemorySessionStore();
  const replay = sharedRedis ? createRedisReplayStore(sharedRedis) : createMemoryReplayStore();
  const tokens = instrumentTokenStore(config.redisUrl ? createRedisTokenStore(config.redisUrl) : createMemoryTokenStore(), metrics);
  const storesOn = (handle: Db) => ({
    keys: createKeyStore(handle),
    tenants: createTenantStore(handle),
    users: createUserStore(handle),
    audit: createAuditStore(handle, sinkDestinations(config.auditSinks)),
    setupLinks: createSetupLinkStore(handle),
    scopeCatalogue: createScopeCatalogueStore(handle),
    outbox: createOutboxStore(handle),
    webhooks: createWebhookStore(handle),
    schedule: createEventScheduleStore(handle),
    twoFactor: createTwoFactorStore(handle),
  });
  const stores = storesOn(db);
  const transact: Transact = (work) => db.transaction().execute((trx) => work(storesOn(trx)));
  const snapshots = createSnapshotReader(stores.keys, config.roleScopes);
  const loadKeys = batchLoads((clientIds) => timed(metrics, 'postgres', 'find_keys', () => snapshots.findMany(clientIds)));
  const loadKey = (clientId: string) =>
    loadKeys(clientId).catch((error: unknown) => {
      throw isConnectionFailure(error) ? new StoreUnavailableError('postgres', 'find_keys', { cause: error }) : error;
    });
  const keyCache = options.cacheKeys
    ? createKeyCache({
        load: loadKey,
        loadPage: (after, limit) => timed(metrics, 'postgres', 'list_keys', () => snapshots.listPage(after, limit)),
        onLookup: countKeyCacheLookup(metrics),
      })
    : undefined;
  if (keyCache) exposeKeyCacheSize(metrics, () => keyCache.size);
  const warmer = keyCache && createKeyCacheWarmer(keyCache, log);
  const usage = createUsageRecorder(stores.keys, log);
  const changeFeed =
    keyCache
    && (await listenForKeyChanges(
      databaseUrl,
      {
        onChange: (clientId) => keyCache.invalidate(clientId),
        onLiveChange: (live) => {
          keyCache.setTrusted(live);
          usage.hearAnnouncements(live);
          if (live) warmer?.warmSoon();
        },
        onLastUseWritten: (writes) => usage.writtenElsewhere(writes),
      },
      log,
    ));
  // Changes made in this process reach this process's cache at once; other replicas hear the
  // database's notification within milliseconds.
  const forgetKeys = (clientId: string) => keyCache?.invalidate(clientId);
  const findKey = keyCache
    ? createOwnerChain(
        (clientId) => keyCache.get(clientId),
        () => keyCache.passesEnded,
      )
    : createOwnerChain(loadKey);
  const identityDeps = { ...stores, tokens, onKeysChanged: forgetKeys, transact, roleScopes: config.roleScopes };
  const activityStore = sharedRedis ? createRedisActivityStore(sharedRedis) : createMemoryActivityStore();
  const activity = createActivityRecorder(activityStore, log);
  const keyService = createKeyService({
    ...stores,
    onKeysChanged: forgetKeys,
    transact,
    tokens,
    pepperRing,
    issuer: config.issuer,
    defaultTokenTtlSeconds: config.tokenTtlSeconds,
    roleScopes: config.roleScopes,
    activity: activityStore,
    maxKeysPerUser: config.maxKeysPerUser,
  });
  const twoFactor = createTwoFactor({ store: stores.twoFactor, transact, pepperRing, issuer: config.issuer });
  const { events } = config;
  // The event workers get their own few connections, with limits: a replica that freezes inside a
  // transaction (a stopped process, a stalled VM) loses it after a while and releases its locks,
  // and a worker never waits long on a lock another replica holds; it tries again next round.
  const eventsDb = options.deliverEvents ? connectDatabase(databaseUrl, 4, { lockTimeoutMs: 5000, idleInTransactionTimeoutMs: 15_000 }) : undefined;
  const eventStores = eventsDb ? storesOn(eventsDb) : stores;
  const eventsTransact: Transact = eventsDb ? (work) => eventsDb.transaction().execute((trx) => work(storesOn(trx))) : transact;
  const webhookService = createWebhookService({
    transact,
    webhooks: stores.webhooks,
    pepperRing,
    allowedNetworks: events.allowedNetworks,
    retryWindowSeconds: events.retryWindowSeconds,
  });
  const denialSummaries = createDenialSummaries({
    outbox: stores.outbox,
    windowSeconds: events.denialSummarySeconds,
    onError: (error) => log.error({ err: error }, 'denial summaries could not be written'),
  });
  const eventMetrics = createEventMetrics(metrics, async () => [
    ...(await stores.outbox.depth()).map(({ destination, count }) => ({ queue: `outbox:${destination}`, count })),
    { queue: 'webhook_deliveries', count: await stores.webhooks.pendingCount() },
  ]);
  const backoff = { baseMs: events.retryBaseMs, maxMs: events.retryMaxMs };
  const auditStream = createAuditStream({
    outbox: eventStores.outbox,
    sinks: config.auditSinks,
    ca: config.auditSinks.caFile === undefined ? undefined : readAuditSinkCa(config.auditSinks.caFile),
    timeoutMs: events.webhookTimeoutMs,
    leaseSeconds: events.leaseSeconds,
    backoff,
    metrics: eventMetrics,
    log,
  });
  const scheduled = createScheduledEvents({
    schedule: eventStores.schedule,
    transact: eventsTransact,
    noticeSeconds: events.graceEndingNoticeSeconds,
    intervalMs: events.scheduleIntervalMs,
  });
  const workers =
    options.deliverEvents
    && startEventWorkers(
      [
        // Scheduled events first: what falls due this round is fanned out and sent this round.
        { name: 'scheduled-events', once: () => scheduled.once() },
        { name: 'fan-out', ...createFanOut({ transact: eventsTransact, retryWindowSeconds: events.retryWindowSeconds }) },
        {
          name: 'webhook-delivery',
          ...createWebhookDelivery({
            transact: eventsTransact,
            webhooks: eventStores.webhooks,
            secretOf: webhookService.secretOf,
            allowedNetworks: events.allowedNetworks,
            timeoutMs: events.webhookTimeoutMs,
            leaseSeconds: events.leaseSeconds,
            backoff,
            disableAfterFailures: events.disableAfterFailures,
            disableAfterSeconds: events.disableAfterSeconds,
            metrics: eventMetrics,
            log,
          }),
        },
        { name: 'audit-stream', once: auditStream.once },
        {
          name: 'retention',
          ...createEventRetention({ webhooks: eventStores.webhooks, schedule: eventStores.schedule, retentionDays: events.logRetentionDays }),
        },
      ],
      events.pollMs,
      log,
    );
  const userService = createUserService(identityDeps);
  const sessions = createSessions({
    store: sessionStore,
    users: stores.users,
    tenants: stores.tenants,
    settings: config.sessions,
    twoFactorEnabled: twoFactor.isEnabled,
    endPendingSignIns: (userId) => stores.twoFactor.deleteChallengesOf(userId),
  });
  return {
    config,
    webhookService,
    denialSummaries,
    tenantService: createTenantService(identityDeps),
    userService,
    sessions,
    userSessions: createUserSessions({ ...identityDeps, sessions, userService }),
    accountService: createAccountService({ ...identityDeps, sessions }),
    twoFactorService: twoFactor,
    setupLinkService: createSetupLinks({ ...identityDeps, issuer: config.issuer, findKey }),
    scopeCatalogueService: createScopeCatalogueService({ ...stores, transact }),
    log,
    db,
    pepperRing,
    tokens,
    keyService,
    usage,
    activity,
    activityStore,
    metrics,
    counters,
    replay,
    findKey,
    startupWarmPending: () => warmer?.startupWarmPending() ?? false,
    forgetKeys,
    ...stores,
    close: () =>
      closeInOrder([
        () => workers && workers.stop(),
        () => auditStream.close(),
        () => eventsDb?.destroy(),
        () => denialSummaries.close(),
        () => warmer?.stop(),
        () => changeFeed?.close(),
        () => usage.close(),
        () => activity.close(),
        () => activityStore.close(),
        () => sessionStore.close(),
        () => counters.close(),
        () => replay.close(),
        () => tokens.close(),
        () => db.destroy(),
        () => embedded?.stop(),
      ]),
  };
}
