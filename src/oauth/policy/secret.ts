// SPEC §2/§3: the secret must be well formed (checksum, no store touched), then match the current
// secret or the previous one while its rotation grace lasts. Comparisons are constant-time.
import type { KeySnapshot } from '../../keys/model.ts';
import { isWellFormedClientSecret } from '../../crypto/credentials.ts';
import { verifySecret, type PepperRing } from '../../crypto/secret-hash.ts';

export function checkSecretFormat(secret: string): 'ok' | 'malformed_secret' {
  return isWellFormedClientSecret(secret) ? 'ok' : 'malformed_secret';
}

/** Which secret matched: tokens remember it, so they end with their secret's grace period. */
export type SecretMatch = 'current' | 'previous' | 'secret_mismatch';

export function checkSecret(
  ring: PepperRing,
  key: Pick<KeySnapshot, 'secretHash' | 'previousSecretHash' | 'previousSecretExpiresAt'>,
  secret: string,
  now: Date,
): SecretMatch {
  if (verifySecret(ring, key.secretHash, secret)) return 'current';
  if (isInGrace(key, now) && verifySecret(ring, key.previousSecretHash!, secret)) return 'previous';
  return 'secret_mismatch';
}

export function isInGrace(key: Pick<KeySnapshot, 'previousSecretHash' | 'previousSecretExpiresAt'>, now: Date): boolean {
  return key.previousSecretHash !== null
    && key.previousSecretExpiresAt !== null
    && key.previousSecretExpiresAt.getTime() > now.getTime();
}

/** The generation number of the secret that matched. */
export function matchedGeneration(key: Pick<KeySnapshot, 'secretGeneration'>, match: 'current' | 'previous'): number {
  return match === 'current' ? key.secretGeneration : key.secretGeneration - 1;
}
