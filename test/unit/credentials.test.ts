import { describe, it, expect } from 'vitest';
import { encodeBase62, encodeBase62Number, isBase62 } from '../../src/crypto/base62.ts';
import {
  CLIENT_ID_LENGTH,
  CLIENT_SECRET_LENGTH,
  formatApiKey,
  generateClientId,
  generateClientSecret,
  isWellFormedClientId,
  isWellFormedClientSecret,
  parseApiKey,
} from '../../src/crypto/credentials.ts';

/** Replaces the character at `index` with another base62 character. */
function changeCharAt(text: string, index: number): string {
  const replacement = text[index] === 'A' ? 'B' : 'A';
  return text.slice(0, index) + replacement + text.slice(index + 1);
}

describe('base62', () => {
  it('encodes to a fixed width, padded with 0', () => {
    expect(encodeBase62(61n, 3)).toBe('00z');
    expect(encodeBase62(62n, 3)).toBe('010');
  });

  it('refuses a value wider than the width', () => {
    expect(() => encodeBase62(62n ** 3n, 3)).toThrow(RangeError);
  });

  it('encodes a safe integer exactly as the BigInt version does (the secret checksum)', () => {
    for (const value of [0, 1, 61, 62, 3843, 2 ** 31, 2 ** 32 - 1, 56_800_235_583]) {
      expect(encodeBase62Number(value, 6)).toBe(encodeBase62(BigInt(value), 6));
    }
    expect(() => encodeBase62Number(62 ** 6, 6)).toThrow(RangeError);
    expect(() => encodeBase62Number(-1, 6)).toThrow(RangeError);
    expect(() => encodeBase62Number(1.5, 6)).toThrow(RangeError);
  });

  it('recognises base62 text only', () => {
    expect(isBase62('09AZaz')).toBe(true);
    expect(isBase62('a-b')).toBe(false);
  });
});

describe('client id', () => {
  it('is kg_ followed by 22 base62 characters', () => {
    const id = generateClientId();
    expect(CLIENT_ID_LENGTH).toBe(25);
    expect(id).toMatch(/^kg_[0-9A-Za-z]{22}$/);
    expect(isWellFormedClientId(id)).toBe(true);
  });

  it('is different on every generation', () => {
    const ids = new Set(Array.from({ length: 50 }, generateClientId));
    expect(ids.size).toBe(50);
  });

  it('rejects a wrong prefix, a wrong length and non-base62 characters', () => {
    const id = generateClientId();
    expect(isWellFormedClientId(`kx_${id.slice(3)}`)).toBe(false);
    expect(isWellFormedClientId(id.slice(0, -1))).toBe(false);
    expect(isWellFormedClientId(`${id}A`)).toBe(false);
    expect(isWellFormedClientId(`${id.slice(0, -1)}-`)).toBe(false);
  });
});

describe('client secret', () => {
  it('is kgs_ followed by 43 base62 characters and a 6-character checksum', () => {
    const secret = generateClientSecret();
    expect(CLIENT_SECRET_LENGTH).toBe(53);
    expect(secret).toMatch(/^kgs_[0-9A-Za-z]{49}$/);
    expect(isWellFormedClientSecret(secret)).toBe(true);
  });

  it('is different on every generation', () => {
    const secrets = new Set(Array.from({ length: 50 }, generateClientSecret));
    expect(secrets.size).toBe(50);
  });

  it('fails the checksum when any one character of the body changes', () => {
    const secret = generateClientSecret();
    for (let i = 4; i < 4 + 43; i++) {
      expect(isWellFormedClientSecret(changeCharAt(secret, i))).toBe(false);
    }
  });

  it('fails when any one character of the checksum changes', () => {
    const secret = generateClientSecret();
    for (let i = secret.length - 6; i < secret.length; i++) {
      expect(isWellFormedClientSecret(changeCharAt(secret, i))).toBe(false);
    }
  });

  it('rejects a wrong prefix', () => {
    const secret = generateClientSecret();
    expect(isWellFormedClientSecret(`kgx_${secret.slice(4)}`)).toBe(false);
  });

  it('rejects a wrong length', () => {
    const secret = generateClientSecret();
    expect(isWellFormedClientSecret(secret.slice(0, -1))).toBe(false);
    expect(isWellFormedClientSecret(`${secret}A`)).toBe(false);
    expect(isWellFormedClientSecret('')).toBe(false);
  });

  it('rejects non-base62 characters', () => {
    const secret = generateClientSecret();
    expect(isWellFormedClientSecret(`${secret.slice(0, 10)}_${secret.slice(11)}`)).toBe(false);
  });
});

describe('api key', () => {
  it('round-trips client id and secret', () => {
    const clientId = generateClientId();
    const clientSecret = generateClientSecret();
    const apiKey = formatApiKey(clientId, clientSecret);
    expect(apiKey).toBe(`${clientId}.${clientSecret}`);
    expect(parseApiKey(apiKey)).toEqual({ clientId, clientSecret });
  });

  it('is undefined without a dot', () => {
    expect(parseApiKey('kg_abc')).toBeUndefined();
  });
});
