// SPEC §2/§3: the secret must be well formed (checksum, no store touched), then match the current
// secret or the previous one while its rotation grace lasts. Comparisons are constant-time.
import type { KeySnapshot } from '../../keys/model.ts';
import { isWellFormedClientSecret } from '../../crypto/credentials.ts';
import { verifySecret, type PepperRing } from '../../crypto/secret-hash.ts';

export function checkSecretFormat(secret: string): 'ok' | 'malformed_secret' {
  return isWellFormedClientSecret(secret) ? 'ok' : 'malformed_secret';
}

export function checkSecret(
  ring: PepperRing,
  key: Pick<KeySnapshot, 'secretHash' | 'previousSecretHash' | 'previousSecretExpiresAt'>,
  secret: string,
  now: Date,
): 'ok' | 'secret_mismatch' {
  if (verifySecret(ring, key.secretHash, secret)) return 'ok';
  const inGrace = key.previousSecretHash !== null
    && key.previousSecretExpiresAt !== null
    && key.previousSecretExpiresAt.getTime() > now.getTime();
  if (inGrace && verifySecret(ring, key.previousSecretHash!, secret)) return 'ok';
  return 'secret_mismatch';
}
