import pino from 'pino';
import { describe, expect, it, vi } from 'vitest';
import { createUsageRecorder } from '../../src/keys/usage.ts';
import type { KeyUsage } from '../../src/stores/key-last-use.ts';

const log = pino({ level: 'silent' });

/** A store that put every sighting on record: none was superseded by a newer use from elsewhere. */
const onRecord = (_written: unknown): string[] => [];

/** Records what the recorder would write to Postgres, batch by batch. */
function writes() {
  const batches: { clientId: string; ip: string | null }[][] = [];
  return {
    batches,
    keys: { recordUsage: async (batch: readonly KeyUsage[]) => onRecord(batches.push(batch.map(({ clientId, ip }) => ({ clientId, ip })))) },
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
          return [];
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
        { recordUsage: async (batch, unchangedWithinMs) => onRecord(sent.push({ keys: batch.map((u) => u.clientId), unchangedWithinMs })) },
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

  describe('with announcements of the rows every replica changes', () => {
    /** A recorder with a fake clock that hears announcements, and what it sent, batch by batch. */
    function announcedRecorder() {
      const sent: { clientId: string; ip: string | null; atMs: number }[][] = [];
      const usage = createUsageRecorder(
        { recordUsage: async (batch) => onRecord(sent.push(batch.map((u) => ({ clientId: u.clientId, ip: u.ip, atMs: u.at.getTime() })))) },
        log,
        { intervalMs: 3_600_000 },
      );
      usage.hearAnnouncements(true);
      return { usage, sent };
    }

    it('does not send a key again from the same address for ten minutes', async () => {
      vi.useFakeTimers();
      try {
        const { usage, sent } = announcedRecorder();
        usage.seen('a', '10.0.0.1');
        await usage.flush();
        vi.advanceTimersByTime(9 * 60_000);
        usage.seen('a', '10.0.0.1');
        await usage.flush();
        expect(sent).toHaveLength(1);
        vi.advanceTimersByTime(60_000);
        usage.seen('a', '10.0.0.1');
        await usage.flush();
        await usage.close();
        expect(sent.map((batch) => batch.map((u) => u.clientId))).toEqual([['a'], ['a']]);
      } finally {
        vi.useRealTimers();
      }
    });

    it('another address announced for a key: a later sighting the replica covered is sent, and the next one too', async () => {
      vi.useFakeTimers();
      try {
        const { usage, sent } = announcedRecorder();
        usage.seen('a', '10.0.0.1'); // the attacker, through this replica
        await usage.flush();
        const ownerAt = Date.now() + 1000;
        vi.advanceTimersByTime(2000);
        usage.seen('a', '10.0.0.1'); // covered by the write above: not sent
        const attackerAt = Date.now();
        await usage.flush();
        expect(sent).toHaveLength(1);

        // Another replica wrote the owner's address, with a sighting older than the attacker's last.
        usage.writtenElsewhere([{ clientId: 'a', ip: '10.0.0.2', atMs: ownerAt }]);
        await usage.flush();
        expect(sent[1]).toEqual([{ clientId: 'a', ip: '10.0.0.1', atMs: attackerAt }]);

        // The owner's address again, newer than anything this replica saw: nothing to send, and
        // the next sighting from the attacker's address is sent at once, not after ten minutes.
        usage.writtenElsewhere([{ clientId: 'a', ip: '10.0.0.2', atMs: Date.now() + 1 }]);
        await usage.flush();
        expect(sent).toHaveLength(2);
        vi.advanceTimersByTime(1000);
        usage.seen('a', '10.0.0.1');
        await usage.flush();
        await usage.close();
        expect(sent[2]).toEqual([{ clientId: 'a', ip: '10.0.0.1', atMs: Date.now() }]);
      } finally {
        vi.useRealTimers();
      }
    });

    it('its own address announced, or another key, changes nothing', async () => {
      const { usage, sent } = announcedRecorder();
      usage.seen('a', '10.0.0.1');
      await usage.flush();
      usage.writtenElsewhere([
        { clientId: 'a', ip: '10.0.0.1', atMs: Date.now() },
        { clientId: 'b', ip: '10.0.0.2', atMs: Date.now() },
      ]);
      usage.seen('a', '10.0.0.1');
      await usage.flush();
      await usage.close();
      expect(sent).toHaveLength(1);
    });

    it('a sighting waiting to be written is not replaced by an older one the replica covered', async () => {
      vi.useFakeTimers();
      try {
        const { usage, sent } = announcedRecorder();
        usage.seen('a', '10.0.0.1');
        await usage.flush();
        vi.advanceTimersByTime(1000);
        usage.seen('a', '10.0.0.1'); // covered
        vi.advanceTimersByTime(1000);
        usage.seen('a', '10.0.0.3'); // a new address: waits, and is the newest sighting
        const newest = Date.now();
        usage.writtenElsewhere([{ clientId: 'a', ip: '10.0.0.2', atMs: newest - 1500 }]);
        await usage.flush();
        await usage.close();
        expect(sent[1]).toEqual([{ clientId: 'a', ip: '10.0.0.3', atMs: newest }]);
      } finally {
        vi.useRealTimers();
      }
    });

    it('a sighting from the previous address covered while a batch was on its way is sent after it', async () => {
      vi.useFakeTimers();
      try {
        const sent: { clientId: string; ip: string | null }[][] = [];
        let during: (() => void) | undefined;
        const usage = createUsageRecorder(
          {
            recordUsage: async (batch) => {
              sent.push(batch.map((u) => ({ clientId: u.clientId, ip: u.ip })));
              during?.();
              return [];
            },
          },
          log,
          { intervalMs: 3_600_000 },
        );
        usage.hearAnnouncements(true);
        usage.seen('a', '10.0.0.1');
        await usage.flush();
        vi.advanceTimersByTime(1000);
        usage.seen('a', '10.0.0.2');
        // While the batch naming 10.0.0.2 is written, 10.0.0.1 is seen again: the replica still
        // remembers sending 10.0.0.1, so the sighting is covered, and it is newer than the write.
        during = () => {
          during = undefined;
          vi.advanceTimersByTime(1000);
          usage.seen('a', '10.0.0.1');
        };
        await usage.flush();
        await usage.flush();
        await usage.close();
        expect(sent).toEqual([[{ clientId: 'a', ip: '10.0.0.1' }], [{ clientId: 'a', ip: '10.0.0.2' }], [{ clientId: 'a', ip: '10.0.0.1' }]]);
      } finally {
        vi.useRealTimers();
      }
    });

    it('a sighting the store reports left alone (a newer use from another address is on record) is not remembered', async () => {
      const sent: string[][] = [];
      let leftAlone: string[] = ['a'];
      const usage = createUsageRecorder(
        {
          recordUsage: async (batch) => {
            sent.push(batch.map((u) => `${u.clientId}@${u.ip}`));
            const reported = leftAlone;
            leftAlone = [];
            return reported;
          },
        },
        log,
        { intervalMs: 3_600_000 },
      );
      usage.hearAnnouncements(true);
      usage.seen('a', '10.0.0.1');
      usage.seen('b', '10.0.0.1');
      await usage.flush();
      usage.seen('a', '10.0.0.1'); // not on record: sent again
      usage.seen('b', '10.0.0.1'); // on record: covered
      await usage.flush();
      await usage.close();
      expect(sent).toEqual([['a@10.0.0.1', 'b@10.0.0.1'], ['a@10.0.0.1']]);
    });

    it('another address announced while a write is on its way, as new or newer, keeps that write from being remembered', async () => {
      const sent: string[][] = [];
      let during: (() => void) | undefined;
      const usage = createUsageRecorder(
        {
          recordUsage: async (batch) => {
            sent.push(batch.map((u) => `${u.clientId}@${u.ip}`));
            during?.();
            return [];
          },
        },
        log,
        { intervalMs: 3_600_000 },
      );
      usage.hearAnnouncements(true);
      usage.seen('a', '10.0.0.1');
      usage.seen('b', '10.0.0.1');
      during = () => {
        during = undefined;
        usage.writtenElsewhere([
          { clientId: 'a', ip: '10.0.0.2', atMs: Date.now() + 1 },
          { clientId: 'b', ip: '10.0.0.2', atMs: 0 }, // older than the write on its way: it stands
        ]);
      };
      await usage.flush();
      usage.seen('a', '10.0.0.1');
      usage.seen('b', '10.0.0.1');
      await usage.flush();
      await usage.close();
      expect(sent).toEqual([['a@10.0.0.1', 'b@10.0.0.1'], ['a@10.0.0.1']]);
    });

    it('when announcements stop, a minute; when they resume, nothing remembered is trusted', async () => {
      vi.useFakeTimers();
      try {
        const { usage, sent } = announcedRecorder();
        usage.seen('a', '10.0.0.1');
        usage.seen('b', '10.0.0.1');
        await usage.flush();
        usage.hearAnnouncements(false);
        vi.advanceTimersByTime(60_000);
        usage.seen('a', '10.0.0.1');
        await usage.flush();
        expect(sent[1]).toEqual([{ clientId: 'a', ip: '10.0.0.1', atMs: Date.now() }]);

        usage.hearAnnouncements(true);
        usage.seen('a', '10.0.0.1');
        await usage.flush();
        await usage.close();
        expect(sent[2]).toEqual([{ clientId: 'a', ip: '10.0.0.1', atMs: Date.now() }]);
      } finally {
        vi.useRealTimers();
      }
    });
  });
});
