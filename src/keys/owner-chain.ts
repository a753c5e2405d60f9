// The owner rule along the whole creator chain: a key works only while its creator may still create
// keys, and that creator only while its own creator may, and so on up to a user or the system.
// Snapshots hold their direct creator's standing; this follows the chain through the (cached) key
// lookup and remembers the answer per snapshot. A snapshot is replaced whenever any key in its
// chain changes (a key that created others flushes every cached key), so the memo never outlives
// the facts it was computed from. The key cache's periodic re-read is the safety net under that
// rule (a change the feed never reported): it keeps the snapshots of keys that did not change, so
// the memo is forgotten after each re-read and every chain is followed again against what it read.
import type { KeyLookup, KeySnapshot } from './model.ts';

/** Longer chains are refused at creation (keys/authority.ts), so a deeper one is corruption: it fails closed. */
export const MAX_CREATOR_CHAIN = 32;

const standing = (key: KeySnapshot) => key.creator === 'system' || key.creator === 'active';

/**
 * `rereads` counts the key cache's completed re-reads of every key (absent without a cache: every
 * lookup then reads the database, and each read is a new snapshot).
 */
export function createOwnerChain(lookup: KeyLookup, rereads: () => number = () => 0) {
  let memo = new WeakMap<KeySnapshot, KeySnapshot>();
  let memoFromReread = rereads();

  // `resolved` is the memo as it was when the request began: an answer worked out while a
  // re-read ended goes into the memo being forgotten, not into the new one.
  async function resolve(key: KeySnapshot, depth: number, resolved: WeakMap<KeySnapshot, KeySnapshot>): Promise<KeySnapshot> {
    // Nothing to follow (no creating key, or already stopped): the snapshot is its own answer, and
    // remembering that would cost a memo entry for each such key that is ever used.
    if (key.createdByKeyId === null || !standing(key)) return key;
    const known = resolved.get(key);
    if (known) return known;
    let result = key;
    const creator = depth < MAX_CREATOR_CHAIN ? await lookup(key.createdByKeyId) : undefined;
    const creatorStands = creator !== undefined && standing(await resolve(creator, depth + 1, resolved));
    if (!creatorStands) result = Object.freeze({ ...key, creator: 'inactive' as const });
    resolved.set(key, result);
    return result;
  }

  /** `lookup`, with each key's `creator` reflecting its whole creator chain. */
  return async function findWithOwnerChain(clientId: string): Promise<KeySnapshot | undefined> {
    const reread = rereads();
    if (reread !== memoFromReread) {
      memo = new WeakMap();
      memoFromReread = reread;
    }
    const resolved = memo;
    const key = await lookup(clientId);
    return key && resolve(key, 0, resolved);
  };
}

/** The keys above `key` in its creator chain, nearest first (for "never manage your own creator"). */
export async function creatorChainOf(key: KeySnapshot, lookup: KeyLookup): Promise<string[]> {
  const chain: string[] = [];
  let next = key.createdByKeyId;
  while (next !== null && chain.length < MAX_CREATOR_CHAIN && !chain.includes(next)) {
    chain.push(next);
    next = (await lookup(next))?.createdByKeyId ?? null;
  }
  return chain;
}
