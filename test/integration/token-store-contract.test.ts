// The Redis store and the in-memory store keep one contract (src/stores/tokens.ts).
import { describe, expect, inject, it } from 'vitest';
import { createMemoryTokenStore } from '../../src/stores/tokens-memory.ts';
import { createRedisTokenStore } from '../../src/stores/tokens-redis.ts';
import type { TokenRecord, TokenStore } from '../../src/stores/tokens.ts';

const redisUrl = inject('redisUrl');
const stores: [string, (() => TokenStore) | undefined][] = [
  ['memory', createMemoryTokenStore],
  ['redis', redisUrl ? () => createRedisTokenStore(redisUrl) : undefined],
];

let counter = 0;
const unique = (prefix: string) => `${prefix}${process.pid}x${Date.now()}x${(counter += 1)}`;
const record = (clientId: string, ttl = 60): TokenRecord => {
  const iat = Math.floor(Date.now() / 1000);
  return { clientId, scope: 'a:read b:write', iat, exp: iat + ttl, generation: 1, epoch: 0 };
};

for (const [name, create] of stores) {
  describe(`${name} token store`, () => {
    const withStore = async (test: (store: TokenStore) => Promise<void>) => {
      const store = create!();
      try {
        await test(store);
      } finally {
        await store.close();
      }
    };

    it('finds what it saved, and nothing else', () =>
      withStore(async (store) => {
        const client = unique('kg_c');
        const saved = record(client);
        await store.save(unique('h'), saved).then(() => undefined);
        const hash = unique('h');
        await store.save(hash, saved);
        expect(await store.find(hash)).toEqual(saved);
        expect(await store.find(unique('missing'))).toBeUndefined();
      }));

    it('destroys one record', () =>
      withStore(async (store) => {
        const hash = unique('h');
        await store.save(hash, record(unique('kg_c')));
        await store.destroy(hash);
        expect(await store.find(hash)).toBeUndefined();
      }));

    it('drops every live record of one key and leaves other keys alone', () =>
      withStore(async (store) => {
        const [a, b] = [unique('kg_a'), unique('kg_b')];
        const hashesA = [unique('h'), unique('h'), unique('h')];
        const hashB = unique('h');
        const savedB = record(b);
        for (const hash of hashesA) await store.save(hash, record(a));
        await store.save(hashB, savedB);
        expect(await store.destroyAllForKey(a)).toBe(3);
        for (const hash of hashesA) expect(await store.find(hash)).toBeUndefined();
        expect(await store.find(hashB)).toEqual(savedB);
        expect(await store.destroyAllForKey(a)).toBe(0);
      }));

    it('does not keep a record past its expiry', () =>
      withStore(async (store) => {
        const hash = unique('h');
        const now = Math.floor(Date.now() / 1000);
        await store.save(hash, { clientId: unique('kg_c'), scope: '', iat: now - 10, exp: now + 1, generation: 1, epoch: 0 });
        expect(await store.find(hash)).toBeDefined();
        await new Promise((r) => setTimeout(r, 2100));
        expect(await store.find(hash)).toBeUndefined();
      }));

    it('answers ping', () =>
      withStore(async (store) => {
        await expect(store.ping()).resolves.toBeUndefined();
      }));
  });
}
