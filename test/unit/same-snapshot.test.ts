import { describe, expect, it } from 'vitest';
import type { KeySnapshot } from '../../src/keys/model.ts';
import { sameSnapshot } from '../../src/keys/same-snapshot.ts';
import { parseNetworkList } from '../../src/shared/network.ts';

/** A snapshot with every field set, built afresh on each call (no object shared between two). */
function snapshot(): KeySnapshot {
  const networks = parseNetworkList(['10.0.0.0/8', '2001:db8::/32']);
  if (!networks.ok) throw new Error('test networks');
  return {
    clientId: 'kg_0000000000000000000001',
    tenantId: 'tenant-a',
    tenantActive: true,
    tenantPath: ['root', 'tenant-a'],
    kind: 'user',
    userId: 'user-1',
    userActive: true,
    scopes: ['devices:read', 'devices:write'],
    effectiveScopes: ['devices:read'],
    networks: networks.networks,
    expiresAtMs: 1_800_000_000_000,
    status: 'active',
    secretHash: '1$abc',
    previousSecretHash: '1$def',
    previousSecretExpiresAt: new Date('2026-12-04T12:00:00Z'),
    secretGeneration: 2,
    tokenEpoch: 3,
    tokenTtlSeconds: 3600,
    rateLimitPerMinute: 60,
    creator: 'active',
    createdByKeyId: 'kg_0000000000000000000002',
    credentials: { authMethod: 'client_secret', publicJwks: null, tlsSubjectDn: null, tlsSanDns: null, tlsCertificate: null, dpopRequired: false },
  };
}

/** Some other value of the same kind. */
function another(value: unknown): unknown {
  if (value === null) return 'set';
  if (typeof value === 'string') return `${value}x`;
  if (typeof value === 'number') return value + 1;
  if (typeof value === 'boolean') return !value;
  if (value instanceof Date) return new Date(value.getTime() + 1);
  if (Array.isArray(value)) return value.slice(1);
  const [first] = Object.keys(value as object);
  return { ...(value as object), [first!]: another((value as Record<string, unknown>)[first!]) };
}

describe('sameSnapshot', () => {
  it('holds for two snapshots read apart that say the same thing', () => {
    expect(sameSnapshot(snapshot(), snapshot())).toBe(true);
  });

  it('fails when any one field differs, every field in turn', () => {
    const fields = Object.keys(snapshot()) as (keyof KeySnapshot)[];
    expect(fields).toHaveLength(22);
    for (const field of fields) {
      const changed = { ...snapshot(), [field]: another(snapshot()[field]) };
      expect(sameSnapshot(snapshot(), changed), field).toBe(false);
    }
  });

  it('compares networks by their parsed ranges, not only their text', () => {
    const wider = parseNetworkList(['10.0.0.0/8', '2001:db8::/32']);
    const narrower = parseNetworkList(['10.0.0.0/16', '2001:db8::/32']);
    if (!wider.ok || !narrower.ok) throw new Error('test networks');
    const sameText = narrower.networks.map((network, i) => ({ ...network, text: wider.networks[i]!.text }));
    expect(sameSnapshot({ ...snapshot(), networks: sameText }, snapshot())).toBe(false);
  });

  it('takes a field or a value it cannot compare as changed', () => {
    const withMap = (entries: [string, number][]) => ({ ...snapshot(), extra: new Map(entries) }) as KeySnapshot;
    expect(sameSnapshot(withMap([['a', 1]]), withMap([['a', 1]]))).toBe(false);
    expect(sameSnapshot({ ...snapshot(), extra: 1 } as KeySnapshot, snapshot())).toBe(false);
    expect(sameSnapshot(snapshot(), { ...snapshot(), extra: 1 } as KeySnapshot)).toBe(false);
  });
});
