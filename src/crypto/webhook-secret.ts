// Webhook signing secrets: `whsec_` + base64 of 32 random bytes (the Standard Webhooks form),
// shown once. Unlike key secrets they must be read back to sign, so Postgres holds them encrypted
// (AES-256-GCM) under a key derived from the secret pepper: a database dump alone cannot sign.
// The stored form names the pepper version, so the pepper can rotate like for key secrets.
import { createCipheriv, createDecipheriv, createHmac, hkdfSync, randomBytes } from 'node:crypto';
import type { PepperRing } from './secret-hash.ts';

const PREFIX = 'whsec_';
const INFO = 'keygate webhook signing secret v1';

export function generateWebhookSecret(): string {
  return `${PREFIX}${randomBytes(32).toString('base64')}`;
}

function keyFor(ring: PepperRing, version: number): Buffer {
  const pepper = ring.byVersion.get(version);
  if (!pepper) throw new Error(`no pepper version ${version} for a webhook secret`);
  return Buffer.from(hkdfSync('sha256', pepper.key.export(), Buffer.alloc(0), INFO, 32));
}

/** `<pepper version>$<iv>$<ciphertext>$<tag>`, base64url parts. */
export function encryptWebhookSecret(ring: PepperRing, secret: string): string {
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', keyFor(ring, ring.current.version), iv);
  const ciphertext = Buffer.concat([cipher.update(secret, 'utf8'), cipher.final()]);
  return [ring.current.version, iv.toString('base64url'), ciphertext.toString('base64url'), cipher.getAuthTag().toString('base64url')].join('$');
}

export function decryptWebhookSecret(ring: PepperRing, stored: string): string {
  const [version, iv, ciphertext, tag] = stored.split('$');
  const decipher = createDecipheriv('aes-256-gcm', keyFor(ring, Number(version)), Buffer.from(iv!, 'base64url'));
  decipher.setAuthTag(Buffer.from(tag!, 'base64url'));
  return Buffer.concat([decipher.update(Buffer.from(ciphertext!, 'base64url')), decipher.final()]).toString('utf8');
}

/** Standard Webhooks headers: HMAC-SHA256 over `id.timestamp.body` with the secret's bytes. */
export function signWebhook(secret: string, id: string, timestampSeconds: number, body: string): Record<string, string> {
  const key = Buffer.from(secret.startsWith(PREFIX) ? secret.slice(PREFIX.length) : secret, 'base64');
  const signature = createHmac('sha256', key).update(`${id}.${timestampSeconds}.${body}`).digest('base64');
  return { 'webhook-id': id, 'webhook-timestamp': String(timestampSeconds), 'webhook-signature': `v1,${signature}` };
}
