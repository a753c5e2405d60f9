import { describe, it, expect } from 'vitest';
import type { KeySnapshot } from '../../src/keys/model.ts';
import { createPepperRing, hashSecret } from '../../src/crypto/secret-hash.ts';
import { generateClientSecret } from '../../src/crypto/credentials.ts';
import { checkKeyState } from '../../src/keys/key-state.ts';
import { checkSecret, checkSecretFormat } from '../../src/oauth/policy/secret.ts';

const NOW = new Date('2025-06-01T12:00:00.000Z');
const ring = createPepperRing([{ version: 1, secret: Buffer.from('a-test-pepper-of-at-least-32-characters') }]);

function key(overrides: Partial<KeySnapshot> = {}): KeySnapshot {
  return {
    clientId: 'kg_0000000000000000000001',
    tenantId: 'tenant-a',
    tenantActive: true,
    tenantPath: [],
    kind: 'service',
    userId: null,
    scopes: ['devices:read'],
    effectiveScopes: overrides.scopes ?? ['devices:read'],
    userActive: true,
    networks: [],
    expiresAtMs: null,
    status: 'active',
    secretHash: '1$unused',
    previousSecretHash: null,
    previousSecretExpiresAt: null,
    secretGeneration: 1,
    tokenEpoch: 0,
    rateLimitPerMinute: null,
    tokenTtlSeconds: 3600,
    creator: 'system',
    createdByKeyId: null,
    credentials: { authMethod: 'client_secret', publicJwks: null, tlsSubjectDn: null, tlsSanDns: null, tlsCertificate: null, dpopRequired: false },
    ...overrides,
  };
}

describe('checkKeyState', () => {
  it('is ok for an active, unexpired key of a system creator in an active tenant', () => {
    expect(checkKeyState(key(), NOW)).toBe('ok');
  });

  it('is ok for an active creator', () => {
    expect(checkKeyState(key({ creator: 'active' }), NOW)).toBe('ok');
  });

  it('is ok before the expiry time', () => {
    expect(checkKeyState(key({ expiresAtMs: NOW.getTime() + 1 }), NOW)).toBe('ok');
  });

  it('is key_disabled for a disabled key', () => {
    expect(checkKeyState(key({ status: 'disabled' }), NOW)).toBe('key_disabled');
  });

  it('is key_expired after the expiry time', () => {
    expect(checkKeyState(key({ expiresAtMs: NOW.getTime() - 1 }), NOW)).toBe('key_expired');
  });

  it('is key_expired at exactly the expiry time', () => {
    expect(checkKeyState(key({ expiresAtMs: NOW.getTime() }), NOW)).toBe('key_expired');
  });

  it('is owner_not_authorized when the creator is missing', () => {
    expect(checkKeyState(key({ creator: 'missing' }), NOW)).toBe('owner_not_authorized');
  });

  it('is owner_not_authorized when the creator is inactive', () => {
    expect(checkKeyState(key({ creator: 'inactive' }), NOW)).toBe('owner_not_authorized');
  });

  it('is tenant_disabled when the tenant is inactive', () => {
    expect(checkKeyState(key({ tenantActive: false }), NOW)).toBe('tenant_disabled');
  });

  it('reports disabled before expired', () => {
    expect(checkKeyState(key({ status: 'disabled', expiresAtMs: NOW.getTime() }), NOW)).toBe('key_disabled');
  });

  it('reports expired before the owner', () => {
    expect(checkKeyState(key({ expiresAtMs: NOW.getTime(), creator: 'missing' }), NOW)).toBe('key_expired');
  });

  it('reports the owner before the tenant', () => {
    expect(checkKeyState(key({ creator: 'inactive', tenantActive: false }), NOW)).toBe('owner_not_authorized');
  });

  it('reports disabled when everything is wrong', () => {
    const broken = key({ status: 'disabled', expiresAtMs: NOW.getTime(), creator: 'missing', tenantActive: false });
    expect(checkKeyState(broken, NOW)).toBe('key_disabled');
  });
});

describe('checkSecretFormat', () => {
  it('is ok for a generated secret', () => {
    expect(checkSecretFormat(generateClientSecret())).toBe('ok');
  });

  it('is malformed_secret for a secret with a broken checksum', () => {
    const secret = generateClientSecret();
    const last = secret.at(-1) === 'A' ? 'B' : 'A';
    expect(checkSecretFormat(secret.slice(0, -1) + last)).toBe('malformed_secret');
  });

  it('is malformed_secret for arbitrary text', () => {
    expect(checkSecretFormat('hunter2')).toBe('malformed_secret');
    expect(checkSecretFormat('')).toBe('malformed_secret');
  });
});

describe('checkSecret', () => {
  const current = generateClientSecret();
  const previous = generateClientSecret();
  const rotated = (previousSecretExpiresAt: Date) => ({
    secretHash: hashSecret(ring, current),
    previousSecretHash: hashSecret(ring, previous),
    previousSecretExpiresAt,
  });

  it('accepts the current secret', () => {
    expect(checkSecret(ring, key({ secretHash: hashSecret(ring, current) }), current, NOW)).toBe('current');
  });

  it('accepts the current secret after the previous one expired', () => {
    expect(checkSecret(ring, rotated(new Date(NOW.getTime() - 1)), current, NOW)).toBe('current');
  });

  it('accepts the previous secret during the grace period', () => {
    expect(checkSecret(ring, rotated(new Date(NOW.getTime() + 1)), previous, NOW)).toBe('previous');
  });

  it('refuses the previous secret once the grace period has ended', () => {
    expect(checkSecret(ring, rotated(new Date(NOW.getTime() - 1)), previous, NOW)).toBe('secret_mismatch');
  });

  it('refuses the previous secret at exactly the end of the grace period', () => {
    expect(checkSecret(ring, rotated(NOW), previous, NOW)).toBe('secret_mismatch');
  });

  it('refuses a wrong secret when there is no previous secret', () => {
    expect(checkSecret(ring, key({ secretHash: hashSecret(ring, current) }), previous, NOW)).toBe('secret_mismatch');
  });

  it('refuses a previous hash that has no expiry', () => {
    const noExpiry = { ...rotated(NOW), previousSecretExpiresAt: null };
    expect(checkSecret(ring, noExpiry, previous, NOW)).toBe('secret_mismatch');
  });

  it('refuses a secret matching neither during the grace period', () => {
    expect(checkSecret(ring, rotated(new Date(NOW.getTime() + 60_000)), generateClientSecret(), NOW)).toBe('secret_mismatch');
  });

  describe('remembering matches per snapshot', () => {
    it('does not verify the same snapshot twice (snapshots are immutable: the key cache replaces them)', () => {
      const snapshot = { ...rotated(NOW), previousSecretHash: null };
      expect(checkSecret(ring, snapshot, current, NOW)).toBe('current');
      // Proof the second answer comes from the memo: the stored hash no longer matches anything.
      snapshot.secretHash = '1$changed-in-place';
      expect(checkSecret(ring, snapshot, current, NOW)).toBe('current');
      expect(checkSecret(ring, { ...snapshot }, current, NOW)).toBe('secret_mismatch');
    });

    it('still refuses other secrets after a match', () => {
      const snapshot = rotated(new Date(NOW.getTime() + 60_000));
      expect(checkSecret(ring, snapshot, current, NOW)).toBe('current');
      expect(checkSecret(ring, snapshot, generateClientSecret(), NOW)).toBe('secret_mismatch');
      expect(checkSecret(ring, snapshot, previous, NOW)).toBe('previous');
      expect(checkSecret(ring, snapshot, current, NOW)).toBe('current');
    });

    it('ends a remembered previous secret with its grace period', () => {
      const graceEnd = new Date(NOW.getTime() + 1000);
      const snapshot = rotated(graceEnd);
      expect(checkSecret(ring, snapshot, previous, NOW)).toBe('previous');
      expect(checkSecret(ring, snapshot, previous, new Date(graceEnd.getTime() - 1))).toBe('previous');
      expect(checkSecret(ring, snapshot, previous, graceEnd)).toBe('secret_mismatch');
    });

    it('does not carry a match over to another pepper ring', () => {
      const snapshot = rotated(NOW);
      expect(checkSecret(ring, snapshot, current, NOW)).toBe('current');
      const otherPepper = createPepperRing([{ version: 1, secret: Buffer.from('another-pepper-of-at-least-32-characters') }]);
      expect(checkSecret(otherPepper, snapshot, current, NOW)).toBe('secret_mismatch');
    });
  });
});
