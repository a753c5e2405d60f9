import { describe, expect, it } from 'vitest';
import { createKeyCache } from '../../src/keys/key-cache.ts';
import type { KeySnapshot } from '../../src/keys/model.ts';

const snapshot = (clientId: string, status: 'active' | 'disabled' = 'active') => ({ clientId, status }) as KeySnapshot;

function counted(values: Map<string, KeySnapshot>) {
  const calls: string[] = [];
  return { calls, load: async (id: string) => (calls.push(id), values.get(id)) };
}

describe('key cache', () => {
  it('bypasses the cache until the change feed is live', async () => {
    const source = counted(new Map([['a', snapshot('a')]]));
    const results: string[] = [];
    const cache = createKeyCache({ load: source.load, onLookup: (r) => results.push(r) });
    await cache.get('a');
    await cache.get('a');
    expect(source.calls).toEqual(['a', 'a']);
    expect(results).toEqual(['bypass', 'bypass']);
  });

  it('serves hits once trusted, and loads again after an invalidation', async () => {
    const values = new Map([['a', snapshot('a')]]);
    const source = counted(values);
    const cache = createKeyCache({ load: source.load });
    cache.setTrusted(true);
    expect(await cache.get('a')).toEqual(snapshot('a'));
    values.set('a', snapshot('a', 'disabled'));
    expect((await cache.get('a'))!.status).toBe('active');
    cache.invalidate('a');
    expect((await cache.get('a'))!.status).toBe('disabled');
    expect(source.calls).toEqual(['a', 'a']);
  });

  it('caches unknown keys too, until invalidated', async () => {
    const source = counted(new Map());
    const cache = createKeyCache({ load: source.load });
    cache.setTrusted(true);
    expect(await cache.get('x')).toBeUndefined();
    expect(await cache.get('x')).toBeUndefined();
    cache.invalidate('*');
    await cache.get('x');
    expect(source.calls).toEqual(['x', 'x']);
  });

  it('does not keep a load that raced with an invalidation', async () => {
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const values = new Map([['a', snapshot('a')]]);
    let loads = 0;
    const cache = createKeyCache({
      load: async (id) => {
        loads += 1;
        const v = values.get(id);
        if (loads === 1) await gate;
        return v;
      },
    });
    cache.setTrusted(true);
    const slow = cache.get('a'); // reads "active", then waits
    values.set('a', snapshot('a', 'disabled'));
    cache.invalidate('a'); // the change lands while the first load is in flight
    release();
    expect((await slow)!.status).toBe('active');
    expect((await cache.get('a'))!.status).toBe('disabled');
  });

  it('forgets everything when the feed is lost, and bypasses until it is back', async () => {
    const source = counted(new Map([['a', snapshot('a')]]));
    const cache = createKeyCache({ load: source.load });
    cache.setTrusted(true);
    await cache.get('a');
    cache.setTrusted(false);
    expect(cache.size).toBe(0);
    await cache.get('a');
    expect(cache.size).toBe(0);
    expect(source.calls).toEqual(['a', 'a']);
  });

  it('expires entries after the TTL and keeps at most maxEntries', async () => {
    const source = counted(
      new Map([
        ['a', snapshot('a')],
        ['b', snapshot('b')],
      ]),
    );
    const cache = createKeyCache({ load: source.load, ttlMs: 20, maxEntries: 1 });
    cache.setTrusted(true);
    await cache.get('a');
    await cache.get('b');
    expect(cache.size).toBe(1);
    await new Promise((r) => setTimeout(r, 30));
    await cache.get('b');
    expect(source.calls).toEqual(['a', 'b', 'b']);
  });

  describe('warm()', () => {
    const keys = ['a', 'b', 'c', 'd', 'e'].map((id) => snapshot(id));
    /** Pages of `keys` in client_id order, as the key store lists them. */
    function pages(onPage?: (after: string | undefined) => void) {
      const asked: (string | undefined)[] = [];
      return {
        asked,
        loadPage: async (after: string | undefined, limit: number) => {
          asked.push(after);
          onPage?.(after);
          return keys.filter((k) => after === undefined || k.clientId > after).slice(0, limit);
        },
      };
    }

    it('loads every key a page at a time, after which lookups are hits', async () => {
      const source = counted(new Map());
      const listing = pages();
      const results: string[] = [];
      const cache = createKeyCache({ load: source.load, loadPage: listing.loadPage, onLookup: (r) => results.push(r) });
      cache.setTrusted(true);
      expect(await cache.warm(2)).toBe(5);
      expect(listing.asked).toEqual([undefined, 'b', 'd']);
      for (const id of ['a', 'c', 'e']) expect((await cache.get(id))?.clientId).toBe(id);
      expect(source.calls).toEqual([]);
      expect(results).toEqual(['hit', 'hit', 'hit']);
    });

    it('does nothing while the change feed is not live', async () => {
      const listing = pages();
      const cache = createKeyCache({ load: counted(new Map()).load, loadPage: listing.loadPage });
      expect(await cache.warm(2)).toBe(0);
      expect(listing.asked).toEqual([]);
    });

    it('keeps no page that raced with an invalidation: those keys load on demand, fresh', async () => {
      const values = new Map(keys.map((k) => [k.clientId, k]));
      const source = counted(values);
      let cache: ReturnType<typeof createKeyCache>;
      const listing = pages((after) => {
        if (after === 'b') {
          values.set('c', snapshot('c', 'disabled')); // changed while the page was read
          cache.invalidate('c');
        }
      });
      cache = createKeyCache({ load: source.load, loadPage: listing.loadPage });
      cache.setTrusted(true);
      expect(await cache.warm(2)).toBe(3); // pages [a, b] and [e]; [c, d] raced
      expect((await cache.get('c'))?.status).toBe('disabled');
      expect(source.calls).toEqual(['c']);
    });

    it('renews the keys it already holds even when full, and loses none of them', async () => {
      const values = new Map(keys.map((k) => [k.clientId, k]));
      const cache = createKeyCache({ load: counted(values).load, loadPage: pages().loadPage, maxEntries: 3 });
      cache.setTrusted(true);
      for (const id of ['a', 'b', 'c']) await cache.get(id);
      expect(await cache.warm(2)).toBe(3);
      expect(cache.size).toBe(3);
      const results: string[] = [];
      const probe = createKeyCache({ load: counted(values).load, loadPage: pages().loadPage, maxEntries: 3, onLookup: (r) => results.push(r) });
      probe.setTrusted(true);
      for (const id of ['a', 'b', 'c']) await probe.get(id);
      await probe.warm(2);
      for (const id of ['a', 'b', 'c']) await probe.get(id);
      expect(results).toEqual(['miss', 'miss', 'miss', 'hit', 'hit', 'hit']);
    });

    it('stops at maxEntries', async () => {
      const cache = createKeyCache({ load: counted(new Map()).load, loadPage: pages().loadPage, maxEntries: 3 });
      cache.setTrusted(true);
      expect(await cache.warm(2)).toBe(3);
      expect(cache.size).toBe(3);
    });
  });
});
