// Single use of signed one-time proofs: a client assertion's jti (RFC 7523) and a DPoP proof's
// jti (RFC 9449) are remembered until the proof could no longer be accepted anyway. Redis when
// configured (every replica refuses a proof any replica saw; one SET NX per proof, so the first
// use wins even when two arrive at once), process memory for the embedded default. The Redis store
// rides on a connection it does not own (the abuse counters'): whoever made the connection closes it.
import type { Cluster, Redis } from 'ioredis';
import { StoreUnavailableError } from '../shared/store-failures.ts';

export interface ReplayStore {
  /** True the first time `id` is seen before `expiresAtSeconds` (epoch seconds), false ever after. */
  firstUse(id: string, expiresAtSeconds: number): Promise<boolean>;
  close(): Promise<void>;
}

export const REPLAY_KEY_PREFIX = 'kg:r:';

export function createRedisReplayStore(redis: Redis | Cluster): ReplayStore {
  return {
    async firstUse(id, expiresAtSeconds) {
      // At least a second: a proof whose window already closed is refused by its verifier anyway.
      const exat = Math.max(expiresAtSeconds, Math.floor(Date.now() / 1000) + 1);
      try {
        return (await redis.set(`${REPLAY_KEY_PREFIX}${id}`, '', 'EXAT', exat, 'NX')) === 'OK';
      } catch (error) {
        throw new StoreUnavailableError('redis', 'replay', { cause: error });
      }
    },
    async close() {},
  };
}

const SWEEP_INTERVAL_MS = 60_000;

/**
 * Not size-bounded on purpose: dropping a remembered proof early would let it be replayed. Each
 * entry lives only as long as its proof could be accepted (minutes), and a proof is remembered
 * only after its signature checked out, so only holders of a key's credentials can add entries.
 */
export function createMemoryReplayStore(): ReplayStore {
  const seen = new Map<string, number>();
  const sweep = setInterval(() => {
    const now = Date.now();
    for (const [id, expiresAt] of seen) if (expiresAt <= now) seen.delete(id);
  }, SWEEP_INTERVAL_MS);
  sweep.unref();
  return {
    async firstUse(id, expiresAtSeconds) {
      const known = seen.get(id);
      if (known !== undefined && known > Date.now()) return false;
      seen.set(id, expiresAtSeconds * 1000);
      return true;
    },
    async close() {
      clearInterval(sweep);
    },
  };
}
