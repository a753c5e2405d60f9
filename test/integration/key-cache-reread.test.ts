// The key cache reads every key again every few minutes: the safety net under the change feed.
// That pass keeps the snapshot object of a key that did not change, so what was remembered about
// it (the secret that matched it) stays, and a large fleet does not prove every secret again after
// each pass. The attack: a change the feed never reported, made to a key higher in a creator chain
// than the one presenting itself, must still stop that key once a pass has ended. Over the real
// snapshot reader and Postgres; this cache hears no change feed at all, so every write below is
// one it missed.
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createKeyCache } from '../../src/keys/key-cache.ts';
import { createOwnerChain } from '../../src/keys/owner-chain.ts';
import { createSnapshotReader } from '../../src/keys/snapshot.ts';
import type { CreatedKey } from '../../src/keys/types.ts';
import { newKeyFor, startKeygate, type TestKeygate } from '../support/keygate.ts';

describe('key cache re-read: unchanged keys keep their snapshot, missed changes still land', () => {
  let keygate: TestKeygate;
  let tenantId: string;

  beforeAll(async () => {
    keygate = await startKeygate({ tokenStore: 'memory' });
    tenantId = await keygate.newTenant();
  }, 60_000);
  afterAll(async () => {
    await keygate?.close();
  });

  /** A cache over the real snapshot reader, trusted, with the owner chain as the server wires it. */
  function cacheOverDatabase() {
    const snapshots = createSnapshotReader(keygate.runtime.keys, keygate.runtime.config.roleScopes);
    const cache = createKeyCache({
      load: async (clientId) => (await snapshots.findMany([clientId])).get(clientId),
      loadPage: (after, limit) => snapshots.listPage(after, limit),
    });
    cache.setTrusted(true);
    const findKey = createOwnerChain(
      (clientId) => cache.get(clientId),
      () => cache.passesEnded,
    );
    return { cache, findKey };
  }

  /** A key created by `creator` (a key holding admin:keys:write), as the admin API records it. */
  const createdBy = (creator: CreatedKey, name: string, scopes = ['devices:read']) =>
    keygate.runtime.keyService.create(newKeyFor(tenantId, { name, scopes }), { keyId: creator.key.client_id, userId: null, via: 'test' });

  it('keeps the snapshot of a key that did not change, and replaces the one that did', async () => {
    const untouched = await keygate.createKey(tenantId, { name: 'untouched' });
    const changed = await keygate.createKey(tenantId, { name: 'changed', rateLimitPerMinute: 100 });
    const { cache } = cacheOverDatabase();
    await cache.warm();
    const untouchedBefore = await cache.get(untouched.key.client_id);
    const changedBefore = await cache.get(changed.key.client_id);
    expect(untouchedBefore?.rateLimitPerMinute).toBeNull();

    await sql`update api_keys set rate_limit_per_minute = 5 where client_id = ${changed.key.client_id}`.execute(keygate.runtime.db);
    await cache.warm();

    expect(await cache.get(untouched.key.client_id)).toBe(untouchedBefore);
    const changedAfter = await cache.get(changed.key.client_id);
    expect(changedAfter).not.toBe(changedBefore);
    expect(changedAfter?.rateLimitPerMinute).toBe(5);
  });

  it('a creator two links up, disabled without a notification, stops the key once a pass has ended', async () => {
    const root = await keygate.createKey(tenantId, { name: 'provisioning root', scopes: ['admin:keys:write'] });
    const middle = await createdBy(root, 'provisioning middle', ['admin:keys:write']);
    const leaf = await createdBy(middle, 'device key');
    const { cache, findKey } = cacheOverDatabase();
    await cache.warm();
    expect((await findKey(leaf.key.client_id))?.creator).toBe('active');
    const leafBefore = await cache.get(leaf.key.client_id);

    // The attacker's hope: the leaf's own row does not change when the root is disabled, so a
    // pass that keeps the leaf's snapshot could keep the answer worked out for it too.
    await sql`update api_keys set status = 'disabled' where client_id = ${root.key.client_id}`.execute(keygate.runtime.db);
    await cache.warm();

    expect(await cache.get(leaf.key.client_id)).toBe(leafBefore);
    expect((await cache.get(middle.key.client_id))?.creator).toBe('inactive');
    expect((await findKey(leaf.key.client_id))?.creator).toBe('inactive');
  });
});
