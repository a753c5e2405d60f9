// What a key costs in the server's heap once it has taken a token, and where those bytes are.
// `node bench/heap-per-key.ts [keys]` (default 20,000): in its own Postgres and Redis it seeds
// `keys` keys (one through the key service, the rest copied in bulk, as --scale does), starts
// Keygate as the bench does (shipped node flags, inspector on a loopback port), waits until the
// key cache holds every key, then takes one token for every key (50 in flight). It prints the live
// heap after a full collection before and after the tokens, per key, and (HEAP_SNAPSHOT=1, the
// default below 50,000 keys) heap snapshots of both moments summarised: what grew, by constructor,
// per key, and the biggest single objects with what holds them. HEAP_SETTLE_SECONDS=70 measures
// once more after that long with no requests (what stays per key, not only what a burst leaves).
// The server's resident set (now and peak) is read from /proc; a snapshot inflates the peak, so
// read RSS from a run with HEAP_SNAPSHOT=0.
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { sql } from 'kysely';
import { freePort, memoryOf, stopAllChildren, stopChild } from './children.ts';
import { growth, summariseHeapSnapshot, type HeapSummary } from './heap-snapshot.ts';
import { connectInspector } from './inspector.ts';
import { openSeedRuntime, startKeygate } from './keygate.ts';
import { createKeys, insertKeys, issueTokens } from './seed.ts';
import { startPostgres, startRedis } from './services.ts';

const totalKeys = Number(process.argv[2] ?? 20_000);
const snapshots = (process.env.HEAP_SNAPSHOT ?? (totalKeys <= 50_000 ? '1' : '0')) === '1';
const settleSeconds = Number(process.env.HEAP_SETTLE_SECONDS ?? 0);
const MB = 1024 * 1024;

const root = mkdtempSync(path.join(os.tmpdir(), 'keygate-heap-per-key-'));
const postgres = await startPostgres(root, undefined, undefined);
const redis = await startRedis(undefined);
const runtime = await openSeedRuntime({ databaseUrl: postgres.url, redisUrl: redis.url });
try {
  const tenant = await runtime.tenants.insert({ name: 'bench' });
  const [template] = await createKeys(runtime, tenant.id, 1, ['devices:read', 'devices:write']);
  const bulk = await insertKeys(runtime, template!.clientId, totalKeys - 1);
  await sql`analyze api_keys`.execute(runtime.db);
  const keys = [template!, ...bulk.keys];

  const inspectorPort = await freePort();
  const keygate = await startKeygate({ databaseUrl: postgres.url, redisUrl: redis.url }, undefined, { inspectorPort });
  const inspector = await connectInspector(inspectorPort, { cpuProfile: false });
  await waitForKeyCache(keygate.baseUrl, totalKeys, 180_000);
  const pid = keygate.child.pid;
  const cached = { heap: await inspector.heapUsedAfterGc(), ...memoryOf(pid) };
  const before = snapshots ? summariseHeapSnapshot(await inspector.takeHeapSnapshot()) : undefined;

  const started = performance.now();
  await issueTokens(keygate.baseUrl, keys, 1);
  const tokenSeconds = (performance.now() - started) / 1000;
  const afterTokens = memoryOf(pid);
  const tokened = { heap: await inspector.heapUsedAfterGc(), ...afterTokens };
  const after = snapshots ? summariseHeapSnapshot(await inspector.takeHeapSnapshot()) : undefined;

  const perKey = (bytes: number) => Math.round(bytes / totalKeys);
  console.log(`${totalKeys.toLocaleString('en')} keys, one token each in ${tokenSeconds.toFixed(1)} s`);
  console.log(`live heap after a full GC, key cache full, no request yet: ${(cached.heap / MB).toFixed(1)} MB; RSS ${(cached.rss / MB).toFixed(0)} MB`);
  console.log(
    `live heap after a full GC, every key has taken a token:   ${(tokened.heap / MB).toFixed(1)} MB; `
      + `RSS ${(tokened.rss / MB).toFixed(0)} MB, peak ${(afterTokens.hwm / MB).toFixed(0)} MB${snapshots ? ' (peak includes the first snapshot)' : ''}`,
  );
  console.log(`heap added per key by its token: ${perKey(tokened.heap - cached.heap)} B (whole heap per key: ${perKey(tokened.heap)} B)`);
  if (before) cachedKeyReport(before);
  if (before && after) report(before, after);

  if (settleSeconds > 0) {
    await new Promise((resolve) => setTimeout(resolve, settleSeconds * 1000));
    const settled = await inspector.heapUsedAfterGc();
    console.log(`after ${settleSeconds} s without requests: heap added per key ${perKey(settled - cached.heap)} B`);
    if (snapshots && before) report(before, summariseHeapSnapshot(await inspector.takeHeapSnapshot()));
  }
  inspector.close();
  await stopChild(keygate.child);
} finally {
  await stopAllChildren(new Set([redis.pid]));
  await runtime.close().catch(() => {});
  await redis.stop();
  await postgres.stop();
  rmSync(root, { recursive: true, force: true });
}

/** Objects there about once per key or more before any request: what the key cache holds per key. */
function cachedKeyReport(before: HeapSummary): void {
  console.log('\nbefore any request, objects about once per key or more, per key (the key cache), by where they are held:');
  const rows = [...before.byHolder.values()].filter((row) => row.count >= totalKeys * 0.9);
  for (const row of rows.sort((a, b) => b.bytes - a.bytes).slice(0, 20)) {
    console.log(`  ${String(Math.round(row.bytes / totalKeys)).padStart(5)} B  ${(row.count / totalKeys).toFixed(2).padStart(6)}  ${row.what}`);
  }
  console.log('the same by constructor:');
  const constructors = [...before.byConstructor.values()].filter((row) => row.count >= totalKeys * 0.9);
  for (const row of constructors.sort((a, b) => b.bytes - a.bytes).slice(0, 12)) {
    console.log(`  ${String(Math.round(row.bytes / totalKeys)).padStart(5)} B  ${(row.count / totalKeys).toFixed(2).padStart(6)}  ${row.what}`);
  }
}

function report(before: HeapSummary, after: HeapSummary): void {
  console.log(`\nsnapshot self sizes: ${(before.totalBytes / MB).toFixed(1)} MB → ${(after.totalBytes / MB).toFixed(1)} MB`);
  console.log('grew most, per key (bytes, objects):');
  for (const row of growth(before, after, 25)) {
    console.log(`  ${String(Math.round(row.bytes / totalKeys)).padStart(5)} B  ${(row.count / totalKeys).toFixed(2).padStart(6)}  ${row.what}`);
  }
  console.log('grew most, per key, by where the objects are held (first holder, three up):');
  for (const row of growth(before, after, 25, 'byHolder')) {
    console.log(`  ${String(Math.round(row.bytes / totalKeys)).padStart(5)} B  ${(row.count / totalKeys).toFixed(2).padStart(6)}  ${row.what}`);
  }
  console.log('biggest single objects before:');
  for (const big of before.biggest.slice(0, 8))
    console.log(`  ${(big.bytes / 1024).toFixed(0).padStart(7)} KB  ${big.what}  held by ${big.heldBy.slice(0, 160)}`);
  console.log('biggest single objects after:');
  for (const big of after.biggest.slice(0, 15))
    console.log(`  ${(big.bytes / 1024).toFixed(0).padStart(7)} KB  ${big.what}  held by ${big.heldBy.slice(0, 160)}`);
}

/** Polls /metrics until keygate_key_cache_entries reaches `keys`. */
async function waitForKeyCache(baseUrl: string, keys: number, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const text = await (await fetch(`${baseUrl}/metrics`)).text();
    const entries = Number(/^keygate_key_cache_entries (\d+)/m.exec(text)?.[1] ?? 0);
    if (entries >= keys) return;
    if (Date.now() > deadline) throw new Error(`key cache holds ${entries} of ${keys} keys after ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}
