import pino from 'pino';
import { describe, expect, it, vi } from 'vitest';
import { createUsageRecorder } from '../../src/keys/usage.ts';
import type { KeyUsage } from '../../src/stores/key-last-use.ts';

const log = pino({ level: 'silent' });

/** Records what the recorder would write to Postgres, batch by batch. */
function writes() {
  const batches: { clientId: string; ip: string | null }[][] = [];
  return {
    batches,
    keys: { recordUsage: async (batch: readonly KeyUsage[]) => void batches.push(batch.map(({ clientId, ip }) => ({ clientId, ip }))) },
  };
}

describe('usage recorder', () => {
  it('writes the newest sighting per key, once per flush', async () => {
    const store = writes();
    const usage = createUsageRecorder(store.keys, log, { intervalMs: 60_000 });
    usage.seen('a', '10.0.0.1');
    usage.seen('b', '10.0.0.2');
    usage.seen('a', '10.0.0.3');
    await usage.flush();
    await usage.flush();
    await usage.close();
    expect(store.batches).toEqual([
      [
        { clientId: 'a', ip: '10.0.0.3' },
        { clientId: 'b', ip: '10.0.0.2' },
      ],
    ]);
  });

  it('does not write a key again within rewriteAfterMs from the same address, but does from a new one', async () => {
    const store = writes();
    const usage = createUsageRecorder(store.keys, log, { intervalMs: 60_000, rewriteAfterMs: 200 });
    usage.seen('a', '10.0.0.1');
    await usage.flush();
    usage.seen('a', '10.0.0.1');
    await usage.flush();
    expect(store.batches).toHaveLength(1);

    usage.seen('a', '10.0.0.9');
    await usage.flush();
    expect(store.batches.at(-1)).toEqual([{ clientId: 'a', ip: '10.0.0.9' }]);

    await new Promise((resolve) => setTimeout(resolve, 250));
    usage.seen('a', '10.0.0.9');
    await usage.flush();
    await usage.close();
    expect(store.batches).toEqual([[{ clientId: 'a', ip: '10.0.0.1' }], [{ clientId: 'a', ip: '10.0.0.9' }], [{ clientId: 'a', ip: '10.0.0.9' }]]);
  });

  it('writes again after a failed write: nothing is taken as recorded that was not', async () => {
    let fail = true;
    const batches: string[][] = [];
    const usage = createUsageRecorder(
      {
        recordUsage: async (batch) => {
          if (fail) throw new Error('database down');
          batches.push(batch.map((u) => u.clientId));
        },
      },
      log,
      { intervalMs: 60_000 },
    );
    usage.seen('a', '10.0.0.1');
    await usage.flush();
    fail = false;
    usage.seen('a', '10.0.0.1');
    await usage.flush();
    await usage.close();
    expect(batches).toEqual([['a']]);
  });

  it('by default writes a key again from the same address only after ten minutes', async () => {
    vi.useFakeTimers();
    try {
      const store = writes();
      const usage = createUsageRecorder(store.keys, log, { intervalMs: 3_600_000 });
      usage.seen('a', '10.0.0.1');
      await usage.flush();
      vi.advanceTimersByTime(9 * 60_000);
      usage.seen('a', '10.0.0.1');
      await usage.flush();
      expect(store.batches).toHaveLength(1);
      vi.advanceTimersByTime(60_000);
      usage.seen('a', '10.0.0.1');
      await usage.flush();
      expect(store.batches).toHaveLength(2);
      await usage.close();
    } finally {
      vi.useRealTimers();
    }
  });
});
