import client from 'prom-client';
import { describe, expect, it } from 'vitest';
import { addPendingCounts, counterSeries, SeriesHistogram } from '../../src/shared/metric-series.ts';

const BUCKETS = [0.001, 0.005, 0.01, 0.5];
// On a bound, between bounds, above the last one, zero; and label values that need escaping.
const OBSERVED: [Record<'route' | 'status', string>, number][] = [
  [{ route: '/oauth/token', status: '200' }, 0.001],
  [{ route: '/oauth/token', status: '200' }, 0.0031],
  [{ route: '/oauth/introspect', status: '401' }, 0],
  [{ route: '/oauth/token', status: '200' }, 0.7],
  [{ route: 'a "quoted"\\route\nline', status: '500' }, 0.01],
  [{ route: '/oauth/introspect', status: '401' }, 0.5],
  [{ route: '/oauth/token', status: '200' }, 2.5],
];

describe('metric series for the hot paths', () => {
  it('a series histogram reads on /metrics exactly as prom-client’s own histogram of the same observations', async () => {
    const theirs = new client.Registry();
    const ours = new client.Registry();
    const reference = new client.Histogram({ name: 'h_seconds', help: 'help', labelNames: ['route', 'status'], buckets: BUCKETS, registers: [theirs] });
    const histogram = new SeriesHistogram({ name: 'h_seconds', help: 'help', labelNames: ['route', 'status'], buckets: BUCKETS, registers: [ours] });
    for (const [labels, value] of OBSERVED) {
      reference.labels(labels).observe(value);
      histogram.labels(labels).observe(value);
    }
    const text = await ours.metrics();
    expect(text).toBe(await theirs.metrics());
    expect(text).toContain('h_seconds_bucket{le="0.001",route="/oauth/token",status="200"} 1');
    expect(text).toContain('h_seconds_bucket{le="+Inf",route="/oauth/token",status="200"} 4');
    expect(text).toContain('h_seconds_count{route="/oauth/introspect",status="401"} 2');
    // The JSON form too, but for prom-client's exemplar slots (always empty here).
    const withoutExemplars = (metrics: client.MetricObjectWithValues<client.MetricValue<string>>[]) =>
      metrics.map((metric) => ({ ...metric, values: metric.values.map(({ exemplar: _, ...value }: Record<string, unknown>) => value) }));
    expect(withoutExemplars(await ours.getMetricsAsJSON())).toEqual(withoutExemplars(await theirs.getMetricsAsJSON()));
  });

  it('a series resolved once and one resolved again count into the same numbers; a reset empties them', async () => {
    const registry = new client.Registry();
    const histogram = new SeriesHistogram({ name: 'h_seconds', help: 'help', labelNames: ['route'], buckets: BUCKETS, registers: [registry] });
    const kept = histogram.labels({ route: '/a' });
    kept.observe(0.002);
    histogram.labels({ route: '/a' }).observe(0.002);
    expect(await registry.metrics()).toContain('h_seconds_count{route="/a"} 2');
    registry.resetMetrics();
    expect(await registry.metrics()).not.toContain('h_seconds_count');
  });

  it('refuses buckets that do not ascend', () => {
    expect(() => new SeriesHistogram({ name: 'h', help: 'h', labelNames: [], buckets: [0.1, 0.1], registers: [] })).toThrow(/ascend/);
  });

  it('a counter series shows every count once, whenever the counter is read, next to counts made through prom-client', async () => {
    const registry = new client.Registry();
    const counter = new client.Counter({ name: 'c_total', help: 'help', labelNames: ['result'], registers: [registry], collect: addPendingCounts });
    const hit = counterSeries(counter, { result: 'hit' });
    const again = counterSeries(counter, { result: 'hit' });
    for (let i = 0; i < 5; i++) hit.inc();
    again.inc();
    counter.inc({ result: 'hit' });
    counter.inc({ result: 'miss' }, 2);
    expect(await registry.metrics()).toContain('c_total{result="hit"} 7');
    // Read again with nothing new: the counts are not added twice.
    expect(await registry.metrics()).toContain('c_total{result="hit"} 7');
    hit.inc();
    const values = (await counter.get()).values;
    expect(values).toContainEqual(expect.objectContaining({ labels: { result: 'hit' }, value: 8 }));
    expect(values).toContainEqual(expect.objectContaining({ labels: { result: 'miss' }, value: 2 }));
  });

  it('will not count into a counter whose counts would never be read', () => {
    const counter = new client.Counter({ name: 'c_total', help: 'help', labelNames: ['result'], registers: [] });
    expect(() => counterSeries(counter, { result: 'hit' })).toThrow(/addPendingCounts/);
  });
});
