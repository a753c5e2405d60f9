// People's passwords: scrypt (memory-hard, from node:crypto), stored self-describing as
// `scrypt$<log2 N>$<r>$<p>$<salt>$<hash>` so the cost can be raised later without breaking old
// hashes. Only hashes are stored; comparison is constant-time.
import { randomBytes, scrypt, timingSafeEqual } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { FieldError } from '../shared/errors.ts';

/** N = 2^15, r = 8: 32 MiB of memory per hash, the cost OWASP names for scrypt. */
export const SCRYPT_COST = { log2N: 15, r: 8, p: 1 } as const;
const SALT_BYTES = 16;
const HASH_BYTES = 32;

export const PASSWORD_MIN_LENGTH = 12;
/** Long enough for any passphrase; bounds the work one request can ask for. */
export const PASSWORD_MAX_LENGTH = 1024;

function derive(password: string, salt: Buffer, cost: { log2N: number; r: number; p: number }): Promise<Buffer> {
  const N = 2 ** cost.log2N;
  return new Promise((resolve, reject) =>
    scrypt(password.normalize('NFC'), salt, HASH_BYTES, { N, r: cost.r, p: cost.p, maxmem: 256 * N * cost.r }, (error, key) =>
      error ? reject(error) : resolve(key),
    ),
  );
}

export async function hashPassword(password: string): Promise<string> {
  const salt = randomBytes(SALT_BYTES);
  const key = await derive(password, salt, SCRYPT_COST);
  const { log2N, r, p } = SCRYPT_COST;
  return `scrypt$${log2N}$${r}$${p}$${salt.toString('base64url')}$${key.toString('base64url')}`;
}

const STORED = /^scrypt\$(\d{1,2})\$(\d{1,2})\$(\d{1,2})\$([A-Za-z0-9_-]{16,64})\$([A-Za-z0-9_-]{16,128})$/;

/** Whether `password` matches `stored`; a stored value in any other form matches nothing. */
export async function verifyPassword(stored: string, password: string): Promise<boolean> {
  const match = STORED.exec(stored);
  if (!match || password.length > PASSWORD_MAX_LENGTH) return false;
  const cost = { log2N: Number(match[1]), r: Number(match[2]), p: Number(match[3]) };
  if (cost.log2N < 10 || cost.log2N > 20 || cost.r < 1 || cost.p < 1) return false;
  const expected = Buffer.from(match[5]!, 'base64url');
  const actual = await derive(password, Buffer.from(match[4]!, 'base64url'), cost);
  return actual.length === expected.length && timingSafeEqual(actual, expected);
}

/**
 * The hash of a random password that was thrown away, at the current cost: a sign-in for an email
 * with no password is checked against it, so it costs the same time as one for a real account.
 * A constant, so no process spends memory or time making one (a unit test keeps its cost current).
 */
export const DUMMY_PASSWORD_HASH = 'scrypt$15$8$1$HDw3ppe-ZQRHzyOMs6bB2w$GoZzYzSYR72dibpoqYIii8Ei76eQBQatpSrJ_CAbSfs';

let common: ReadonlySet<string> | undefined;
/** The bundled list of passwords too common to allow (lower case, one a line). */
function commonPasswords(): ReadonlySet<string> {
  common ??= new Set(
    readFileSync(path.join(import.meta.dirname, 'common-passwords.txt'), 'utf8')
      .split('\n')
      .map((line) => line.trim().toLowerCase())
      .filter((line) => line !== '' && !line.startsWith('#')),
  );
  return common;
}

/** Why `password` may not be used (for the `password` field), or nothing. */
export function passwordRefusals(password: string, email?: string): FieldError[] {
  const length = [...password].length;
  const refuse = (message: string) => [{ field: 'password', message }];
  if (length < PASSWORD_MIN_LENGTH) return refuse(`must be at least ${PASSWORD_MIN_LENGTH} characters`);
  if (length > PASSWORD_MAX_LENGTH) return refuse(`must be at most ${PASSWORD_MAX_LENGTH} characters`);
  const lower = password.toLowerCase();
  if (commonPasswords().has(lower)) return refuse('is too common: choose another');
  if (new Set(password).size < 4) return refuse('needs more than a few distinct characters');
  if (email && [email.toLowerCase(), email.toLowerCase().split('@')[0]].includes(lower)) return refuse('must not be the email address');
  return [];
}
