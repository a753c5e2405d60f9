import { describe, expect, it } from 'vitest';
import type { KeySnapshot } from '../../src/keys/model.ts';
import { checkTokenState } from '../../src/oauth/policy/token-state.ts';
import type { TokenRecord } from '../../src/stores/tokens.ts';
import { networksNarrowed, parseNetworkList } from '../../src/shared/network.ts';

const NOW = new Date('2026-01-01T00:00:00Z');
const nowSeconds = NOW.getTime() / 1000;

const owner = (overrides: Partial<KeySnapshot> = {}): KeySnapshot => ({
  clientId: 'kg_x',
  tenantId: 't',
  tenantActive: true,
  tenantPath: [],
  kind: 'service',
  userId: null,
  scopes: ['a:read'],
  effectiveScopes: ['a:read'],
  userActive: true,
  networks: [],
  expiresAtMs: null,
  status: 'active',
  secretHash: '1$x',
  previousSecretHash: null,
  previousSecretExpiresAt: null,
  secretGeneration: 3,
  tokenEpoch: 0,
  tokenTtlSeconds: 3600,
  rateLimitPerMinute: null,
  creator: 'system',
  createdByKeyId: null,
  credentials: { authMethod: 'client_secret', publicJwks: null, tlsSubjectDn: null, tlsSanDns: null, tlsCertificate: null, dpopRequired: false },
  ...overrides,
});
const token = (overrides: Partial<TokenRecord> = {}): TokenRecord => ({
  clientId: 'kg_x',
  scope: 'a:read',
  iat: nowSeconds - 10,
  exp: nowSeconds + 100,
  generation: 3,
  epoch: 0,
  ...overrides,
});

describe('checkTokenState', () => {
  it('accepts a live token of the current secret', () => {
    expect(checkTokenState(token(), owner(), NOW)).toBe('ok');
  });
  it('refuses an expired token', () => {
    expect(checkTokenState(token({ exp: nowSeconds }), owner(), NOW)).toBe('token_expired');
  });
  it('refuses when the key is disabled', () => {
    expect(checkTokenState(token(), owner({ status: 'disabled' }), NOW)).toBe('key_disabled');
  });
  it('accepts a token of the previous secret only during its grace', () => {
    const rotated = { previousSecretHash: '1$old', previousSecretExpiresAt: new Date(NOW.getTime() + 1000) };
    expect(checkTokenState(token({ generation: 2 }), owner(rotated), NOW)).toBe('ok');
    expect(checkTokenState(token({ generation: 2 }), owner({ ...rotated, previousSecretExpiresAt: NOW }), NOW)).toBe('secret_rotated');
  });
  it('refuses a token from two rotations ago even during a grace period', () => {
    const rotated = { previousSecretHash: '1$old', previousSecretExpiresAt: new Date(NOW.getTime() + 1000) };
    expect(checkTokenState(token({ generation: 1 }), owner(rotated), NOW)).toBe('secret_rotated');
  });
  it('is token_ended once the key’s token epoch has moved on, whatever else holds', () => {
    expect(checkTokenState(token({ epoch: 0 }), owner({ tokenEpoch: 1 }), NOW)).toBe('token_ended');
    expect(checkTokenState(token({ epoch: 1 }), owner({ tokenEpoch: 1 }), NOW)).toBe('ok');
  });
});

describe('networksNarrowed', () => {
  const nets = (...items: string[]) => {
    const parsed = parseNetworkList(items);
    if (!parsed.ok) throw new Error(parsed.invalid);
    return parsed.networks;
  };
  it('any network → some networks is narrower', () => {
    expect(networksNarrowed([], nets('10.0.0.0/8'))).toBe(true);
  });
  it('some networks → any network is wider', () => {
    expect(networksNarrowed(nets('10.0.0.0/8'), [])).toBe(false);
  });
  it('a sub-range is narrower, a super-range is not', () => {
    expect(networksNarrowed(nets('10.0.0.0/8'), nets('10.1.0.0/16'))).toBe(true);
    expect(networksNarrowed(nets('10.1.0.0/16'), nets('10.0.0.0/8'))).toBe(false);
  });
  it('adding a network is not narrowing; dropping one is', () => {
    expect(networksNarrowed(nets('10.0.0.0/8'), nets('10.0.0.0/8', '2001:db8::/32'))).toBe(false);
    expect(networksNarrowed(nets('10.0.0.0/8', '2001:db8::/32'), nets('10.0.0.0/8'))).toBe(true);
  });
  it('an IPv4 rule is never covered by an IPv6 one', () => {
    expect(networksNarrowed(nets('10.0.0.0/8'), nets('::/0'))).toBe(true);
  });
});
