import { describe, it, expect } from 'vitest';
import { createPepperRing, hashSecret, verifySecret, type Pepper } from '../../src/crypto/secret-hash.ts';

const SECRET = 'kgs_sUp3rS3cr3tV4lu3ThatIsLongEnoughForTheTestsXYZ12';
const PEPPER_1: Pepper = { version: 1, secret: Buffer.from('pepper-one-pepper-one-pepper-one-!') };
const PEPPER_2: Pepper = { version: 2, secret: Buffer.from('pepper-two-pepper-two-pepper-two-!') };

describe('hashSecret', () => {
  it('has the form <version>$<base64url>', () => {
    const hash = hashSecret(createPepperRing([PEPPER_1]), SECRET);
    expect(hash).toMatch(/^1\$[A-Za-z0-9_-]{43}$/);
  });

  it('names the current pepper version', () => {
    const hash = hashSecret(createPepperRing([PEPPER_2, PEPPER_1]), SECRET);
    expect(hash.startsWith('2$')).toBe(true);
  });

  it('never contains the secret', () => {
    const hash = hashSecret(createPepperRing([PEPPER_1]), SECRET);
    expect(hash.includes(SECRET)).toBe(false);
    expect(hash.includes(SECRET.slice(4))).toBe(false);
  });

  it('refuses an empty ring', () => {
    expect(() => createPepperRing([])).toThrow('at least one pepper is required');
  });
});

describe('verifySecret', () => {
  const ring = createPepperRing([PEPPER_1]);
  const stored = hashSecret(ring, SECRET);

  it('accepts the right secret', () => {
    expect(verifySecret(ring, stored, SECRET)).toBe(true);
  });

  it('refuses a wrong secret', () => {
    expect(verifySecret(ring, stored, `${SECRET.slice(0, -1)}3`)).toBe(false);
  });

  it('refuses a hash made under a pepper version the ring does not hold', () => {
    const other = hashSecret(createPepperRing([{ ...PEPPER_1, version: 7 }]), SECRET);
    expect(verifySecret(ring, other, SECRET)).toBe(false);
  });

  it('refuses a stored value without a version', () => {
    expect(verifySecret(ring, stored.slice(2), SECRET)).toBe(false);
    expect(verifySecret(ring, stored.slice(1), SECRET)).toBe(false);
  });

  it('still verifies a version-1 hash after rotating to version 2 while version 1 is in the ring', () => {
    const rotated = createPepperRing([PEPPER_2, PEPPER_1]);
    expect(verifySecret(rotated, stored, SECRET)).toBe(true);
  });

  it('no longer verifies a version-1 hash once version 1 leaves the ring', () => {
    const rotated = createPepperRing([PEPPER_2]);
    expect(verifySecret(rotated, stored, SECRET)).toBe(false);
  });

  it('does not verify a hash whose version was swapped to another pepper', () => {
    const rotated = createPepperRing([PEPPER_2, PEPPER_1]);
    expect(verifySecret(rotated, `2${stored.slice(1)}`, SECRET)).toBe(false);
  });
});
