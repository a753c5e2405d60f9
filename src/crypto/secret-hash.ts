// Postgres keeps only HMAC-SHA-256(pepper, secret). The stored form names the pepper
// version ("<version>$<base64url mac>") so the pepper can rotate while old hashes still verify.
import { createHmac, createSecretKey, timingSafeEqual, type KeyObject } from 'node:crypto';

export interface Pepper {
  /** Positive integer naming this pepper in stored hashes. */
  version: number;
  secret: Buffer;
}

interface ReadyPepper {
  version: number;
  /** Made once: turning a Buffer into a key on every HMAC shows up in token-path profiles. */
  key: KeyObject;
}

/** Peppers by version; `current` is used for every new hash. */
export interface PepperRing {
  current: ReadyPepper;
  byVersion: ReadonlyMap<number, ReadyPepper>;
}

export function createPepperRing(peppers: Pepper[]): PepperRing {
  const ready = peppers.map((p) => ({ version: p.version, key: createSecretKey(p.secret) }));
  const [current] = ready;
  if (!current) throw new Error('at least one pepper is required');
  return { current, byVersion: new Map(ready.map((p) => [p.version, p])) };
}

function mac(pepper: ReadyPepper, secret: string): Buffer {
  return createHmac('sha256', pepper.key).update(secret, 'utf8').digest();
}

export function hashSecret(ring: PepperRing, secret: string): string {
  return `${ring.current.version}$${mac(ring.current, secret).toString('base64url')}`;
}

/** Constant-time check of `secret` against a stored hash; unknown pepper versions never match. */
export function verifySecret(ring: PepperRing, stored: string, secret: string): boolean {
  const sep = stored.indexOf('$');
  const pepper = ring.byVersion.get(Number(stored.slice(0, sep)));
  if (sep < 1 || !pepper) return false;
  const expected = Buffer.from(stored.slice(sep + 1), 'base64url');
  const actual = mac(pepper, secret);
  return expected.length === actual.length && timingSafeEqual(expected, actual);
}
