// TOTP against the published test vectors: RFC 4226 appendix D (HOTP) and RFC 6238 appendix B
// (TOTP, SHA-1 rows), plus base32 and the ±1 step window.
import { describe, expect, it } from 'vitest';
import { base32Decode, base32Encode, hotp, matchTotpStep, otpauthUri, totpCode } from '../../src/crypto/totp.ts';

const RFC_SEED = Buffer.from('12345678901234567890', 'ascii');

describe('TOTP', () => {
  it('gives the RFC 4226 HOTP values for counters 0 to 9', () => {
    const expected = ['755224', '287082', '359152', '969429', '338314', '254676', '287922', '162583', '399871', '520489'];
    expect(expected.map((_, counter) => hotp(RFC_SEED, counter))).toEqual(expected);
  });

  it('gives the RFC 6238 SHA-1 values (8 digits) at each test time', () => {
    const rows: [number, string][] = [
      [59, '94287082'],
      [1111111109, '07081804'],
      [1111111111, '14050471'],
      [1234567890, '89005924'],
      [2000000000, '69279037'],
      [20000000000, '65353130'],
    ];
    for (const [seconds, code] of rows) expect(totpCode(RFC_SEED, seconds * 1000, 8)).toBe(code);
  });

  it('round-trips base32 (RFC 4648 vectors) and refuses text that is not base32', () => {
    expect(base32Encode(Buffer.from('foobar'))).toBe('MZXW6YTBOI');
    expect(base32Decode('MZXW6YTBOI')!.toString()).toBe('foobar');
    expect(base32Decode('mzxw 6ytb oi')!.toString()).toBe('foobar');
    expect(base32Decode('MZXW6YTBO1')).toBeUndefined();
  });

  it('accepts a code from one step either side of now, and refuses two steps away or a wrong shape', () => {
    const secret = base32Encode(RFC_SEED);
    const now = 1_234_567_890_000;
    const step = Math.floor(now / 30_000);
    expect(matchTotpStep(secret, totpCode(RFC_SEED, now), now)).toBe(step);
    expect(matchTotpStep(secret, totpCode(RFC_SEED, now - 30_000), now)).toBe(step - 1);
    expect(matchTotpStep(secret, totpCode(RFC_SEED, now + 30_000), now)).toBe(step + 1);
    expect(matchTotpStep(secret, totpCode(RFC_SEED, now - 60_000), now)).toBeUndefined();
    expect(matchTotpStep(secret, totpCode(RFC_SEED, now + 60_000), now)).toBeUndefined();
    expect(matchTotpStep(secret, '12345', now)).toBeUndefined();
    expect(matchTotpStep(secret, 'abcdef', now)).toBeUndefined();
  });

  it('writes the otpauth URI authenticator apps read', () => {
    expect(otpauthUri({ issuer: 'Keygate (a.test)', account: 'ann@example.test', secret: 'JBSWY3DPEHPK3PXP' })).toBe(
      'otpauth://totp/Keygate%20(a.test):ann%40example.test?secret=JBSWY3DPEHPK3PXP&issuer=Keygate+%28a.test%29&algorithm=SHA1&digits=6&period=30',
    );
  });
});
