import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decodeRecord, encodeRecord, type TokenRecord } from '../../src/stores/tokens.ts';

describe('token record wire form', () => {
  it('round-trips every record, whatever its scope holds', () => {
    fc.assert(
      fc.property(
        fc.record({
          clientId: fc.stringMatching(/^kg_[A-Za-z0-9]{22}$/),
          scope: fc.string(),
          iat: fc.integer({ min: 0, max: 2 ** 40 }),
          lifetime: fc.integer({ min: 1, max: 86_400 }),
          generation: fc.nat(),
          epoch: fc.nat(),
        }),
        ({ lifetime, ...rest }) => {
          const record: TokenRecord = { ...rest, exp: rest.iat + lifetime };
          expect(decodeRecord(encodeRecord(record))).toEqual(record);
        },
      ),
    );
  });

  it('is compact: well under the 300 bytes a live token may cost in Redis', () => {
    const text = encodeRecord({
      clientId: 'kg_0123456789abcdefghijkl',
      scope: 'devices:read devices:write',
      iat: 1_795_000_000,
      exp: 1_795_003_600,
      generation: 1,
      epoch: 0,
    });
    expect(text).toBe('1|1795000000|3600|kg_0123456789abcdefghijkl|devices:read devices:write');
  });

  it('writes a non-zero token epoch after the generation, and reads records without one as epoch 0', () => {
    const record = { clientId: 'kg_0123456789abcdefghijkl', scope: 'a:read', iat: 1_795_000_000, exp: 1_795_003_600, generation: 2, epoch: 7 };
    expect(encodeRecord(record)).toBe('2.7|1795000000|3600|kg_0123456789abcdefghijkl|a:read');
    expect(decodeRecord('2|1795000000|3600|kg_0123456789abcdefghijkl|a:read')).toEqual({ ...record, epoch: 0 });
  });

  it('reads anything else, including the earlier JSON layout, as no record (the token is inactive)', () => {
    for (const text of ['["kg_0123456789abcdefghijkl","a",1,2,0]', '', '1|2|3|', 'x|2|3|kg_a|s', '1|2|3|kg_a']) {
      expect(decodeRecord(text)).toBeUndefined();
    }
  });
});
