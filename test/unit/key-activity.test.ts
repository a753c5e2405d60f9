// Per-key activity counting: the in-process batch, the mapping of refusal reasons, and the memory
// store's buckets and expiry (the Redis store is covered by test/integration/key-usage.test.ts).
import { describe, expect, it, vi } from 'vitest';
import { createLogger } from '../../src/logger.ts';
import { ACTIVITY_FLUSH_INTERVAL_MS, createActivityRecorder, DENIAL_OUTCOMES } from '../../src/keys/activity.ts';
import { issuedLast7Days, usageSeries } from '../../src/keys/usage-report.ts';
import { DENIAL_REASONS } from '../../src/shared/denial-reasons.ts';
import { createMemoryActivityStore } from '../../src/stores/key-activity-memory.ts';
import { DAY_MS, HOUR_MS } from '../../src/stores/key-activity.ts';

const log = createLogger('silent');

describe('key activity', () => {
  it('maps every refusal a known key can meet; only the reasons that come before a key is known are left out', () => {
    const unmapped = DENIAL_REASONS.filter((reason) => DENIAL_OUTCOMES[reason] === undefined);
    expect(unmapped).toEqual(['malformed_secret', 'unknown_key']);
  });

  it('adds up in memory and writes nothing until flushed, then one batch', async () => {
    const store = createMemoryActivityStore();
    const recorder = createActivityRecorder(store, log, { intervalMs: 3_600_000 });
    recorder.count('kg_a', 'issued');
    recorder.count('kg_a', 'issued');
    recorder.denied('kg_a', 'user_disabled');
    recorder.denied('kg_a', 'unknown_key');
    const now = Date.now();
    const hour = Math.floor(now / HOUR_MS);
    expect(await store.read(['kg_a'], 'hour', hour, hour)).toEqual([[{}]]);
    await recorder.flush();
    expect(await store.read(['kg_a'], 'hour', hour, hour)).toEqual([[{ issued: 2, denied_disabled: 1 }]]);
    expect(await store.read(['kg_a'], 'day', Math.floor(now / DAY_MS), Math.floor(now / DAY_MS))).toEqual([[{ issued: 2, denied_disabled: 1 }]]);
    await recorder.flush();
    expect(await store.read(['kg_a'], 'hour', hour, hour)).toEqual([[{ issued: 2, denied_disabled: 1 }]]);
    await recorder.close();
  });

  it('writes on its own every 30 s, adding up every request of a key in between into one increment', async () => {
    vi.useFakeTimers();
    try {
      const batches: { clientId: string; count: number }[][] = [];
      const recorder = createActivityRecorder({ add: async (batch) => void batches.push([...batch]) }, log);
      expect(ACTIVITY_FLUSH_INTERVAL_MS).toBe(30_000);
      recorder.count('kg_a', 'issued');
      await vi.advanceTimersByTimeAsync(29_000);
      recorder.count('kg_a', 'issued');
      expect(batches).toEqual([]);
      await vi.advanceTimersByTimeAsync(1_000);
      expect(batches).toHaveLength(1);
      expect(batches[0]).toEqual([expect.objectContaining({ clientId: 'kg_a', count: 2 })]);
      await recorder.close();
    } finally {
      vi.useRealTimers();
    }
  });

  it('sends one increment per key and outcome, with the hour it was counted in', async () => {
    const batches: unknown[][] = [];
    const recorder = createActivityRecorder({ add: async (batch) => void batches.push([...batch]) }, log, { intervalMs: 3_600_000 });
    const hour = Math.floor(Date.now() / HOUR_MS);
    recorder.count('kg_a', 'issued');
    recorder.count('kg_b', 'introspection_active');
    recorder.count('kg_a', 'issued');
    recorder.denied('kg_b', 'secret_mismatch');
    recorder.count('kg_b', 'introspection_active');
    recorder.count('kg_b', 'introspection_active');
    await recorder.flush();
    await recorder.close();
    expect(batches).toHaveLength(1);
    const byKeyAndOutcome = (a: { clientId: string; outcome: string }, b: { clientId: string; outcome: string }) =>
      `${a.clientId} ${a.outcome}`.localeCompare(`${b.clientId} ${b.outcome}`);
    expect((batches[0] as { clientId: string; outcome: string }[]).sort(byKeyAndOutcome)).toEqual([
      { clientId: 'kg_a', hour, outcome: 'issued', count: 2 },
      { clientId: 'kg_b', hour, outcome: 'denied_bad_secret', count: 1 },
      { clientId: 'kg_b', hour, outcome: 'introspection_active', count: 3 },
    ]);
  });

  it('a store that fails loses the batch and never throws to the caller', async () => {
    const failing = { add: async () => Promise.reject(new Error('down')) };
    const recorder = createActivityRecorder(failing, log, { intervalMs: 3_600_000 });
    recorder.count('kg_a', 'issued');
    await expect(recorder.flush()).resolves.toBeUndefined();
    await recorder.close();
  });

  it('keeps each hour until 30 days after its day ends', async () => {
    let now = Date.UTC(2026, 11, 1, 12);
    const store = createMemoryActivityStore({ now: () => now });
    const hour = Math.floor(now / HOUR_MS);
    await store.add([{ clientId: 'kg_a', hour, outcome: 'issued', count: 3 }]);
    now = Date.UTC(2026, 11, 2) + 30 * DAY_MS - 1;
    expect(await store.read(['kg_a'], 'hour', hour, hour)).toEqual([[{ issued: 3 }]]);
    now += 1;
    expect(await store.read(['kg_a'], 'hour', hour, hour)).toEqual([[{}]]);
  });

  it('a window is whole buckets, oldest first, the current one last; a sparkline is 7 days of issuance', async () => {
    const store = createMemoryActivityStore();
    const now = new Date();
    const hour = Math.floor(now.getTime() / HOUR_MS);
    await store.add([
      { clientId: 'kg_a', hour, outcome: 'issued', count: 2 },
      { clientId: 'kg_a', hour: hour - 48, outcome: 'introspection_active', count: 5 },
      { clientId: 'kg_b', hour, outcome: 'denied_network', count: 1 },
    ]);
    const day = await usageSeries(store, 'kg_a', '24h', now);
    expect(day.series).toHaveLength(24);
    expect(day.series.at(-1)).toMatchObject({ at: new Date(hour * HOUR_MS).toISOString(), issued: 2 });
    const month = await usageSeries(store, 'kg_a', '30d', now);
    expect(month.series.reduce((sum, p) => sum + p.introspection.active, 0)).toBe(5);
    expect(await issuedLast7Days(store, ['kg_a', 'kg_b', 'kg_c'], now)).toEqual([
      [0, 0, 0, 0, 0, 0, 2],
      [0, 0, 0, 0, 0, 0, 0],
      [0, 0, 0, 0, 0, 0, 0],
    ]);
  });
});
