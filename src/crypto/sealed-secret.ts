// Secrets Keygate must read back (webhook signing secrets, TOTP secrets) are kept sealed with
// AES-256-GCM under a key derived from the secret pepper, one key per purpose: a database dump
// alone reveals none of them, and a value sealed for one purpose does not open as another. The
// stored form names the pepper version, so the pepper can rotate like for key secrets.
import { createCipheriv, createDecipheriv, hkdfSync, randomBytes } from 'node:crypto';
import type { PepperRing } from './secret-hash.ts';

/** What a sealed value is for: the HKDF `info`, e.g. `keygate webhook signing secret v1`. */
export type SealPurpose = string;

function keyFor(ring: PepperRing, version: number, purpose: SealPurpose): Buffer {
  const pepper = ring.byVersion.get(version);
  if (!pepper) throw new Error(`no pepper version ${version} to open a sealed secret`);
  return Buffer.from(hkdfSync('sha256', pepper.key.export(), Buffer.alloc(0), purpose, 32));
}

/** `<pepper version>$<iv>$<ciphertext>$<tag>`, base64url parts. */
export function sealSecret(ring: PepperRing, purpose: SealPurpose, secret: string): string {
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', keyFor(ring, ring.current.version, purpose), iv);
  const ciphertext = Buffer.concat([cipher.update(secret, 'utf8'), cipher.final()]);
  return [ring.current.version, iv.toString('base64url'), ciphertext.toString('base64url'), cipher.getAuthTag().toString('base64url')].join('$');
}

export function openSealedSecret(ring: PepperRing, purpose: SealPurpose, stored: string): string {
  const [version, iv, ciphertext, tag] = stored.split('$');
  const decipher = createDecipheriv('aes-256-gcm', keyFor(ring, Number(version), purpose), Buffer.from(iv!, 'base64url'));
  decipher.setAuthTag(Buffer.from(tag!, 'base64url'));
  return Buffer.concat([decipher.update(Buffer.from(ciphertext!, 'base64url')), decipher.final()]).toString('utf8');
}
