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

  it('does not send a key again within recheckAfterMs from the same address, but does from a new one', async () => {
    const store = writes();
    const usage = createUsageRecorder(store.keys, log, { intervalMs: 60_000, recheckAfterMs: 200 });
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

  it('by default sends a key again from the same address after a minute, for the store to rewrite only rows ten minutes old', async () => {
    vi.useFakeTimers();
    try {
      const sent: { keys: string[]; unchangedWithinMs: number | undefined }[] = [];
      const usage = createUsageRecorder(
        { recordUsage: async (batch, unchangedWithinMs) => void sent.push({ keys: batch.map((u) => u.clientId), unchangedWithinMs }) },
        log,
        { intervalMs: 3_600_000 },
      );
      usage.seen('a', '10.0.0.1');
      await usage.flush();
      vi.advanceTimersByTime(59_000);
      usage.seen('a', '10.0.0.1');
      await usage.flush();
      expect(sent).toHaveLength(1);
      vi.advanceTimersByTime(1000);
      usage.seen('a', '10.0.0.1');
      await usage.flush();
      await usage.close();
      expect(sent).toEqual([
        { keys: ['a'], unchangedWithinMs: 600_000 },
        { keys: ['a'], unchangedWithinMs: 600_000 },
      ]);
    } finally {
      vi.useRealTimers();
    }
  });

  it('a sighting waiting to be written is replaced by a newer one, even from an address sent a moment ago', async () => {
    const store = writes();
    const usage = createUsageRecorder(store.keys, log, { intervalMs: 60_000 });
    usage.seen('a', '10.0.0.66');
    await usage.flush();
    usage.seen('a', '10.0.0.5'); // another address: waits
    usage.seen('a', '10.0.0.66'); // the newest use, from the address sent before
    await usage.flush();
    await usage.close();
    expect(store.batches).toEqual([[{ clientId: 'a', ip: '10.0.0.66' }], [{ clientId: 'a', ip: '10.0.0.66' }]]);
  });
});
