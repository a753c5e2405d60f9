// Webhook signing secrets: `whsec_` + base64 of 32 random bytes (the Standard Webhooks form),
// shown once. Unlike key secrets they must be read back to sign, so Postgres holds them encrypted
// (crypto/sealed-secret.ts) under a key derived from the secret pepper: a database dump alone
// cannot sign.
import { createHmac, randomBytes } from 'node:crypto';
import { openSealedSecret, sealSecret } from './sealed-secret.ts';
import type { PepperRing } from './secret-hash.ts';

const PREFIX = 'whsec_';
const INFO = 'keygate webhook signing secret v1';

export function generateWebhookSecret(): string {
  return `${PREFIX}${randomBytes(32).toString('base64')}`;
}

/** `<pepper version>$<iv>$<ciphertext>$<tag>` (crypto/sealed-secret.ts). */
export function encryptWebhookSecret(ring: PepperRing, secret: string): string {
  return sealSecret(ring, INFO, secret);
}

export function decryptWebhookSecret(ring: PepperRing, stored: string): string {
  return openSealedSecret(ring, INFO, stored);
}

/** Standard Webhooks headers: HMAC-SHA256 over `id.timestamp.body` with the secret's bytes. */
export function signWebhook(secret: string, id: string, timestampSeconds: number, body: string): Record<string, string> {
  const key = Buffer.from(secret.startsWith(PREFIX) ? secret.slice(PREFIX.length) : secret, 'base64');
  const signature = createHmac('sha256', key).update(`${id}.${timestampSeconds}.${body}`).digest('base64');
  return { 'webhook-id': id, 'webhook-timestamp': String(timestampSeconds), 'webhook-signature': `v1,${signature}` };
}
