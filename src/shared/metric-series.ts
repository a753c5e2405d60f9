// Metric series for the routes every request takes. prom-client builds a string from the label
// set, validates it and looks it up on every increment or observation, even through a series
// resolved with `labels()`, and its histogram also allocates a closure and an object per
// observation and looks its bucket up by a float turned into a property name. The series here
// count in plain numbers instead; what they counted is the same on /metrics, in the same format.
import type client from 'prom-client';

type Labels<L extends string> = Partial<Record<L, string>>;

/** A counter series counted in a plain number, added to its prom-client counter when metrics are read. */
export interface CounterSeries {
  inc(): void;
}

class PendingCount implements CounterSeries {
  readonly labels: Labels<string>;
  pending = 0;
  constructor(labels: Labels<string>) {
    this.labels = labels;
  }
  inc(): void {
    this.pending += 1;
  }
}

const pendingByCounter = new WeakMap<client.Counter<string>, PendingCount[]>();

/**
 * The `collect` hook of every Keygate counter: prom-client calls it before it reads the counter
 * (a scrape, `get()`), so what the series counted is added first and shown once.
 */
export function addPendingCounts(this: client.Counter<string>): void {
  for (const series of pendingByCounter.get(this) ?? []) {
    if (series.pending === 0) continue;
    this.inc(series.labels, series.pending);
    series.pending = 0;
  }
}

/** One series of `counter` (created with `collect: addPendingCounts`), for code that counts on every request. */
export function counterSeries<L extends string>(counter: client.Counter<L>, labels: Labels<L>): CounterSeries {
  const withCollect = counter as unknown as client.Counter<string> & { collect?: unknown };
  // Without the hook the counts would never reach /metrics.
  if (withCollect.collect !== addPendingCounts) throw new Error('counterSeries needs a counter created with collect: addPendingCounts');
  const series = new PendingCount(labels);
  let all = pendingByCounter.get(withCollect);
  if (!all) pendingByCounter.set(withCollect, (all = []));
  all.push(series);
  return series;
}

export interface HistogramSeries {
  observe(value: number): void;
}

class HistogramCounts implements HistogramSeries {
  readonly labels: Labels<string>;
  readonly bounds: readonly number[];
  /** Observations per bucket (not cumulative); the last one is +Inf. */
  readonly counts: Float64Array;
  sum = 0;
  count = 0;
  constructor(labels: Labels<string>, bounds: readonly number[]) {
    this.labels = labels;
    this.bounds = bounds;
    this.counts = new Float64Array(bounds.length + 1);
  }
  observe(value: number): void {
    const bounds = this.bounds;
    let bucket = 0;
    while (bucket < bounds.length && value > bounds[bucket]!) bucket += 1;
    this.counts[bucket]! += 1;
    this.sum += value;
    this.count += 1;
  }
}

interface ExportedValue {
  labels: Record<string, string | number | undefined>;
  value: number;
  metricName: string;
}

export interface SeriesHistogramConfig<L extends string> {
  name: string;
  help: string;
  labelNames: readonly L[];
  /** Upper bounds, ascending; +Inf is added. */
  buckets: readonly number[];
  registers: client.Registry[];
}

/**
 * A histogram shown by a prom-client registry like prom-client's own (`_bucket` with `le`, `_sum`,
 * `_count`), whose series count in typed arrays. Resolve a series once with `labels()` and keep it.
 */
export class SeriesHistogram<L extends string> {
  readonly name: string;
  readonly help: string;
  readonly type = 'histogram';
  readonly #labelNames: readonly L[];
  readonly #bounds: readonly number[];
  readonly #series = new Map<string, HistogramCounts>();

  constructor(config: SeriesHistogramConfig<L>) {
    if (config.buckets.some((bound, i) => i > 0 && bound <= config.buckets[i - 1]!)) throw new Error('buckets must ascend');
    this.name = config.name;
    this.help = config.help;
    this.#labelNames = config.labelNames;
    this.#bounds = [...config.buckets];
    for (const registry of config.registers) registry.registerMetric(this as unknown as client.Metric);
  }

  labels(labels: Record<L, string>): HistogramSeries {
    const key = this.#labelNames.map((name) => labels[name]).join('\u0000');
    let series = this.#series.get(key);
    if (!series) this.#series.set(key, (series = new HistogramCounts({ ...labels }, this.#bounds)));
    return series;
  }

  reset(): void {
    this.#series.clear();
  }

  /** What a prom-client registry reads: the shape its own histogram's `get()` returns. */
  async get(): Promise<{ name: string; help: string; type: 'histogram'; values: ExportedValue[]; aggregator: 'sum' }> {
    const values: ExportedValue[] = [];
    for (const series of this.#series.values()) {
      let cumulative = 0;
      for (let i = 0; i <= this.#bounds.length; i += 1) {
        cumulative += series.counts[i]!;
        const le = i < this.#bounds.length ? this.#bounds[i]! : '+Inf';
        values.push({ labels: { le, ...series.labels }, value: cumulative, metricName: `${this.name}_bucket` });
      }
      values.push({ labels: series.labels, value: series.sum, metricName: `${this.name}_sum` });
      values.push({ labels: series.labels, value: series.count, metricName: `${this.name}_count` });
    }
    return { name: this.name, help: this.help, type: 'histogram', values, aggregator: 'sum' };
  }
}
