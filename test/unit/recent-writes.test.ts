import { describe, expect, it } from 'vitest';
import { RecentWrites } from '../../src/keys/recent-writes.ts';

describe('recent writes of the last-use recorder', () => {
  it('knows a key written from the same address within the window, and only that', () => {
    const writes = new RecentWrites();
    writes.record('a', 1000, '10.0.0.1');
    expect(writes.wroteRecently('a', '10.0.0.1', 1500, 1000)).toBe(true);
    expect(writes.wroteRecently('a', '10.0.0.2', 1500, 1000)).toBe(false);
    expect(writes.wroteRecently('a', '10.0.0.1', 2000, 1000)).toBe(false);
    expect(writes.wroteRecently('b', '10.0.0.1', 1500, 1000)).toBe(false);
    writes.record('a', 1800, null);
    expect(writes.wroteRecently('a', null, 2000, 1000)).toBe(true);
    expect(writes.wroteRecently('a', '10.0.0.1', 1500, 1000)).toBe(false);
  });

  it('forgets old writes oldest first, and a key written again lives from its newest write', () => {
    const writes = new RecentWrites();
    // Enough old writes that forgetting them compacts the arrays and renumbers what is left.
    for (let i = 0; i < 5000; i++) writes.record(`old-${i}`, 0, '10.0.0.1');
    writes.record('old-7', 900, '10.0.0.1');
    for (let i = 0; i < 100; i++) writes.record(`new-${i}`, 1000, '10.0.0.2');
    writes.forgetOlderThan(1500, 1000);
    expect(writes.size).toBe(101);
    expect(writes.wroteRecently('old-6', '10.0.0.1', 1500, 1000)).toBe(false);
    expect(writes.wroteRecently('old-7', '10.0.0.1', 1500, 1000)).toBe(true);
    expect(writes.wroteRecently('new-99', '10.0.0.2', 1500, 1000)).toBe(true);

    writes.record('new-5', 1600, '10.0.0.3');
    writes.forgetOlderThan(1950, 1000);
    expect(writes.size).toBe(100);
    expect(writes.wroteRecently('old-7', '10.0.0.1', 1950, 1000)).toBe(false);
    expect(writes.wroteRecently('new-5', '10.0.0.3', 1950, 1000)).toBe(true);
    writes.forgetOlderThan(2100, 1000);
    expect(writes.size).toBe(1);
    expect(writes.wroteRecently('new-5', '10.0.0.3', 2100, 1000)).toBe(true);
  });

  it('drops the holes of keys written again while an older write keeps the head in place', () => {
    const writes = new RecentWrites();
    writes.record('steady', 0, '10.0.0.1'); // live for the whole window: the head stays here
    // 2,000 keys written again every flush from a new address, for 100 flushes.
    for (let flush = 1; flush <= 100; flush++) {
      for (let i = 0; i < 2000; i++) writes.record(`moving-${i}`, flush, `10.0.${flush % 2}.${i % 250}`);
      writes.forgetOlderThan(flush, 1000);
      expect(writes.slots).toBeLessThanOrEqual(2 * writes.size + 2000);
    }
    expect(writes.size).toBe(2001);
    expect(writes.wroteRecently('steady', '10.0.0.1', 100, 1000)).toBe(true);
    expect(writes.wroteRecently('moving-1999', '10.0.0.249', 100, 1000)).toBe(true);
    expect(writes.wroteRecently('moving-1999', '10.0.1.249', 100, 1000)).toBe(false);
    writes.forgetOlderThan(1000, 1000); // 'steady' is forgotten; the rest stay
    expect(writes.size).toBe(2000);
    expect(writes.wroteRecently('moving-0', '10.0.0.0', 1000, 1000)).toBe(true);
  });

  it('remembers the latest sighting a write covered, through compaction; forgets one key or all', () => {
    const writes = new RecentWrites();
    writes.record('a', 1000, '10.0.0.1');
    expect(writes.latest('a')).toEqual({ ip: '10.0.0.1', seenMs: 1000 });
    expect(writes.covers('a', '10.0.0.1', 1400, 1000)).toBe(true);
    expect(writes.covers('a', '10.0.0.2', 1500, 1000)).toBe(false);
    expect(writes.covers('a', '10.0.0.1', 2000, 1000)).toBe(false);
    expect(writes.latest('a')).toEqual({ ip: '10.0.0.1', seenMs: 1400 });

    // Many holes ahead of 'a' make the next forgetting pass compact the arrays.
    for (let i = 0; i < 3000; i++) writes.record(`other-${i}`, 1500, '10.0.0.9');
    for (let i = 0; i < 3000; i++) writes.forget(`other-${i}`);
    writes.forgetOlderThan(1600, 1000);
    expect(writes.slots).toBe(1);
    expect(writes.latest('a')).toEqual({ ip: '10.0.0.1', seenMs: 1400 });

    writes.record('b', 1700, null);
    writes.forget('a');
    expect(writes.latest('a')).toBeUndefined();
    expect(writes.covers('a', '10.0.0.1', 1700, 1000)).toBe(false);
    expect(writes.latest('b')).toEqual({ ip: null, seenMs: 1700 });
    writes.clear();
    expect(writes.size).toBe(0);
    expect(writes.latest('b')).toBeUndefined();
  });
});
