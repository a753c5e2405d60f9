// Credential formats: client ids, checksummed secrets and the one-string API key. Parsing is pure and touches no store, so malformed input
// is refused before any lookup.
import { crc32 } from 'node:zlib';
import { encodeBase62Number, isBase62, randomBase62 } from './base62.ts';

const CLIENT_ID_PREFIX = 'kg_';
const CLIENT_ID_BODY = 22; // 128 random bits
const SECRET_PREFIX = 'kgs_';
const SECRET_BODY = 43; // 256 random bits
const SECRET_CHECKSUM = 6; // CRC32 fits in 6 base62 characters (62^6 > 2^32)

export const CLIENT_ID_LENGTH = CLIENT_ID_PREFIX.length + CLIENT_ID_BODY;
export const CLIENT_SECRET_LENGTH = SECRET_PREFIX.length + SECRET_BODY + SECRET_CHECKSUM;

export function generateClientId(): string {
  return CLIENT_ID_PREFIX + randomBase62(128, CLIENT_ID_BODY);
}

export function generateClientSecret(): string {
  const body = SECRET_PREFIX + randomBase62(256, SECRET_BODY);
  return body + checksumOf(body);
}

function checksumOf(text: string): string {
  return encodeBase62Number(crc32(text), SECRET_CHECKSUM);
}

export function isWellFormedClientId(value: string): boolean {
  return value.length === CLIENT_ID_LENGTH && value.startsWith(CLIENT_ID_PREFIX) && isBase62(value.slice(CLIENT_ID_PREFIX.length));
}

/** True when the secret has the right shape and its CRC32 checksum matches (a typo or a fake fails). */
export function isWellFormedClientSecret(value: string): boolean {
  if (value.length !== CLIENT_SECRET_LENGTH || !value.startsWith(SECRET_PREFIX)) return false;
  if (!isBase62(value.slice(SECRET_PREFIX.length))) return false;
  const body = value.slice(0, -SECRET_CHECKSUM);
  return checksumOf(body) === value.slice(-SECRET_CHECKSUM);
}

/** The single-string API key humans copy: `<client_id>.<client_secret>`. */
export function formatApiKey(clientId: string, clientSecret: string): string {
  return `${clientId}.${clientSecret}`;
}

export function parseApiKey(apiKey: string): { clientId: string; clientSecret: string } | undefined {
  const dot = apiKey.indexOf('.');
  if (dot === -1) return undefined;
  return { clientId: apiKey.slice(0, dot), clientSecret: apiKey.slice(dot + 1) };
}
