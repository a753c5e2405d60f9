import { hash } from 'node:crypto';

// Token state is stored under a hash of the bearer token so a store dump yields no
// usable token. Tokens carry 256 random bits, so a plain SHA-256 (no pepper) is enough; the
// first 128 bits are kept to keep each live token small in Redis.
export function hashToken(token: string): string {
  // crypto.hash: the one-shot form, without a Hash object per call (this runs on every request).
  return hash('sha256', token, 'base64url').slice(0, 22);
}
