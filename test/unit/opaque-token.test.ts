import { describe, expect, it } from 'vitest';
import { newOpaqueToken } from '../../src/crypto/opaque-token.ts';

describe('opaque tokens', () => {
  it('are 43 base64url characters (256 bits), never repeated across pool refills', () => {
    const tokens = Array.from({ length: 1000 }, newOpaqueToken);
    for (const token of tokens) {
      expect(token).toMatch(/^[A-Za-z0-9_-]{43}$/);
      expect(Buffer.from(token, 'base64url')).toHaveLength(32);
    }
    expect(new Set(tokens).size).toBe(tokens.length);
  });

  it('are not all zero bytes (the pool is refilled before it is read)', () => {
    const zero = Buffer.alloc(32).toString('base64url');
    for (let i = 0; i < 300; i++) expect(newOpaqueToken()).not.toBe(zero);
  });
});
