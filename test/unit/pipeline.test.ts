import { describe, it, expect } from 'vitest';
import type { KeySnapshot } from '../../src/keys/model.ts';
import { createPepperRing, hashSecret } from '../../src/crypto/secret-hash.ts';
import { generateClientId, generateClientSecret } from '../../src/crypto/credentials.ts';
import { parseIp, parseNetworkList, type IpAddress, type Network } from '../../src/shared/network.ts';
import { authenticateKey, authorizeKey, mayActOnTokensOf, tenantMayActOn, type KeyLookup } from '../../src/oauth/pipeline.ts';

const NOW = new Date('2025-06-01T12:00:00.000Z');
const pepperRing = createPepperRing([{ version: 1, secret: Buffer.from('a-test-pepper-of-at-least-32-characters') }]);
const CLIENT_ID = generateClientId();
const SECRET = generateClientSecret();

function key(overrides: Partial<KeySnapshot> = {}): KeySnapshot {
  return {
    clientId: CLIENT_ID,
    tenantId: 'tenant-a',
    tenantActive: true,
    tenantPath: ['tenant-root'],
    kind: 'service',
    userId: null,
    scopes: ['devices:read', 'devices:write'],
    effectiveScopes: overrides.scopes ?? ['devices:read', 'devices:write'],
    userActive: true,
    networks: [],
    expiresAt: null,
    status: 'active',
    secretHash: hashSecret(pepperRing, SECRET),
    previousSecretHash: null,
    previousSecretExpiresAt: null,
    secretGeneration: 1,
    tokenEpoch: 0,
    rateLimitPerMinute: null,
    tokenTtlSeconds: 3600,
    creator: 'system',
    createdByKeyId: null,
    ...overrides,
  };
}

function ip(text: string): IpAddress {
  const parsed = parseIp(text);
  if (!parsed) throw new Error(`test setup: ${text} is not an IP`);
  return parsed;
}

function networks(...items: string[]): Network[] {
  const parsed = parseNetworkList(items);
  if (!parsed.ok) throw new Error(`test setup: ${parsed.invalid} is not a network`);
  return parsed.networks;
}

/** A lookup over a fixed set of keys that counts its calls. */
function lookupOf(...keys: KeySnapshot[]): KeyLookup & { calls: number } {
  const lookup = async (clientId: string) => {
    lookup.calls += 1;
    return keys.find((k) => k.clientId === clientId);
  };
  lookup.calls = 0;
  return lookup;
}

describe('authenticateKey', () => {
  it('refuses a malformed secret without looking the key up', async () => {
    const lookupKey = lookupOf(key());
    const result = await authenticateKey({ lookupKey, pepperRing }, CLIENT_ID, 'not-a-secret', NOW);
    expect(result).toEqual({ ok: false, reason: 'malformed_secret' });
    expect(lookupKey.calls).toBe(0);
  });

  it('reports a malformed secret before a malformed client id', async () => {
    const lookupKey = lookupOf();
    const result = await authenticateKey({ lookupKey, pepperRing }, 'nope', 'not-a-secret', NOW);
    expect(result).toEqual({ ok: false, reason: 'malformed_secret' });
    expect(lookupKey.calls).toBe(0);
  });

  it('treats a malformed client id as unknown without looking it up', async () => {
    const lookupKey = lookupOf(key({ clientId: 'nope' }));
    const result = await authenticateKey({ lookupKey, pepperRing }, 'nope', SECRET, NOW);
    expect(result).toEqual({ ok: false, reason: 'unknown_key' });
    expect(lookupKey.calls).toBe(0);
  });

  it('refuses a well-formed client id that no key has', async () => {
    const lookupKey = lookupOf(key());
    const result = await authenticateKey({ lookupKey, pepperRing }, generateClientId(), SECRET, NOW);
    expect(result).toEqual({ ok: false, reason: 'unknown_key' });
    expect(lookupKey.calls).toBe(1);
  });

  it('refuses a well-formed secret that does not match, returning the key', async () => {
    const stored = key();
    const result = await authenticateKey({ lookupKey: lookupOf(stored), pepperRing }, CLIENT_ID, generateClientSecret(), NOW);
    expect(result).toEqual({ ok: false, reason: 'secret_mismatch', key: stored });
  });

  it('accepts the right secret, returning the key', async () => {
    const stored = key();
    const lookupKey = lookupOf(stored);
    const result = await authenticateKey({ lookupKey, pepperRing }, CLIENT_ID, SECRET, NOW);
    expect(result).toEqual({ ok: true, key: stored, secretGeneration: 1 });
    expect(lookupKey.calls).toBe(1);
  });

  it('does not judge the key state', async () => {
    const stored = key({ status: 'disabled' });
    const result = await authenticateKey({ lookupKey: lookupOf(stored), pepperRing }, CLIENT_ID, SECRET, NOW);
    expect(result).toEqual({ ok: true, key: stored, secretGeneration: 1 });
  });
});

describe('authorizeKey', () => {
  const inside = ip('203.0.113.7');
  const outside = ip('198.51.100.9');
  const restricted = networks('203.0.113.0/24');

  it('grants every scope of the key when none is requested', () => {
    expect(authorizeKey(key(), { ip: inside, requestedScopes: [], now: NOW }))
      .toEqual({ ok: true, scopes: ['devices:read', 'devices:write'] });
  });

  it('grants the requested scopes from an allowed network', () => {
    const result = authorizeKey(key({ networks: restricted }), { ip: inside, requestedScopes: ['devices:read'], now: NOW });
    expect(result).toEqual({ ok: true, scopes: ['devices:read'] });
  });

  it('refuses a caller outside the key networks', () => {
    const result = authorizeKey(key({ networks: restricted }), { ip: outside, requestedScopes: [], now: NOW });
    expect(result).toEqual({ ok: false, reason: 'ip_not_allowed' });
  });

  it('refuses an unknown caller when the key has networks', () => {
    const result = authorizeKey(key({ networks: restricted }), { ip: undefined, requestedScopes: [], now: NOW });
    expect(result).toEqual({ ok: false, reason: 'ip_not_allowed' });
  });

  it('refuses a scope the key lacks, listing it', () => {
    const result = authorizeKey(key(), { ip: inside, requestedScopes: ['devices:read', 'admin:*'], now: NOW });
    expect(result).toEqual({ ok: false, reason: 'scope_not_granted', missing: ['admin:*'] });
  });

  it('checks the key state before the network', () => {
    const result = authorizeKey(key({ status: 'disabled', networks: restricted }), { ip: outside, requestedScopes: [], now: NOW });
    expect(result).toEqual({ ok: false, reason: 'key_disabled' });
  });

  it('checks the key state before the scopes', () => {
    const result = authorizeKey(key({ expiresAt: NOW }), { ip: inside, requestedScopes: ['admin:*'], now: NOW });
    expect(result).toEqual({ ok: false, reason: 'key_expired' });
  });

  it('checks the network before the scopes', () => {
    const result = authorizeKey(key({ networks: restricted }), { ip: outside, requestedScopes: ['admin:*'], now: NOW });
    expect(result).toEqual({ ok: false, reason: 'ip_not_allowed' });
  });
});

describe('tenantMayActOn', () => {
  const target = { tenantId: 'tenant-g2', tenantPath: ['tenant-root', 'tenant-c1', 'tenant-g1'] };

  it('lets a tenant act on its own keys', () => {
    expect(tenantMayActOn('tenant-g2', target)).toBe(true);
  });

  it('lets every tenant above act on the key, at any depth', () => {
    expect(['tenant-root', 'tenant-c1', 'tenant-g1'].map((id) => tenantMayActOn(id, target))).toEqual([true, true, true]);
  });

  it('refuses any other tenant', () => {
    expect(tenantMayActOn('tenant-b', target)).toBe(false);
  });

  it('refuses a sibling when the key tenant has no parent', () => {
    expect(tenantMayActOn('tenant-b', { tenantId: 'tenant-a', tenantPath: [] })).toBe(false);
  });
});

describe('mayActOnTokensOf', () => {
  const resourceServer = key({ tenantId: 'tenant-root', tenantPath: [] });
  const owner = key({ tenantId: 'tenant-a', tenantPath: ['tenant-root'], kind: 'user', userId: 'user-1' });

  it('lets a service key act on tokens in its subtree', () => {
    expect(mayActOnTokensOf(resourceServer, owner)).toBe(true);
  });

  it('confines a user key to its own user’s keys', () => {
    const sameUser = key({ tenantId: 'tenant-a', tenantPath: ['tenant-root'], kind: 'user', userId: 'user-1' });
    const otherUser = key({ tenantId: 'tenant-a', tenantPath: ['tenant-root'], kind: 'user', userId: 'user-2' });
    expect(mayActOnTokensOf(sameUser, owner)).toBe(true);
    expect(mayActOnTokensOf(otherUser, owner)).toBe(false);
    expect(mayActOnTokensOf(sameUser, key({ tenantId: 'tenant-a', tenantPath: ['tenant-root'] }))).toBe(false);
  });

  it('refuses a key outside the subtree', () => {
    expect(mayActOnTokensOf(key({ tenantId: 'tenant-a', tenantPath: ['tenant-root'] }), resourceServer)).toBe(false);
  });
});
