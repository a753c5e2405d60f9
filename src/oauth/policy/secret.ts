// The secret must be well formed (checksum, no store touched), then match the current
// secret or the previous one while its rotation grace lasts. Comparisons are constant-time.
import { hash } from 'node:crypto';
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
 *
 * A memo is kept for every key that has authenticated, so it is kept small: the digest as a
 * 32-character one-byte string straight in the WeakMap (one small string a key), not a Buffer in
 * a record (a Buffer is a large object, and a pooled one keeps its whole shared 8 KB slab alive).
 */
interface Memos {
  current: WeakMap<SecretHashes, string>;
  previous: WeakMap<SecretHashes, string>;
}
const matchedSecrets = new WeakMap<PepperRing, Memos>();

function memosOf(ring: PepperRing): Memos {
  let memos = matchedSecrets.get(ring);
  if (!memos) matchedSecrets.set(ring, (memos = { current: new WeakMap(), previous: new WeakMap() }));
  return memos;
}

/** Constant-time equality of two digests of the same length (no early exit on the first difference). */
function sameDigest(known: string | undefined, digest: string): boolean {
  if (known === undefined || known.length !== digest.length) return false;
  let difference = 0;
  for (let i = 0; i < digest.length; i++) difference |= known.charCodeAt(i) ^ digest.charCodeAt(i);
  return difference === 0;
}

export function checkSecret(ring: PepperRing, key: SecretHashes, secret: string, now: Date): SecretMatch {
  // 'binary' (latin1): one character per digest byte, so the string is as compact as the bytes.
  const digest = hash('sha256', secret, 'binary');
  const memos = memosOf(ring);
  if (sameDigest(memos.current.get(key), digest)) return 'current';
  const inGrace = isInGrace(key, now);
  if (inGrace && sameDigest(memos.previous.get(key), digest)) return 'previous';

  if (verifySecret(ring, key.secretHash, secret)) {
    memos.current.set(key, digest);
    return 'current';
  }
  if (inGrace && verifySecret(ring, key.previousSecretHash!, secret)) {
    memos.previous.set(key, digest);
    return 'previous';
  }
  return 'secret_mismatch';
}

export function isInGrace(key: Pick<KeySnapshot, 'previousSecretHash' | 'previousSecretExpiresAt'>, now: Date): boolean {
  return key.previousSecretHash !== null && key.previousSecretExpiresAt !== null && key.previousSecretExpiresAt.getTime() > now.getTime();
}

/** The generation number of the secret that matched. */
export function matchedGeneration(key: Pick<KeySnapshot, 'secretGeneration'>, match: 'current' | 'previous'): number {
  return match === 'current' ? key.secretGeneration : key.secretGeneration - 1;
}
