import type { Network } from '../shared/network.ts';

export type KeyKind = 'service' | 'user';
export type KeyStatus = 'active' | 'disabled';

/** Whether the key's creator may still create such a key: if not, the key stops (owner rule). */
export type CreatorState = 'system' | 'active' | 'missing' | 'inactive';

/** Everything the token and introspection paths need to know about one key, read in one query. */
export interface KeySnapshot {
  clientId: string;
  tenantId: string;
  /** The tenant and every tenant above it are active: a disabled tenant stops its whole subtree. */
  tenantActive: boolean;
  /** Every tenant above the key's own, root first: their admins and resource servers may act on it. */
  tenantPath: readonly string[];
  kind: KeyKind;
  userId: string | null;
  /** For a user key: its user exists and is active. Always true for service keys. */
  userActive: boolean;
  scopes: readonly string[];
  /** What the key may hold right now: `scopes`, and for a user key ∩ its user's role. */
  effectiveScopes: readonly string[];
  networks: readonly Network[];
  /** When the key expires, ms since the epoch (a number, not a Date: every key in memory holds one). */
  expiresAtMs: number | null;
  status: KeyStatus;
  /** HMAC of the current secret, `<pepper version>$<mac>`. */
  secretHash: string;
  /** HMAC of the secret replaced by the last rotation, honoured until `previousSecretExpiresAt`. */
  previousSecretHash: string | null;
  previousSecretExpiresAt: Date | null;
  /** Rotations so far; tokens carry the generation of the secret that minted them. */
  secretGeneration: number;
  /** Bumped each time the key's live tokens are ended: a token of an older epoch is dead. */
  tokenEpoch: number;
  tokenTtlSeconds: number;
  /** Tokens this key may obtain per minute; null = no per-key limit. */
  rateLimitPerMinute: number | null;
  /**
   * The direct creator's standing. Creator keys have creators too: owner-chain.ts follows the
   * whole chain and reports the weakest link here.
   */
  creator: CreatorState;
  /** The key that created this one (null when a user, the CLI or bootstrap did). */
  createdByKeyId: string | null;
  /** How the key proves who it is, and whether its tokens must be DPoP-bound. */
  credentials: KeyCredentials;
}

/**
 * How a key authenticates: with its secret, a signed assertion checked against its public JWKS
 * (RFC 7523), or a TLS client certificate (RFC 8705): one issued by a trusted CA whose subject DN
 * or DNS SAN matches, or the one self-signed certificate registered with the key.
 */
export const AUTH_METHODS = ['client_secret', 'private_key_jwt', 'tls_client_auth', 'self_signed_tls_client_auth'] as const;
export type AuthMethod = (typeof AUTH_METHODS)[number];

/** A public JWK as stored (validated by schemas.ts: RS256, ES256 or EdDSA, no private part). */
export type PublicJwk = Record<string, unknown> & { kty: string };

export interface KeyCredentials {
  authMethod: AuthMethod;
  /** private_key_jwt: the public keys assertions are checked against (at most 5). */
  publicJwks: { keys: PublicJwk[] } | null;
  /** tls_client_auth: exactly one of the two is set. */
  tlsSubjectDn: string | null;
  tlsSanDns: string | null;
  /** self_signed_tls_client_auth: the registered certificate, PEM. */
  tlsCertificate: string | null;
  /** Tokens must be DPoP-bound (RFC 9449): a token request without a proof is refused. */
  dpopRequired: boolean;
}

/** Reads a key's current snapshot (through the cache, where there is one). */
export type KeyLookup = (clientId: string) => Promise<KeySnapshot | undefined>;

/** A key as the admin API and CLI show it (snake_case at the edge). */
export interface KeyView {
  client_id: string;
  name: string;
  description: string | null;
  kind: KeyKind;
  tenant_id: string;
  user_id: string | null;
  scopes: string[];
  networks: string[];
  expires_at: string | null;
  status: KeyStatus | 'expired';
  token_ttl_seconds: number;
  rate_limit_per_minute: number | null;
  created_by: string;
  created_at: string;
  updated_at: string;
  last_used_at: string | null;
  last_used_ip: string | null;
  auth_method: AuthMethod;
  /** private_key_jwt: the key's public JWKS. */
  jwks: { keys: PublicJwk[] } | null;
  /** tls_client_auth: the certificate subject the key must present. */
  tls_client_auth: { subject_dn: string } | { san_dns: string } | null;
  /** self_signed_tls_client_auth: the registered certificate (PEM, public). */
  tls_client_certificate: string | null;
  dpop_required: boolean;
}

/** Who created a key, named for people: a user by email, a key by name (null once it is gone). */
export interface KeyCreator {
  kind: 'user' | 'key';
  id: string;
  label: string | null;
}

/** A key as a list shows it: its creator named, its user's email, its last 7 days of issuance. */
export interface ListedKeyView extends Omit<KeyView, 'created_by'> {
  /** null: created by the operator's CLI or at bootstrap. */
  created_by: KeyCreator | null;
  user_email: string | null;
  /** Tokens issued per UTC day, the last 7 days, today last; null when the counts cannot be read. */
  usage_7d: number[] | null;
}

/** Scopes with a meaning inside Keygate itself. `token:introspect` makes a key a resource server: it may introspect and revoke tokens. */
export const RESOURCE_SERVER_SCOPE = 'token:introspect';
export const KEY_WRITE_SCOPE = 'admin:keys:write';
export const ADMIN_SCOPES = ['admin:keys:read', 'admin:keys:write', 'admin:users:write', 'admin:tenants:write', 'admin:audit:read'] as const;

/** Scopes that mean something inside Keygate itself: only known ones may be granted, only by a holder. */
export const KEYGATE_SCOPES: readonly string[] = [...ADMIN_SCOPES, RESOURCE_SERVER_SCOPE];
export const isKeygateScope = (scope: string): boolean => scope.startsWith('admin:') || scope.startsWith('token:');
