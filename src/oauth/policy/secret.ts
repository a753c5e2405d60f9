// The secret must be well formed (checksum, no store touched), then match the current
// secret or the previous one while its rotation grace lasts. Comparisons are constant-time.
import { hash, timingSafeEqual } from 'node:crypto';
import type { KeySnapshot } from '../../keys/model.ts';
import { isWellFormedClientSecret } from '../../crypto/credentials.ts';
import { verifySecret, type PepperRing } from '../../crypto/secret-hash.ts';

export function checkSecretFormat(secret: string): 'ok' | 'malformed_secret' {
  return isWellFormedClientSecret(secret) ? 'ok' : 'malformed_secret';
}

/** Which secret matched: tokens remember it, so they end with their secret's grace period. */
export type SecretMatch = 'current' | 'previous' | 'secret_mismatch';

type SecretHashes = Pick<KeySnapshot, 'secretHash' | 'previousSecretHash' | 'previousSecretExpiresAt'>;

/**
 * Secrets that already matched, as SHA-256 digests, per key snapshot object and pepper ring.
 * Every request authenticates (introspection: the resource server's key, every time), and an
 * HMAC with a fresh OpenSSL context costs several times a one-shot SHA-256. A snapshot is immutable and any change
 * to its key (rotation, disabling, deletion) replaces it in the key cache, so what matched one
 * snapshot keeps matching it; a replaced snapshot takes its memo with it (WeakMap). Only matches
 * are kept: a wrong secret always takes the HMAC path. The digest of a random 256-bit-class
 * secret reveals nothing usable, and the pepper sits in the same memory anyway.
 */
interface Matched {
  ring: PepperRing;
  current?: Buffer;
  previous?: Buffer;
}
const matchedSecrets = new WeakMap<SecretHashes, Matched>();

const sameDigest = (known: Buffer | undefined, digest: Buffer) => known !== undefined && timingSafeEqual(known, digest);

export function checkSecret(ring: PepperRing, key: SecretHashes, secret: string, now: Date): SecretMatch {
  const digest = hash('sha256', secret, 'buffer');
  let matched = matchedSecrets.get(key);
  if (matched?.ring !== ring) matched = undefined;
  if (sameDigest(matched?.current, digest)) return 'current';
  const inGrace = isInGrace(key, now);
  if (inGrace && sameDigest(matched?.previous, digest)) return 'previous';

  if (verifySecret(ring, key.secretHash, secret)) {
    remember(ring, key, matched, { current: digest });
    return 'current';
  }
  if (inGrace && verifySecret(ring, key.previousSecretHash!, secret)) {
    remember(ring, key, matched, { previous: digest });
    return 'previous';
  }
  return 'secret_mismatch';
}

function remember(ring: PepperRing, key: SecretHashes, matched: Matched | undefined, digest: { current: Buffer } | { previous: Buffer }): void {
  const kept: Matched = { ring, current: matched?.current, previous: matched?.previous };
  if ('current' in digest) kept.current = pooled(digest.current);
  else kept.previous = pooled(digest.previous);
  matchedSecrets.set(key, kept);
}

/**
 * A copy in Node's shared buffer pool: a digest kept for every key that ever matched is then a
 * view of a shared slab, not an allocation of its own.
 */
function pooled(digest: Buffer): Buffer {
  const copy = Buffer.allocUnsafe(digest.length);
  digest.copy(copy);
  return copy;
}

export function isInGrace(key: Pick<KeySnapshot, 'previousSecretHash' | 'previousSecretExpiresAt'>, now: Date): boolean {
  return key.previousSecretHash !== null && key.previousSecretExpiresAt !== null && key.previousSecretExpiresAt.getTime() > now.getTime();
}

/** The generation number of the secret that matched. */
export function matchedGeneration(key: Pick<KeySnapshot, 'secretGeneration'>, match: 'current' | 'previous'): number {
  return match === 'current' ? key.secretGeneration : key.secretGeneration - 1;
}
