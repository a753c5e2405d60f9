// The Keygate server's inspector, driven over the DevTools protocol from this process. The bench
// always starts Keygate with its inspector on a loopback port, for two things:
// - allocation and GC per measured run (startAllocationCount / stopAllocationCount): V8's own
//   GCProfiler inside the server records the heap in use before and after each collection, so the
//   bytes allocated during the run are what the collections freed plus what the heap grew by;
// - bytes per cached key (heapUsedAfterGc): the live heap after a full collection;
// - in paced runs, how long its event loop was held (startLoopGaps / stopLoopGaps).
// With BENCH_CPU_PROF=1 it also takes a V8 CPU profile of exactly each measured run.
import { writeFileSync } from 'node:fs';
import { START_IN_SERVER, STOP_IN_SERVER, type LoopGaps } from './loop-gaps.ts';

export interface Profiler {
  start(): Promise<void>;
  /** Stops, writes the .cpuprofile to `file`. */
  stop(file: string): Promise<void>;
  close(): void;
}

export interface AllocationCount {
  /** Bytes allocated on the V8 heap during the run. */
  allocatedBytes: number;
  /** Collections during the run, by type (Scavenge, MarkSweepCompact, …). */
  collections: Record<string, number>;
  /** Total and longest collection cost as V8 reports it, ms (main-thread work of each collection). */
  gcTotalMs: number;
  gcMaxMs: number;
}

/** Where the sampled allocations of a run were made: bytes by allocating function, most first. */
export interface AllocationSites {
  sampledBytes: number;
  top: { site: string; bytes: number; percent: number }[];
}

export interface Inspector {
  /** Set when BENCH_CPU_PROF=1. */
  profiler: Profiler | undefined;
  /** Set when BENCH_HEAP_PROF=1: V8's sampling heap profiler, counting objects collected young too. */
  allocationSampler: { start(): Promise<void>; stop(): Promise<AllocationSites> } | undefined;
  startAllocationCount(): Promise<void>;
  stopAllocationCount(): Promise<AllocationCount | undefined>;
  /** Paced runs: gaps between the ticks of a 1 ms timer in the server's event loop (loop-gaps.ts). */
  startLoopGaps(): Promise<void>;
  stopLoopGaps(): Promise<LoopGaps | undefined>;
  /** V8 heap in use after a full collection, bytes. */
  heapUsedAfterGc(): Promise<number>;
  /** A full heap snapshot (.heapsnapshot JSON; the snapshot collects garbage first). */
  takeHeapSnapshot(): Promise<string>;
  close(): void;
}

// Runs inside the server: no imports there, only what process.getBuiltinModule offers.
const START_COUNT = `(() => {
  const v8 = process.getBuiltinModule('v8');
  globalThis.__benchGcProfiler?.stop();
  globalThis.__benchGcProfiler = new v8.GCProfiler();
  globalThis.__benchGcProfiler.start();
  globalThis.__benchHeapAtStart = v8.getHeapStatistics().used_heap_size;
  return true;
})()`;
const STOP_COUNT = `(() => {
  const v8 = process.getBuiltinModule('v8');
  const profiler = globalThis.__benchGcProfiler;
  if (!profiler) return 'null';
  globalThis.__benchGcProfiler = undefined;
  const { statistics } = profiler.stop();
  let freed = 0, total = 0, max = 0;
  const collections = {};
  for (const gc of statistics) {
    freed += gc.beforeGC.heapStatistics.usedHeapSize - gc.afterGC.heapStatistics.usedHeapSize;
    total += gc.cost;
    max = Math.max(max, gc.cost);
    collections[gc.gcType] = (collections[gc.gcType] ?? 0) + 1;
  }
  const grown = v8.getHeapStatistics().used_heap_size - globalThis.__benchHeapAtStart;
  return JSON.stringify({ allocatedBytes: freed + grown, collections, gcTotalMs: total / 1000, gcMaxMs: max / 1000 });
})()`;

/** What a counter evaluated in the server returned: its JSON, or 'null' when none was running. */
function jsonOrNothing<T>(value: unknown): T | undefined {
  return typeof value === 'string' && value !== 'null' ? (JSON.parse(value) as T) : undefined;
}

interface SamplingNode {
  callFrame: { functionName: string; url: string; lineNumber: number };
  selfSize: number;
  children: SamplingNode[];
}

function allocationSites(head: SamplingNode, top = 30): AllocationSites {
  const bySite = new Map<string, number>();
  let total = 0;
  const walk = (node: SamplingNode) => {
    if (node.selfSize > 0) {
      const f = node.callFrame;
      const where = f.url.replace(/^.*\/node_modules\//, '').replace(/^.*\/src\//, 'src/');
      const site = `${f.functionName || '(anonymous)'} ${where}:${f.lineNumber + 1}`;
      bySite.set(site, (bySite.get(site) ?? 0) + node.selfSize);
      total += node.selfSize;
    }
    for (const child of node.children) walk(child);
  };
  walk(head);
  return {
    sampledBytes: total,
    top: [...bySite]
      .sort((a, b) => b[1] - a[1])
      .slice(0, top)
      .map(([site, bytes]) => ({ site, bytes, percent: Math.round((bytes / Math.max(1, total)) * 1000) / 10 })),
  };
}

export async function connectInspector(inspectorPort: number, options: { cpuProfile: boolean; heapProfile?: false | 'all' | 'promoted' }): Promise<Inspector> {
  const targets = (await (await fetch(`http://127.0.0.1:${inspectorPort}/json/list`)).json()) as { webSocketDebuggerUrl: string }[];
  const socket = new WebSocket(targets[0]!.webSocketDebuggerUrl);
  await new Promise((resolve, reject) => {
    socket.addEventListener('open', resolve, { once: true });
    socket.addEventListener('error', () => reject(new Error('inspector connection failed')), { once: true });
  });
  let nextId = 0;
  const pending = new Map<number, (result: unknown) => void>();
  let snapshotChunks: string[] | undefined;
  socket.addEventListener('message', (event) => {
    const message = JSON.parse(String(event.data)) as { id?: number; result?: unknown; method?: string; params?: { chunk?: string } };
    if (message.method === 'HeapProfiler.addHeapSnapshotChunk') snapshotChunks?.push(message.params!.chunk!);
    if (message.id !== undefined) {
      pending.get(message.id)?.(message.result);
      pending.delete(message.id);
    }
  });
  const send = (method: string, params: object = {}) =>
    new Promise<unknown>((resolve) => {
      const id = ++nextId;
      pending.set(id, resolve);
      socket.send(JSON.stringify({ id, method, params }));
    });
  const evaluate = async (expression: string): Promise<unknown> => {
    const { result } = (await send('Runtime.evaluate', { expression, returnByValue: true })) as { result?: { value?: unknown } };
    return result?.value;
  };

  let profiler: Profiler | undefined;
  if (options.cpuProfile) {
    await send('Profiler.enable');
    await send('Profiler.setSamplingInterval', { interval: 1000 }); // µs, as node --cpu-prof
    profiler = {
      start: async () => void (await send('Profiler.start')),
      async stop(file) {
        const { profile } = (await send('Profiler.stop')) as { profile: unknown };
        writeFileSync(file, JSON.stringify(profile));
      },
      close: () => {},
    };
  }
  const allocationSampler = options.heapProfile
    ? {
        start: async () =>
          void (await send('HeapProfiler.startSampling', {
            samplingInterval: 1024,
            includeObjectsCollectedByMajorGC: true,
            // 'promoted': only what outlived a young collection, the objects that make full collections.
            includeObjectsCollectedByMinorGC: options.heapProfile === 'all',
          })),
        async stop() {
          const { profile } = (await send('HeapProfiler.stopSampling')) as { profile: { head: SamplingNode } };
          return allocationSites(profile.head);
        },
      }
    : undefined;
  if (allocationSampler) await send('HeapProfiler.enable');
  return {
    profiler,
    allocationSampler,
    startAllocationCount: async () => void (await evaluate(START_COUNT)),
    stopAllocationCount: async () => jsonOrNothing<AllocationCount>(await evaluate(STOP_COUNT)),
    startLoopGaps: async () => void (await evaluate(START_IN_SERVER)),
    stopLoopGaps: async () => jsonOrNothing<LoopGaps>(await evaluate(STOP_IN_SERVER)),
    async heapUsedAfterGc() {
      await send('HeapProfiler.collectGarbage');
      await send('HeapProfiler.collectGarbage');
      return Number(await evaluate(`process.getBuiltinModule('v8').getHeapStatistics().used_heap_size`));
    },
    async takeHeapSnapshot() {
      snapshotChunks = [];
      await send('HeapProfiler.takeHeapSnapshot', { reportProgress: false });
      const json = snapshotChunks.join('');
      snapshotChunks = undefined;
      return json;
    },
    close: () => socket.close(),
  };
}
