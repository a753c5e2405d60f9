import { randomBytes } from 'node:crypto';

const ALPHABET = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';
const BASE = 62n;

/** Fixed-width base62 of an unsigned integer, left-padded with '0'. */
export function encodeBase62(value: bigint, width: number): string {
  let out = '';
  let rest = value;
  while (rest > 0n) {
    out = ALPHABET[Number(rest % BASE)] + out;
    rest /= BASE;
  }
  if (out.length > width) throw new RangeError(`value does not fit in ${width} base62 characters`);
  return out.padStart(width, '0');
}

/**
 * encodeBase62 for a safe integer (a CRC32 checksum) in plain arithmetic: every authentication
 * checks a checksum, and the BigInt version allocates on each of its steps.
 */
export function encodeBase62Number(value: number, width: number): string {
  if (!Number.isSafeInteger(value) || value < 0) throw new RangeError('value must be a non-negative safe integer');
  let out = '';
  let rest = value;
  while (rest > 0) {
    out = ALPHABET[rest % 62] + out;
    rest = Math.floor(rest / 62);
  }
  if (out.length > width) throw new RangeError(`value does not fit in ${width} base62 characters`);
  return out.padStart(width, '0');
}

/** `bits` random bits as exactly `width` base62 characters (width must hold 2^bits). */
export function randomBase62(bits: number, width: number): string {
  const bytes = randomBytes(Math.ceil(bits / 8));
  return encodeBase62(BigInt(`0x${bytes.toString('hex')}`), width);
}

export function isBase62(text: string): boolean {
  return /^[0-9A-Za-z]*$/.test(text);
}
