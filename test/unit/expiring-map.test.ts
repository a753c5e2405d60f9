import { describe, expect, it } from 'vitest';
import { ExpiringMap } from '../../src/stores/expiring-map.ts';

function clock(start = 1_000_000) {
  let now = start;
  return { now: () => now, advance: (ms: number) => void (now += ms) };
}

describe('ExpiringMap', () => {
  it('returns a value until it expires, then nothing', () => {
    const time = clock();
    const map = new ExpiringMap<number>(10, time.now);
    map.set('a', 1, time.now() + 1000);
    time.advance(999);
    expect(map.get('a')).toBe(1);
    time.advance(1);
    expect(map.get('a')).toBeUndefined();
    expect(map.size).toBe(0);
  });

  it('at the bound drops expired entries, keeping every live one', () => {
    const time = clock();
    const map = new ExpiringMap<string>(3, time.now);
    map.set('live', 'kept', time.now() + 60_000);
    map.set('short-1', 'x', time.now() + 1000);
    map.set('short-2', 'x', time.now() + 1000);
    time.advance(1000);
    map.set('new', 'y', time.now() + 60_000);
    expect([map.get('live'), map.get('new'), map.size]).toEqual(['kept', 'y', 2]);
  });

  it('drops an expired entry before a live one even when the live one is older', () => {
    const time = clock();
    const map = new ExpiringMap<string>(2, time.now);
    map.set('old-live', 'kept', time.now() + 60_000);
    map.set('young-expired', 'x', time.now() + 1000);
    time.advance(1000);
    map.set('new', 'y', time.now() + 60_000);
    expect([map.get('old-live'), map.get('young-expired'), map.get('new')]).toEqual(['kept', undefined, 'y']);
  });

  it('when every entry is live, drops only the least recently written one', () => {
    const time = clock();
    const map = new ExpiringMap<number>(3, time.now);
    const until = time.now() + 60_000;
    map.set('a', 1, until);
    map.set('b', 2, until);
    map.set('c', 3, until);
    map.set('a', 10, until); // rewritten: now the most recent
    map.set('d', 4, until);
    expect(['a', 'b', 'c', 'd'].map((k) => map.get(k))).toEqual([10, undefined, 3, 4]);
  });

  it('never holds more than its bound', () => {
    const time = clock();
    const map = new ExpiringMap<number>(5, time.now);
    for (let i = 0; i < 100; i++) map.set(`k${i}`, i, time.now() + 60_000);
    expect(map.size).toBe(5);
    expect(['k95', 'k96', 'k97', 'k98', 'k99'].map((k) => map.get(k))).toEqual([95, 96, 97, 98, 99]);
  });
});
