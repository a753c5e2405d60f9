import { describe, expect, it } from 'vitest';
import { batchLoads } from '../../src/keys/batched-loads.ts';

describe('batched key loads', () => {
  const recording = (known: ReadonlyMap<string, string>) => {
    const queries: string[][] = [];
    const load = batchLoads(async (ids) => {
      queries.push([...ids]);
      return new Map(ids.filter((id) => known.has(id)).map((id) => [id, known.get(id)!]));
    });
    return { load, queries };
  };

  it('answers every lookup of one turn with one query, the same id once, and undefined for what is not there', async () => {
    const { load, queries } = recording(
      new Map([
        ['a', 'A'],
        ['b', 'B'],
      ]),
    );
    const answers = await Promise.all([load('a'), load('b'), load('a'), load('missing')]);
    expect(answers).toEqual(['A', 'B', 'A', undefined]);
    expect(queries).toEqual([['a', 'b', 'missing']]);
  });

  it('starts a new query for lookups made after a batch was sent', async () => {
    const { load, queries } = recording(new Map([['a', 'A']]));
    expect(await load('a')).toBe('A');
    expect(await load('a')).toBe('A');
    expect(queries).toHaveLength(2);
  });

  it('splits a large turn into queries of at most 500 keys', async () => {
    const ids = Array.from({ length: 1201 }, (_, i) => `k${i}`);
    const { load, queries } = recording(new Map(ids.map((id) => [id, id.toUpperCase()])));
    const answers = await Promise.all(ids.map(load));
    expect(answers).toEqual(ids.map((id) => id.toUpperCase()));
    expect(queries.map((q) => q.length)).toEqual([500, 500, 201]);
  });

  it('fails every lookup of a batch whose query failed, and recovers for the next one', async () => {
    let fail = true;
    const load = batchLoads(async (ids) => {
      if (fail) throw new Error('connection terminated');
      return new Map(ids.map((id) => [id, id]));
    });
    const results = await Promise.allSettled([load('a'), load('b')]);
    expect(results.map((r) => r.status)).toEqual(['rejected', 'rejected']);
    fail = false;
    expect(await load('a')).toBe('a');
  });
});

describe('batched key loads under a storm', () => {
  it('keeps at most two queries out; lookups made meanwhile share the next query', async () => {
    const queries: string[][] = [];
    const pending: (() => void)[] = [];
    let out = 0;
    let mostOut = 0;
    const load = batchLoads(async (ids) => {
      queries.push([...ids]);
      out += 1;
      mostOut = Math.max(mostOut, out);
      await new Promise<void>((resolve) => pending.push(resolve));
      out -= 1;
      return new Map(ids.map((id) => [id, id.toUpperCase()]));
    });
    const turn = () => new Promise((resolve) => setImmediate(resolve));
    const answers: Promise<string | undefined>[] = [];
    // Three turns of lookups while the first two queries are held open.
    for (const ids of [['a'], ['b'], ['c', 'd'], ['e', 'c']]) {
      answers.push(...ids.map(load));
      await turn();
    }
    expect(queries).toEqual([['a'], ['b']]);
    // One query returns: everything that waited goes out together, each id once.
    pending.shift()!();
    await turn();
    await turn();
    expect(queries).toEqual([['a'], ['b'], ['c', 'd', 'e']]);
    while (pending.length > 0) {
      pending.shift()!();
      await turn();
    }
    expect(await Promise.all(answers)).toEqual(['A', 'B', 'C', 'D', 'E', 'C']);
    expect(mostOut).toBe(2);
  });
});

describe('batched key loads with stuck queries', () => {
  it('a query that never answers gives up its place: later lookups get queries of their own', async () => {
    const queries: string[][] = [];
    const load = batchLoads(async (ids) => {
      queries.push([...ids]);
      // A backend that never answers.
      if (ids.some((id) => id.startsWith('stuck'))) return new Promise<never>(() => {});
      return new Map(ids.map((id) => [id, id.toUpperCase()]));
    });
    const turn = () => new Promise((resolve) => setImmediate(resolve));
    void load('stuck-1');
    await turn();
    void load('stuck-2');
    await turn();
    expect(queries).toEqual([['stuck-1'], ['stuck-2']]);
    // Both places are taken by queries that will never answer; this lookup must still be served.
    const answer = await Promise.race([load('fresh'), new Promise((resolve) => setTimeout(() => resolve('still waiting after 5 s'), 5_000))]);
    expect(answer).toBe('FRESH');
  });
});
