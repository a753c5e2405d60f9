import { describe, it, expect } from 'vitest';
import { hashToken } from '../../src/crypto/token-hash.ts';

const TOKEN = 'kgt_3kTMd8RvxJq2Wc9fYb7Lp0sNhUeAo4Zi1gQmXyVtBr5';

describe('hashToken', () => {
  it('is deterministic', () => {
    expect(hashToken(TOKEN)).toBe(hashToken(TOKEN));
  });

  it('is 22 base64url characters', () => {
    expect(hashToken(TOKEN)).toMatch(/^[A-Za-z0-9_-]{22}$/);
  });

  it('is the first 22 characters of the base64url SHA-256', () => {
    // SHA-256("abc") = ungWv48Bz-pBQUDeXa4iI7ADYaOWF3qctBD_YfIAFa0 in base64url.
    expect(hashToken('abc')).toBe('ungWv48Bz-pBQUDeXa4iI7');
  });

  it('differs for different tokens', () => {
    expect(hashToken(TOKEN)).not.toBe(hashToken(`${TOKEN}x`));
  });

  it('does not contain the token', () => {
    expect(hashToken(TOKEN).includes(TOKEN)).toBe(false);
    expect(hashToken('kgt_short').includes('kgt_short')).toBe(false);
  });
});
