// What a change records: only the named fields that differ, before and after.
import { describe, expect, it } from 'vitest';
import { fieldChanges } from '../../src/keys/field-changes.ts';

describe('fieldChanges', () => {
  it('records each named field whose value differs, arrays and dates by value', () => {
    const before = { name: 'a', scopes: ['x'], expires_at: new Date('2026-01-01T00:00:00Z'), secret_hash: 'h1', note: null as string | null };
    const after = { name: 'b', scopes: ['x'], expires_at: new Date('2026-02-01T00:00:00Z'), secret_hash: 'h2', note: 'n' };
    expect(fieldChanges(before, after, ['name', 'scopes', 'expires_at', 'note'])).toEqual({
      name: { from: 'a', to: 'b' },
      expires_at: { from: '2026-01-01T00:00:00.000Z', to: '2026-02-01T00:00:00.000Z' },
      note: { from: null, to: 'n' },
    });
  });

  it('never records a field it was not told to, however it changed', () => {
    expect(fieldChanges({ secret_hash: 'h1' }, { secret_hash: 'h2' }, [])).toEqual({});
  });
});
