// `npm run bench [-- --scale]`: the performance targets, measured on this machine. Starts Postgres, Redis, Keygate
// and the baselines as children on core 0, drives them with autocannon from core 1, prints a table
// and the target checks, and writes bench/results/latest.json (latest-scale.json with --scale,
// latest-profiled.json with BENCH_CPU_PROF=1).
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Runtime } from '../src/runtime.ts';
import { BARE_CLIENT } from './baselines.ts';
import { secondsSince } from './clock.ts';
import { affinityOf, canPin, freePort, memoryOf, pinSelf, stopAllChildren, stopChild } from './children.ts';
import { startHostProbe } from './host-probe.ts';
import { connectInspector, type Inspector } from './inspector.ts';
import { openSeedRuntime, startKeygate, type Stores } from './keygate.ts';
import type { Watched } from './load.ts';
import { readOptions } from './options.ts';
import { sizeTablesForTheRun, tableSlotsOf, type TableSlots } from './redis-tables.ts';
import { enableStatementStats, topStatements } from './pg-stats.ts';
import { growToScale, REFERENCE, type ScaleData } from './scale.ts';
import * as scenarios from './scenarios.ts';
import { createKeys, issueTokens, shuffle, type Credential } from './seed.ts';
import { startPostgres, startRedis, type PostgresService, type Service } from './services.ts';
import { settleAfterStorm, type Settled } from './settle.ts';
import { createSession } from './session.ts';
import { summarise } from './summary.ts';

const wallStart = performance.now();
const options = readOptions(process.argv.slice(2));
const RESULTS_DIR = path.join(import.meta.dirname, 'results');
const nproc = Number(execFileSync('nproc', { encoding: 'utf8' }).trim()); // before pinning narrows it
const pinning = canPin(nproc);
const SERVER_CORE = pinning ? 0 : undefined;
const LOAD_CORE = pinning ? 1 : undefined;
const KEYS = 1000;
const LIVE_TOKENS_PER_KEY = 10;

const tempDir = mkdtempSync(path.join(os.tmpdir(), 'keygate-bench-'));
let runtime: Runtime | undefined;
/** Scale mode: the seeding runtime over the scaled copy of the data. */
let scaleRuntime: Runtime | undefined;
let postgres: PostgresService | undefined;
let redis: Service | undefined;
let cleaning: Promise<void> | undefined;
/** Servers and load generators first (Keygate drains against live stores), then the stores. */
const cleanup = () =>
  (cleaning ??= (async () => {
    await stopAllChildren(new Set(redis ? [redis.pid] : []));
    await runtime?.close().catch(() => {});
    await scaleRuntime?.close().catch(() => {});
    await redis?.stop().catch(() => {});
    await postgres?.stop().catch(() => {});
    rmSync(tempDir, { recursive: true, force: true });
  })());
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    console.error(`bench: ${signal}: stopping everything it started`);
    void cleanup().finally(() => process.exit(130));
  });
}
const runs = (7 + (options.latencyRate > 0 ? 2 : 0)) * options.rounds + (options.scale ? 6 * options.rounds : 0);
const coldStorms = options.scale ? 3 * options.rounds * (options.coldSeconds + 120) : 0;
const limitSeconds = runs * (1 + options.noiseRetries) * (options.warmupSeconds + options.durationSeconds + 30) + coldStorms + (options.scale ? 1800 : 600);
const deadline = setTimeout(() => {
  console.error(`bench: time limit of ${limitSeconds} s reached; stopping`);
  void cleanup().finally(() => process.exit(1));
}, limitSeconds * 1000);
deadline.unref();

async function main(): Promise<number> {
  pinSelf(LOAD_CORE);
  console.log(
    `bench: ${options.scale ? 'scale mode, ' : ''}${options.connections} connections, warm-up ${options.warmupSeconds} s, `
      + `measure ${options.durationSeconds} s per scenario, ${options.rounds} round(s)`,
  );
  const world = await setUp();
  const { session } = world;
  await measureDefaults(world);
  const scale = options.scale ? await measureScale(world) : undefined;
  const { keygate } = world; // with --scale, the server restarted in front of the scaled data
  const redisTables = await Promise.all(world.redisTables.map(async (t) => ({ ...t, atEnd: await tableSlotsOf(t.url) })));

  const serverPeakRssSinceStart = memoryOf(keygate.child.pid).hwm;
  world.inspector?.close();
  await stopChild(keygate.child);
  if (scale) {
    world.reference.inspector.close();
    await stopChild(world.reference.keygate.child);
  }
  return summarise({
    options,
    results: session.results,
    keys: KEYS,
    liveTokens: world.liveTokens.length,
    scale,
    heap: world.heap,
    statements: await topStatements(runtime!),
    affinities: pinning ? world.affinities : undefined,
    nproc,
    serverPeakRssSinceStart,
    redisTables: redisTables.map(({ url, ...t }) => ({ database: new URL(url).pathname.slice(1) || '0', ...t })),
    serverWarnings: keygate.warnings,
    wallSeconds: Math.round(secondsSince(wallStart)),
    resultsDir: RESULTS_DIR,
  });
}

/** Postgres, Redis, the keys (real create path), Keygate, and live tokens minted through it. */
async function setUp() {
  postgres = await startPostgres(tempDir, SERVER_CORE, LOAD_CORE);
  redis = await startRedis(SERVER_CORE);
  const stores = { databaseUrl: postgres.url, redisUrl: redis.url };
  const hostProbe = await startHostProbe(SERVER_CORE);
  const watched: Watched[] = [
    { name: 'redis', pid: redis.pid },
    { name: 'postgres', pid: postgres.pid, tree: true },
    // Its own CPU, so that it never reads as another tenant's (it is in no CPU per request).
    { name: 'probe', pid: hostProbe.child.pid },
  ];

  runtime = await openSeedRuntime(stores);
  await enableStatementStats(runtime).catch(() => {});
  const tenant = await runtime.tenants.insert({ name: 'bench' });
  let step = performance.now();
  const keys = await createKeys(runtime, tenant.id, KEYS, ['devices:read', 'devices:write']);
  const [introspector] = await createKeys(runtime, tenant.id, 1, ['token:introspect']);
  console.log(`seeded ${KEYS} keys + 1 resource-server key through the key service in ${secondsSince(step)} s`);
  // Scale mode grows a copy of this database to 100,000 keys, with its own Redis database, so
  // that this 1,000-key server keeps running beside the scaled one: each scale run is paired with
  // a run of this one right after it (measureScale), not with a run from many minutes before.
  let scaleStores: Stores | undefined;
  if (options.scale) {
    await runtime.close(); // a database being copied may have no session
    scaleStores = { databaseUrl: await postgres.copyDatabase('keygate_bench', 'keygate_scale'), redisUrl: `${redis.url}/1` };
    runtime = await openSeedRuntime(stores);
  }

  const { keygate, inspector } = await startInspectedKeygate(stores);
  await waitForKeyCache(keygate.baseUrl, KEYS + 1, 60_000);
  const heap: HeapFacts = { keys: KEYS + 1, usedAfterGc: await inspector.heapUsedAfterGc() };
  step = performance.now();
  const liveTokens = shuffle(await issueTokens(keygate.baseUrl, keys, LIVE_TOKENS_PER_KEY));
  console.log(`issued ${liveTokens.length} live tokens through POST /oauth/token in ${secondsSince(step)} s`);
  const redisTables = [await sizeRedisTables(stores.redisUrl)];
  const affinities = {
    keygate: affinityOf(keygate.child.pid),
    redis: affinityOf(redis.pid),
    postgres: affinityOf(postgres.pid),
    orchestrator: affinityOf(process.pid),
  };
  const session = createSession({
    options,
    tempDir,
    resultsDir: RESULTS_DIR,
    serverCore: SERVER_CORE,
    loadCore: LOAD_CORE,
    stores,
    watched,
    keygate,
    inspector,
    hostProbe,
  });
  return {
    session,
    keygate,
    inspector,
    /** The 1,000-key server, kept running through scale mode for the paired runs. */
    reference: { keygate, inspector },
    keys,
    introspector: introspector!,
    liveTokens,
    affinities,
    stores,
    scaleStores,
    heap,
    redisTables,
  };
}

/** Redis' tables grown once, before any run, so that no run measures them growing (redis-tables.ts). */
async function sizeRedisTables(url: string): Promise<{ url: string; sized: TableSlots }> {
  const step = performance.now();
  const sized = await sizeTablesForTheRun(url);
  console.log(`sized Redis tables at ${url} to ${sized.keys.toLocaleString('en')} slots in ${secondsSince(step)} s`);
  return { url, sized };
}

/** The V8 heap in use after a full collection, right after start-up once the key cache held every key. */
export interface HeapFacts {
  keys: number;
  usedAfterGc: number;
  scale?: {
    keys: number;
    /** After start-up with every key cached, before any request. */
    usedAfterGc: number;
    /** After the cold-start token storm: every key has been used once. */
    usedAfterGcAfterStorm: number;
  };
}

/** Keygate with its inspector on a loopback port: allocation counts always, CPU profiles with BENCH_CPU_PROF. */
async function startInspectedKeygate(stores: World['stores'] | { databaseUrl: string; redisUrl: string }) {
  const inspectorPort = await freePort();
  const keygate = await startKeygate(stores, SERVER_CORE, { nodeFlags: options.serverNodeFlags, logFile: options.serverLog, inspectorPort });
  const inspector: Inspector = await connectInspector(inspectorPort, { cpuProfile: options.cpuProfile, heapProfile: options.heapProfile });
  return { keygate, inspector };
}

type World = Awaited<ReturnType<typeof setUp>>;

const introspectLive = (world: World, name: string, tokens: string[], what: string) => (url: string) =>
  scenarios.introspection(name, url, world.introspector, tokens, what, true);
const issue = (name: string, keys: Credential[]) => (url: string) => scenarios.tokenIssuance(name, url, shuffle([...keys]));

/** The seven scenarios, then both Keygate paths at a fixed offered load, each round. */
async function measureDefaults(world: World): Promise<void> {
  const { session, liveTokens, keys } = world;
  const unknown = scenarios.unknownTokens(10_000);
  const live = introspectLive(
    world,
    'introspect-live',
    liveTokens,
    `${liveTokens.length.toLocaleString('en')} live tokens of ${KEYS.toLocaleString('en')} keys`,
  );
  const wanted = (name: string) => !options.only || options.only.includes(name);
  for (let round = 1; round <= options.rounds; round++) {
    if (options.rounds > 1) console.log(`round ${round} of ${options.rounds}`);
    // Each ratio's pair runs back to back, so drift on this noisy machine hits both alike.
    if (wanted('ceiling')) await session.baseline('ceiling', (url) => scenarios.ceiling(url));
    if (wanted('introspect-live')) await session.keygate(live);
    if (wanted('verify')) await session.keygate((url) => scenarios.keyVerification('verify', url, world.introspector, shuffle([...keys])));
    if (wanted('introspect-unknown')) {
      await session.keygate((url) => scenarios.introspection('introspect-unknown', url, world.introspector, unknown, '10,000 unknown tokens', false));
    }
    if (wanted('bare-oidc')) await session.baseline('bare-oidc', (url) => scenarios.bareOidc(url, BARE_CLIENT));
    if (wanted('token')) await session.keygate(issue('token', keys));
    if (wanted('bare-http')) await session.baseline('bare-http', (url) => scenarios.bareHttp(url));
    if (options.latencyRate > 0 && wanted('paced')) {
      // Paced: the latency a resource server sees below saturation, every round.
      const at = (scenario: scenarios.Scenario): scenarios.Scenario => ({
        ...scenario,
        name: `${scenario.name}@${options.latencyRate}/s`,
        what: `${scenario.what}; paced at ${options.latencyRate} req/s`,
      });
      await session.keygate((url) => at(live(url)), { rate: options.latencyRate });
      await session.keygate((url) => at(issue('token', keys)(url)), { rate: options.latencyRate });
    }
  }
}
/**
 * 100,000 keys and 1,000,000 live tokens (by default), then, each round, both Keygate paths on a
 * replica restarted in front of that data, as after a fleet restart: a cold-start storm on each
 * path (flat out from the moment it answers /readyz, which waits for its key cache's first pass,
 * every key in turn, reported per 10 s), then both paths warm. The 1,000-key server goes through
 * the same at the start of the round (restarted, a token storm), so that both are servers of the
 * same age: one that sat idle for minutes, or served for many, collects its heap differently from
 * one just warmed.
 *
 * Each "100,000 within 10 % of 1,000" ratio divides two runs that follow each other: this
 * machine's speed drifts by 15 % and more over minutes, but little from one run to the next. A
 * cold storm is followed by the 1,000-key server's warm run of the same path; the warm runs go
 * scaled, 1,000, 1,000, scaled (introspection, then issuance), so a steady drift falls on both
 * sides of the pair of pairs. Before any run of the 1,000-key server, the scaled one has nothing
 * left to do: the storm's writes have landed and been vacuumed (settle.ts), its key cache holds
 * every key. Otherwise the reference run would pay for the scaled server's work.
 */
async function measureScale(world: World): Promise<ScaleData> {
  const scaleStores = world.scaleStores!;
  scaleRuntime = await openSeedRuntime(scaleStores);
  await restart(world, scaleStores);
  const scale = await growToScale(scaleRuntime, scaleStores.redisUrl, world.keygate.baseUrl, world.keys, options);
  const n = (x: number) => x.toLocaleString('en');
  console.log(
    `scale: ${n(scale.keys.length)} keys (bulk insert ${scale.seconds.insertKeys.toFixed(1)} s), `
      + `${n(scale.redis.tokensWritten)} live tokens (Redis pipeline ${scale.seconds.writeTokens.toFixed(1)} s)`,
  );
  // After the bytes per token were measured: the sized tables' slots are not the tokens' cost.
  world.redisTables.push(await sizeRedisTables(scaleStores.redisUrl));
  const storm = { warmupSeconds: 0, durationSeconds: options.coldSeconds, bucketSeconds: 10, noiseRetries: 0 };
  const liveScale = introspectLive(
    world,
    'introspect-live-scale',
    scale.tokens,
    `${n(scale.tokens.length)} of ${n(scale.redis.tokensWritten)} live tokens of ${n(scale.keys.length)} keys`,
  );
  const cold = (scenario: scenarios.Scenario): scenarios.Scenario => ({
    ...scenario,
    name: scenario.name.replace('-scale', '-cold-scale'),
    what: `${scenario.what}; the first ${options.coldSeconds} s of a replica restarted cold`,
  });
  const reference =
    (when: string) =>
    (scenario: scenarios.Scenario): scenarios.Scenario => ({
      ...scenario,
      what: `${scenario.what}; the 1,000-key server kept beside the scaled one, ${when}`,
    });
  const liveReference = (name: string) => introspectLive(world, name, world.liveTokens, `${n(world.liveTokens.length)} live tokens of ${n(KEYS)} keys`);
  /** Runs `measure` against the 1,000-key server; measuring goes back to the scaled one after. */
  const onReference = async (measure: () => Promise<unknown>) => {
    const scaled = { keygate: world.keygate, inspector: world.inspector };
    world.session.useKeygate(world.reference.keygate, world.reference.inspector);
    try {
      await measure();
    } finally {
      world.session.useKeygate(scaled.keygate, scaled.inspector);
    }
  };
  /** The 1,000-key server restarted, then its token storm, its writes settled. */
  const restartReference = async (round: number) => {
    world.reference.inspector.close();
    await stopChild(world.reference.keygate.child);
    world.reference = await startInspectedKeygate(world.stores);
    await waitForKeyCache(world.reference.keygate.baseUrl, KEYS + 1, 60_000);
    const aged = reference('restarted at the start of the round, as the scaled one is before each storm');
    await onReference(() => world.session.keygate((url) => aged(cold(issue(REFERENCE.storm, world.keys)(url))), storm));
    scale.settles.push({ round, keys: KEYS, storm: REFERENCE.storm, ...reportSettled(await settleAfterStorm(runtime!)) });
  };
  /** The scaled server's storm, over: its writes landed and vacuumed, every key in its cache. */
  const settleScaled = async (round: number, after: string) => {
    scale.settles.push({ round, keys: scale.keys.length, storm: after, ...reportSettled(await settleAfterStorm(scaleRuntime!)) });
    return waitForKeyCache(world.keygate.baseUrl, scale.keys.length, 180_000);
  };
  const afterStorm = reference('right after the scaled cold storm it is paired with');
  const warm = reference('next to the scaled warm run it is paired with');
  for (let round = 1; round <= options.rounds; round++) {
    if (options.rounds > 1) console.log(`scale round ${round} of ${options.rounds}`);
    await restartReference(round);
    await restart(world, scaleStores);
    await world.session.keygate((url) => cold(liveScale(url)), storm);
    await settleScaled(round, 'introspect-live-cold-scale');
    await onReference(() => world.session.keygate((url) => afterStorm(liveReference(REFERENCE.introspectionBesideCold)(url))));
    await restart(world, scaleStores);
    await world.session.keygate((url) => cold(issue('token-scale', scale.keys)(url)), storm);
    const entries = await settleScaled(round, 'token-cold-scale');
    await onReference(() => world.session.keygate((url) => afterStorm(issue(REFERENCE.tokenBesideCold, world.keys)(url))));
    await world.session.keygate(liveScale);
    await onReference(async () => {
      await world.session.keygate((url) => warm(liveReference(REFERENCE.introspection)(url)));
      await world.session.keygate((url) => warm(issue(REFERENCE.token, world.keys)(url)));
    });
    await world.session.keygate(issue('token-scale', scale.keys));
    // Only after the warm runs: the inspector's collection is V8's low-memory one, which also
    // shrinks the young generation and can age compiled code out, so a run right after it measures
    // a replica warming up again, which no replica in service goes through.
    const usedAfterStorm = await world.inspector!.heapUsedAfterGc();
    world.heap.scale = { keys: entries, usedAfterGc: world.heap.scale?.usedAfterGc ?? 0, usedAfterGcAfterStorm: usedAfterStorm };
  }
  // The heap of a replica that has only warmed its key cache, for bytes per cached key.
  await restart(world, scaleStores);
  const entries = await waitForKeyCache(world.keygate.baseUrl, scale.keys.length, 180_000);
  world.heap.scale = { ...world.heap.scale!, keys: entries, usedAfterGc: await world.inspector!.heapUsedAfterGc() };
  return scale;
}

/**
 * Stops the scaled Keygate (never the 1,000-key reference) and starts it again in front of
 * `stores`; measures it from then on.
 */
async function restart(world: World, stores: Stores): Promise<void> {
  if (world.keygate !== world.reference.keygate) {
    world.inspector?.close();
    await stopChild(world.keygate.child);
  }
  const step = performance.now();
  const started = await startInspectedKeygate(stores);
  world.keygate = started.keygate;
  world.inspector = started.inspector;
  world.session.useKeygate(world.keygate, world.inspector);
  console.log(`restarted Keygate cold: ready ${secondsSince(step)} s after start`);
}

function reportSettled(settled: Settled): Settled {
  console.log(
    `after the storm: its writes landed ${settled.landedSeconds} s after it ended${settled.timedOut ? ' (not yet: gave up waiting)' : ''}, `
      + `vacuum of api_key_last_use ${settled.vacuumSeconds} s`,
  );
  return settled;
}

/** Polls /metrics until keygate_key_cache_entries reaches `keys`; returns the last value. */
async function waitForKeyCache(baseUrl: string, keys: number, timeoutMs: number): Promise<number> {
  const started = performance.now();
  for (;;) {
    const text = await (await fetch(`${baseUrl}/metrics`)).text();
    const entries = Number(/^keygate_key_cache_entries (\d+)/m.exec(text)?.[1] ?? 0);
    if (entries >= keys) return entries;
    if (performance.now() - started > timeoutMs) throw new Error(`key cache holds ${entries} of ${keys} keys after ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

main()
  .then(
    (code) => {
      process.exitCode = code;
    },
    (error: unknown) => {
      if (cleaning) return; // interrupted: what failed is the shutdown under it
      console.error(`bench: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
      process.exitCode = 1;
    },
  )
  .finally(() => cleanup().then(() => clearTimeout(deadline)));
