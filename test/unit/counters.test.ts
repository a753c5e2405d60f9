import { describe, expect, it } from 'vitest';
import { createMemoryCounters } from '../../src/stores/counters.ts';

function clock(start: number) {
  let now = start;
  return { now: () => now, advance: (ms: number) => void (now += ms) };
}

// Window boundaries are multiples of the window length since the epoch: start on one.
const WINDOW_START = 1_800_000_000_000;

describe('memory counters', () => {
  it('counts within a window and starts again in the next one', async () => {
    const time = clock(WINDOW_START);
    const counters = createMemoryCounters({ now: time.now });
    await counters.hit('a', 60);
    expect(await counters.hit('a', 60)).toEqual({ count: 2, resetInSeconds: 60, resetsAt: WINDOW_START + 60_000 });
    time.advance(60_000);
    expect(await counters.hit('a', 60)).toEqual({ count: 1, resetInSeconds: 60, resetsAt: WINDOW_START + 120_000 });
  });

  it('when full, keeps a live count at its limit and drops expired counts instead', async () => {
    const time = clock(WINDOW_START);
    const counters = createMemoryCounters({ maxEntries: 4, now: time.now });
    for (let i = 0; i < 10; i++) await counters.hit('locked-pair', 60);
    for (let i = 0; i < 3; i++) await counters.hit(`short-${i}`, 1);
    time.advance(1000);
    for (let i = 0; i < 3; i++) await counters.hit(`new-${i}`, 60);
    expect((await counters.hit('locked-pair', 60)).count).toBe(11);
  });

  it('when full of live counts, drops only the least recently counted one, never all of them', async () => {
    const time = clock(WINDOW_START);
    const counters = createMemoryCounters({ maxEntries: 3, now: time.now });
    for (const name of ['a', 'b', 'c', 'a', 'a']) await counters.hit(name, 60);
    await counters.hit('d', 60); // the map is full: 'b' is the least recently counted
    expect([(await counters.hit('a', 60)).count, (await counters.hit('c', 60)).count]).toEqual([4, 2]);
    expect((await counters.hit('b', 60)).count).toBe(1);
  });
});
