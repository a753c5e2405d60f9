import { describe, it, expect } from 'vitest';
import { grantScopes, parseScopeParam } from '../../src/oauth/policy/scopes.ts';
import { isValidScopeToken } from '../../src/shared/scope-token.ts';

describe('parseScopeParam', () => {
  it('is empty for undefined', () => {
    expect(parseScopeParam(undefined)).toEqual([]);
  });

  it('is empty for an empty or blank parameter', () => {
    expect(parseScopeParam('')).toEqual([]);
    expect(parseScopeParam('   ')).toEqual([]);
  });

  it('splits on spaces, keeping the order', () => {
    expect(parseScopeParam('devices:read devices:write')).toEqual(['devices:read', 'devices:write']);
  });

  it('dedupes repeated scopes', () => {
    expect(parseScopeParam('a b a b c')).toEqual(['a', 'b', 'c']);
  });

  it('tolerates several spaces between scopes', () => {
    expect(parseScopeParam('  a   b  ')).toEqual(['a', 'b']);
  });
});

describe('grantScopes', () => {
  const effective = ['devices:read', 'devices:write', 'token:introspect'];

  it('grants every effective scope when nothing is requested', () => {
    expect(grantScopes(effective, [])).toEqual({ ok: true, scopes: effective });
  });

  it('grants a requested subset', () => {
    expect(grantScopes(effective, ['devices:write'])).toEqual({ ok: true, scopes: ['devices:write'] });
  });

  it('refuses a request naming a scope the key lacks, listing what is missing', () => {
    expect(grantScopes(effective, ['devices:read', 'admin:*', 'billing'])).toEqual({
      ok: false,
      reason: 'scope_not_granted',
      missing: ['admin:*', 'billing'],
    });
  });

  it('refuses every request for a key without scopes', () => {
    expect(grantScopes([], ['a'])).toEqual({ ok: false, reason: 'scope_not_granted', missing: ['a'] });
  });

  it('grants nothing to a key without scopes when nothing is requested', () => {
    expect(grantScopes([], [])).toEqual({ ok: true, scopes: [] });
  });
});

describe('isValidScopeToken', () => {
  it('accepts ordinary scope names', () => {
    expect(isValidScopeToken('devices:read')).toBe(true);
    expect(isValidScopeToken('admin:*')).toBe(true);
    expect(isValidScopeToken('a')).toBe(true);
  });

  it('accepts every RFC 6749 scope-token character', () => {
    expect(isValidScopeToken("!#$%&'()*+,-./0-9:;<=>?@A-Z[]^_`a-z{|}~")).toBe(true);
  });

  it('rejects a space', () => {
    expect(isValidScopeToken('devices read')).toBe(false);
  });

  it('rejects a double quote', () => {
    expect(isValidScopeToken('devices"read')).toBe(false);
  });

  it('rejects a backslash', () => {
    expect(isValidScopeToken('devices\\read')).toBe(false);
  });

  it('rejects control and non-ASCII characters', () => {
    expect(isValidScopeToken('devices\tread')).toBe(false);
    expect(isValidScopeToken('gerät')).toBe(false);
  });

  it('rejects the empty string', () => {
    expect(isValidScopeToken('')).toBe(false);
  });

  it('accepts 128 characters and rejects 129', () => {
    expect(isValidScopeToken('a'.repeat(128))).toBe(true);
    expect(isValidScopeToken('a'.repeat(129))).toBe(false);
  });
});
