// What Keygate's own /metrics says happened during a scenario: key cache hits and misses, and the
// mean latency of each store call. Best effort: a metric that is not there is simply not reported.
export type Samples = Map<string, number>;

export interface ServerMetrics {
  keyCache: Record<string, number>;
  /** "<store> <operation>" → calls and mean ms, as the server timed them. */
  stores: Record<string, { calls: number; meanMs: number }>;
}

export async function scrape(baseUrl: string): Promise<Samples> {
  const samples: Samples = new Map();
  try {
    const response = await fetch(`${baseUrl}/metrics`);
    if (!response.ok) return samples;
    for (const line of (await response.text()).split('\n')) {
      const match = /^(keygate_[a-z_]+(?:\{[^}]*\})?) ([0-9.e+-]+)$/.exec(line);
      if (match) samples.set(match[1]!, Number(match[2]));
    }
  } catch {
    // no metrics endpoint: nothing to report
  }
  return samples;
}

export function difference(before: Samples, after: Samples): ServerMetrics {
  const delta = (name: string) => (after.get(name) ?? 0) - (before.get(name) ?? 0);
  const result: ServerMetrics = { keyCache: {}, stores: {} };
  for (const name of after.keys()) {
    const cache = /^keygate_key_cache_lookups_total\{result="(\w+)"\}$/.exec(name);
    if (cache) result.keyCache[cache[1]!] = delta(name);
    const store = /^keygate_store_duration_seconds_count\{store="(\w+)",operation="(\w+)"\}$/.exec(name);
    if (store && delta(name) > 0) {
      const sum = delta(name.replace('_count{', '_sum{'));
      result.stores[`${store[1]} ${store[2]}`] = { calls: delta(name), meanMs: Math.round((sum / delta(name)) * 1e6) / 1000 };
    }
  }
  return result;
}
