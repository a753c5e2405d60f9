import { describe, it, expect } from 'vitest';
import type { KeySnapshot } from '../../src/keys/model.ts';
import { createPepperRing, hashSecret } from '../../src/crypto/secret-hash.ts';
import { generateClientId, generateClientSecret } from '../../src/crypto/credentials.ts';
import { parseIp, parseNetworkList, type IpAddress, type Network } from '../../src/shared/network.ts';
import { authenticateClient, grantRequestedScopes, mayActOnTokensOf, runTokenPolicy, tenantMayActOn, type KeyLookup } from '../../src/oauth/pipeline.ts';
import { createAbuseLimits } from '../../src/oauth/abuse-limits.ts';
import { createMemoryCounters } from '../../src/stores/counters.ts';
import { createMetrics } from '../../src/shared/metrics.ts';
import { createLogger } from '../../src/logger.ts';

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
    expiresAtMs: null,
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
    credentials: { authMethod: 'client_secret', publicJwks: null, tlsSubjectDn: null, tlsSanDns: null, tlsCertificate: null, dpopRequired: false },
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

describe('authenticateClient (steps 2–10)', () => {
  const inside = ip('203.0.113.7');
  const outside = ip('198.51.100.9');
  const restricted = networks('203.0.113.0/24');
  const presented = (overrides: { clientId?: string; secret?: string; ip?: IpAddress } = {}) => ({
    clientId: CLIENT_ID,
    secret: SECRET,
    ip: inside,
    now: NOW,
    ...overrides,
  });

  it('refuses a malformed secret without looking the key up', async () => {
    const lookupKey = lookupOf(key());
    expect(await authenticateClient({ lookupKey, pepperRing }, presented({ secret: 'not-a-secret' }))).toEqual({ ok: false, reason: 'malformed_secret' });
    expect(lookupKey.calls).toBe(0);
  });

  it('reports a malformed secret before a malformed client id', async () => {
    const lookupKey = lookupOf();
    expect(await authenticateClient({ lookupKey, pepperRing }, presented({ clientId: 'nope', secret: 'not-a-secret' }))).toEqual({
      ok: false,
      reason: 'malformed_secret',
    });
    expect(lookupKey.calls).toBe(0);
  });

  it('treats a malformed client id as unknown without looking it up', async () => {
    const lookupKey = lookupOf(key({ clientId: 'nope' }));
    expect(await authenticateClient({ lookupKey, pepperRing }, presented({ clientId: 'nope' }))).toEqual({ ok: false, reason: 'unknown_key' });
    expect(lookupKey.calls).toBe(0);
  });

  it('refuses a well-formed client id that no key has', async () => {
    const lookupKey = lookupOf(key());
    expect(await authenticateClient({ lookupKey, pepperRing }, presented({ clientId: generateClientId() }))).toEqual({ ok: false, reason: 'unknown_key' });
    expect(lookupKey.calls).toBe(1);
  });

  it('refuses a well-formed secret that does not match, returning the key', async () => {
    const stored = key();
    expect(await authenticateClient({ lookupKey: lookupOf(stored), pepperRing }, presented({ secret: generateClientSecret() }))).toEqual({
      ok: false,
      reason: 'secret_mismatch',
      key: stored,
    });
  });

  it('accepts the right secret from an allowed network, returning the key and the secret generation', async () => {
    const stored = key({ networks: restricted });
    const lookupKey = lookupOf(stored);
    expect(await authenticateClient({ lookupKey, pepperRing }, presented())).toEqual({ ok: true, key: stored, secretGeneration: 1 });
    expect(lookupKey.calls).toBe(1);
  });

  it('checks the secret before the key state: a wrong secret for a disabled key is a mismatch', async () => {
    const stored = key({ status: 'disabled' });
    expect(await authenticateClient({ lookupKey: lookupOf(stored), pepperRing }, presented({ secret: generateClientSecret() }))).toEqual({
      ok: false,
      reason: 'secret_mismatch',
      key: stored,
    });
  });

  it('checks the key state before the network', async () => {
    const stored = key({ status: 'disabled', networks: restricted });
    expect(await authenticateClient({ lookupKey: lookupOf(stored), pepperRing }, presented({ ip: outside }))).toEqual({
      ok: false,
      reason: 'key_disabled',
      key: stored,
    });
  });

  it('refuses a caller outside the key networks, and an unknown caller', async () => {
    const stored = key({ networks: restricted });
    expect(await authenticateClient({ lookupKey: lookupOf(stored), pepperRing }, presented({ ip: outside }))).toEqual({
      ok: false,
      reason: 'ip_not_allowed',
      key: stored,
    });
    expect(await authenticateClient({ lookupKey: lookupOf(stored), pepperRing }, { ...presented(), ip: undefined })).toEqual({
      ok: false,
      reason: 'ip_not_allowed',
      key: stored,
    });
  });
});

describe('grantRequestedScopes (step 11)', () => {
  it('grants every scope of the key when none is requested', () => {
    expect(grantRequestedScopes(key(), [])).toEqual({ ok: true, scopes: ['devices:read', 'devices:write'] });
  });

  it('refuses a scope the key lacks, listing it', () => {
    expect(grantRequestedScopes(key(), ['devices:read', 'admin:*'])).toEqual({ ok: false, reason: 'scope_not_granted', missing: ['admin:*'] });
  });
});

describe('runTokenPolicy (steps 1–12)', () => {
  const source = ip('203.0.113.7');
  const limitsFor = (failuresPerClientSource: number) =>
    createAbuseLimits({
      counters: createMemoryCounters(),
      config: { failuresPerClientSource, failuresPerSource: 1_000_000, windowSeconds: 60 },
      metrics: createMetrics(),
      log: createLogger('silent'),
      onCrossed: async () => {},
    });
  const request = (overrides: Partial<Parameters<typeof runTokenPolicy>[1]> = {}) => ({
    clientId: CLIENT_ID,
    secret: SECRET,
    ip: source,
    source,
    now: NOW,
    requestedScopes: [] as string[],
    purpose: 'token' as const,
    ...overrides,
  });

  it('checks the failure limits first: a locked (client, source) is refused before its secret is looked at', async () => {
    const limits = limitsFor(1);
    await limits.recordFailure(CLIENT_ID, source, 'token.issue');
    const lookupKey = lookupOf(key());
    const outcome = await runTokenPolicy({ lookupKey, pepperRing, limits }, request());
    expect(outcome).toMatchObject({ ok: false, reason: 'rate_limited' });
    expect(lookupKey.calls).toBe(0);
  });

  it('checks the network before the scopes', async () => {
    const stored = key({ networks: networks('10.0.0.0/8') });
    expect(await runTokenPolicy({ lookupKey: lookupOf(stored), pepperRing, limits: limitsFor(10) }, request({ requestedScopes: ['admin:*'] }))).toEqual({
      ok: false,
      reason: 'ip_not_allowed',
      key: stored,
    });
  });

  it('refuses a scope the key lacks; for introspection that is not_introspector', async () => {
    const stored = key();
    const deps = { lookupKey: lookupOf(stored), pepperRing, limits: limitsFor(10) };
    expect(await runTokenPolicy(deps, request({ requestedScopes: ['admin:*'] }))).toEqual({
      ok: false,
      reason: 'scope_not_granted',
      key: stored,
      missing: ['admin:*'],
    });
    expect(await runTokenPolicy(deps, request({ requestedScopes: ['token:introspect'], purpose: 'introspect' }))).toEqual({
      ok: false,
      reason: 'not_introspector',
      key: stored,
    });
  });

  it('counts issuance last, for tokens only', async () => {
    const stored = key({ rateLimitPerMinute: 1 });
    const deps = { lookupKey: lookupOf(stored), pepperRing, limits: limitsFor(10) };
    expect(await runTokenPolicy(deps, request())).toEqual({ ok: true, key: stored, scopes: ['devices:read', 'devices:write'], secretGeneration: 1 });
    expect(await runTokenPolicy(deps, request())).toMatchObject({ ok: false, reason: 'rate_limited', key: stored });
    expect(await runTokenPolicy(deps, request({ requestedScopes: ['devices:read'], purpose: 'introspect' }))).toMatchObject({ ok: true });
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
