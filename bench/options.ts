// Command line and environment of `npm run bench`.
export interface BenchOptions {
  /** Measured run per scenario, seconds (BENCH_DURATION, default 10). */
  durationSeconds: number;
  /** Warm-up before each measured run, seconds (BENCH_WARMUP, default 3). */
  warmupSeconds: number;
  connections: number;
  /** BENCH_ROUNDS (default 1): the whole scenario sequence this many times; the median round is reported. */
  rounds: number;
  /** BENCH_LATENCY_RATE (default 500, 0 = off): req/s offered, evenly paced (paced.ts), in the latency runs of both Keygate paths. */
  latencyRate: number;
  /** BENCH_MAX_NOISE (default 15): % of the servers' core others may take before a run is repeated. */
  maxNoisePercent: number;
  /** BENCH_NOISE_RETRIES (default 2): repeats of a noisy run; the least noisy attempt is kept. */
  noiseRetries: number;
  /** `--scale` or BENCH_SCALE=1: also measure with 100,000 keys and 1,000,000 live tokens. */
  scale: boolean;
  scaleKeys: number;
  scaleTokens: number;
  /** BENCH_COLD_SECONDS (default 60): length of each cold-start storm in scale mode. */
  coldSeconds: number;
  /** BENCH_CPU_PROF=1: V8 CPU profile of the Keygate server in each measured run, to bench/results/keygate-<scenario>.cpuprofile. */
  cpuProfile: boolean;
  /** BENCH_HEAP_PROF=1: sampled allocation sites of Keygate in each measured run (printed, and in the result file); `promoted`: without what young collections freed. */
  heapProfile: false | 'all' | 'promoted';
  /** BENCH_SERVER_NODE_FLAGS: extra node flags for the Keygate server only (e.g. --max-old-space-size=128). */
  serverNodeFlags: string[];
  /** BENCH_SERVER_LOG: a file the Keygate server's stdout is appended to (e.g. its --trace-gc lines). */
  serverLog: string | undefined;
  /** BENCH_ONLY: a comma-separated subset of the default scenarios (e.g. `ceiling,introspect-live`), for quick iteration; ratios need both sides. */
  only: string[] | undefined;
}

function number(name: string, fallback: number, min: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isFinite(value) || value < min) throw new Error(`${name} must be a number ≥ ${min}, got '${raw}'`);
  return value;
}

export function readOptions(argv: string[]): BenchOptions {
  const unknown = argv.filter((a) => a !== '--scale');
  if (unknown.length > 0) throw new Error(`unknown argument(s): ${unknown.join(' ')} (only --scale)`);
  return {
    durationSeconds: number('BENCH_DURATION', 10, 1),
    warmupSeconds: number('BENCH_WARMUP', 3, 0),
    connections: number('BENCH_CONNECTIONS', 50, 1),
    rounds: Math.floor(number('BENCH_ROUNDS', 1, 1)),
    latencyRate: number('BENCH_LATENCY_RATE', 500, 0),
    maxNoisePercent: number('BENCH_MAX_NOISE', 15, 0),
    noiseRetries: Math.floor(number('BENCH_NOISE_RETRIES', 2, 0)),
    scale: argv.includes('--scale') || process.env.BENCH_SCALE === '1',
    scaleKeys: number('BENCH_SCALE_KEYS', 100_000, 2000),
    scaleTokens: number('BENCH_SCALE_TOKENS', 1_000_000, 10_000),
    coldSeconds: number('BENCH_COLD_SECONDS', 60, 10),
    cpuProfile: process.env.BENCH_CPU_PROF === '1',
    heapProfile: process.env.BENCH_HEAP_PROF === '1' ? 'all' : process.env.BENCH_HEAP_PROF === 'promoted' ? 'promoted' : false,
    serverNodeFlags: (process.env.BENCH_SERVER_NODE_FLAGS ?? '').split(' ').filter(Boolean),
    serverLog: process.env.BENCH_SERVER_LOG || undefined,
    only: process.env.BENCH_ONLY ? process.env.BENCH_ONLY.split(',').map((name) => name.trim()) : undefined,
  };
}
