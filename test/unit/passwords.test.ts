// Password hashing and the password rules.
import { randomBytes, scryptSync } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { DUMMY_PASSWORD_HASH, hashPassword, passwordRefusals, SCRYPT_COST, verifyPassword } from '../../src/identity/passwords.ts';

describe('passwords', () => {
  it('hashes with a fresh salt each time, self-describing, and verifies only the same password', async () => {
    const [a, b] = await Promise.all([hashPassword('correct horse battery'), hashPassword('correct horse battery')]);
    expect(a).toMatch(/^scrypt\$15\$8\$1\$[A-Za-z0-9_-]{22}\$[A-Za-z0-9_-]{43}$/);
    expect(a).not.toBe(b);
    expect(await verifyPassword(a, 'correct horse battery')).toBe(true);
    expect(await verifyPassword(b, 'correct horse battery')).toBe(true);
    expect(await verifyPassword(a, 'correct horse batterY')).toBe(false);
    expect(await verifyPassword(a, '')).toBe(false);
  });

  it('reads the cost from the stored value, and a stored value in any other form matches nothing', async () => {
    // A hash made at another cost (as an older or newer release might store it) still verifies.
    const salt = randomBytes(16);
    const key = scryptSync('a passphrase here', salt, 32, { N: 2 ** 14, r: 8, p: 1 });
    const other = `scrypt$14$8$1$${salt.toString('base64url')}$${key.toString('base64url')}`;
    expect(await verifyPassword(other, 'a passphrase here')).toBe(true);
    expect(await verifyPassword(other, 'a passphrase herE')).toBe(false);
    expect(await verifyPassword('', 'a passphrase here')).toBe(false);
    expect(await verifyPassword('plain text password', 'plain text password')).toBe(false);
    // A cost outside the accepted range is refused before any work is done.
    expect(await verifyPassword(other.replace('scrypt$14$', 'scrypt$30$'), 'a passphrase here')).toBe(false);
  });

  it('checks an unknown email against a dummy hash of the current cost, which no password matches', async () => {
    const { log2N, r, p } = SCRYPT_COST;
    expect(DUMMY_PASSWORD_HASH.startsWith(`scrypt$${log2N}$${r}$${p}$`)).toBe(true);
    expect((await hashPassword('x'.repeat(12))).length).toBe(DUMMY_PASSWORD_HASH.length);
    expect(await verifyPassword(DUMMY_PASSWORD_HASH, '')).toBe(false);
    expect(await verifyPassword(DUMMY_PASSWORD_HASH, 'password1234')).toBe(false);
  });

  it('refuses short, overlong, common and one-character passwords, and the email itself', () => {
    expect(passwordRefusals('eleven-char')).toEqual([{ field: 'password', message: 'must be at least 12 characters' }]);
    expect(passwordRefusals('twelve-chars')).toEqual([]);
    expect(passwordRefusals('x'.repeat(1025))).toEqual([{ field: 'password', message: 'must be at most 1024 characters' }]);
    expect(passwordRefusals('PASSWORD1234')[0]?.message).toBe('is too common: choose another');
    expect(passwordRefusals('keygate123456')[0]?.message).toBe('is too common: choose another');
    expect(passwordRefusals('abababababab')[0]?.message).toBe('needs more than a few distinct characters');
    expect(passwordRefusals('ada.lovelace@example.test', 'Ada.Lovelace@example.test')[0]?.message).toBe('must not be the email address');
    expect(passwordRefusals('ada.lovelace', 'ada.lovelace@example.test')[0]?.message).toBe('must not be the email address');
    // Twelve characters, counted as characters rather than bytes.
    expect(passwordRefusals('ñandú-pájaro')).toEqual([]);
  });
});
