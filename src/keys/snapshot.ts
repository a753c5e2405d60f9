// A key's stored state turned into what the token and introspection paths check (KeySnapshot):
// its tenant path, its effective scopes (a user key: ∩ its user's role), its parsed networks and
// its direct creator's standing (owner-chain.ts follows the rest of the chain).
import type { KeyStateRow, KeyStore } from '../stores/keys.ts';
import { parseNetworkList, type Network } from '../shared/network.ts';
import { mayCreateKeys, userKeyScopes, type RoleScopes } from '../identity/roles.ts';
import { KEY_WRITE_SCOPE, type CreatorState, type KeyCredentials, type KeySnapshot } from './model.ts';

const NO_NETWORKS: readonly Network[] = Object.freeze([]);

/** Tenant paths never change, and every key of a tenant shares one frozen copy of its path. */
function createPathInterner() {
  const paths = new Map<string, readonly string[]>();
  return (tenantId: string, ancestors: string[]): readonly string[] => {
    let path = paths.get(tenantId);
    if (!path) paths.set(tenantId, (path = Object.freeze(ancestors)));
    return path;
  };
}

/** Distinct values one interner holds before it starts over (only sharing is lost, never a value). */
const INTERNED_MAX = 20_000;

/**
 * One frozen copy of each distinct value, shared by every snapshot that holds it: a fleet of
 * 100,000 keys has a handful of tenants, scope lists, network lists and credential shapes, and
 * each snapshot otherwise carries its own copies read from Postgres.
 */
function createInterner<T>() {
  let values = new Map<string, T>();
  return (id: string, make: () => T): T => {
    let value = values.get(id);
    if (value === undefined) {
      if (values.size >= INTERNED_MAX) values = new Map();
      values.set(id, (value = make()));
    }
    return value;
  };
}

/** Parsed and deduplicated networks; an unreadable entry is corruption, never "any network". */
function parsedNetworks(row: KeyStateRow): readonly Network[] {
  const networks = parseNetworkList(row.networks);
  if (!networks.ok) throw new Error(`key ${row.client_id} has an unreadable network entry`);
  return Object.freeze(networks.networks);
}

function credentialsOf(row: KeyStateRow): KeyCredentials {
  return Object.freeze({
    authMethod: row.auth_method,
    publicJwks: row.public_jwks,
    tlsSubjectDn: row.tls_subject_dn,
    tlsSanDns: row.tls_san_dns,
    tlsCertificate: row.tls_certificate,
    dpopRequired: row.dpop_required,
  });
}

/**
 * A key created through the admin API depends on its creators keeping the right to create keys:
 * the person (deleted, disabled or demoted below manager = no longer allowed; for a user key the
 * person made for themselves in the console, only deleted or disabled), and the key that
 * made it (still there, not disabled, still holding admin:keys:write). A user key acting records
 * both. A creating key's expiry is not a loss of rights (an expiring bootstrap key must not take
 * every key it made down with it).
 */
function creatorState(row: KeyStateRow): CreatorState {
  const states: CreatorState[] = [];
  if (row.created_by_user_id) {
    // A user key a person made for themselves, signed in (any active person may, a member too),
    // needs only that they stay active: their role already bounds what the key holds. Made
    // through a key, it follows the rule for everyone else.
    const ownKey = row.kind === 'user' && row.created_by_user_id === row.user_id && row.created_by_key_id === null;
    const mayCreate = ownKey || (row.creator_user_role !== null && mayCreateKeys(row.creator_user_role));
    states.push(row.creator_user_status === null ? 'missing' : row.creator_user_status === 'active' && mayCreate ? 'active' : 'inactive');
  }
  if (row.created_by_key_id) {
    states.push(
      row.creator_key_status === null
        ? 'missing'
        : row.creator_key_status === 'active' && (row.creator_key_scopes ?? []).includes(KEY_WRITE_SCOPE)
          ? 'active'
          : 'inactive',
    );
  }
  return states.find((state) => state !== 'active') ?? (states.length > 0 ? 'active' : 'system');
}

export function createSnapshotReader(keys: Pick<KeyStore, 'findStates' | 'listStates'>, roleScopes: RoleScopes) {
  const internPath = createPathInterner();

  const text = createInterner<string>();
  const scopeLists = createInterner<readonly string[]>();
  const networkLists = createInterner<readonly Network[]>();
  const secretCredentials = createInterner<KeyCredentials>();
  const internText = <T extends string | null>(value: T): T => (value === null ? value : (text(value, () => value) as T));
  const internScopes = (scopes: readonly string[]) => scopeLists(scopes.join(' '), () => Object.freeze(scopes.map((scope) => internText(scope))));

  function toSnapshot(row: KeyStateRow): KeySnapshot {
    const scopes = internScopes(row.scopes);
    // A key with a secret and nothing else has one of two credential shapes; the others carry their own material.
    const plainSecret = row.auth_method === 'client_secret' && !row.public_jwks && !row.tls_subject_dn && !row.tls_san_dns && !row.tls_certificate;
    return {
      clientId: row.client_id,
      tenantId: internText(row.tenant_id),
      tenantActive: row.tenant_active,
      tenantPath: internPath(row.tenant_id, row.tenant_ancestors),
      kind: internText(row.kind),
      userId: internText(row.user_id),
      userActive: row.kind === 'service' || row.user_status === 'active',
      scopes,
      effectiveScopes: row.kind === 'user' && row.user_role ? internScopes(userKeyScopes(roleScopes, row.user_role, row.scopes)) : scopes,
      networks: row.networks.length === 0 ? NO_NETWORKS : networkLists(row.networks.join(' '), () => parsedNetworks(row)),
      expiresAtMs: row.expires_at === null ? null : row.expires_at.getTime(),
      status: internText(row.status),
      secretHash: row.secret_hash,
      previousSecretHash: row.previous_secret_hash,
      previousSecretExpiresAt: row.previous_secret_expires_at,
      secretGeneration: row.secret_generation,
      tokenEpoch: row.token_epoch,
      tokenTtlSeconds: row.token_ttl_seconds,
      rateLimitPerMinute: row.rate_limit_per_minute,
      creator: creatorState(row),
      createdByKeyId: internText(row.created_by_key_id),
      credentials: plainSecret ? secretCredentials(String(row.dpop_required), () => credentialsOf(row)) : credentialsOf(row),
    };
  }

  return {
    /** Several keys in one query, by client id; keys that do not exist are absent. */
    async findMany(clientIds: readonly string[]): Promise<Map<string, KeySnapshot>> {
      const rows = await keys.findStates(clientIds);
      return new Map(rows.map((row) => [row.client_id, toSnapshot(row)]));
    },
    /** Every key in client_id order, a page at a time (for warming the key cache). */
    async listPage(afterClientId: string | undefined, limit: number): Promise<KeySnapshot[]> {
      return (await keys.listStates(afterClientId, limit)).map(toSnapshot);
    },
  };
}
