// What a key may be given, stated once: the admin API validates requests and writes its OpenAPI
// document from these schemas, and the key service validates every caller's input (the CLI's
// too) with the same ones. Rules that need stored state (the tenant's expiry policy, the user,
// the caller's own rights) are checked by the service after these.
import { createPublicKey, X509Certificate } from 'node:crypto';
import { z } from 'zod';
import { parseNetworkList } from '../shared/network.ts';
import { isValidScopeToken } from '../shared/scope-token.ts';

export const KEY_LIMITS = Object.freeze({
  nameMaxLength: 255,
  descriptionMaxLength: 1024,
  maxNetworks: 10,
  maxScopes: 100,
  minTokenTtlSeconds: 60,
  maxTokenTtlSeconds: 86_400,
  defaultLifetimeDays: 90,
  maxKeysPerUser: 20,
  maxRateLimitPerMinute: 1_000_000,
  /** How long a rotated-out secret may keep working: 7 days. */
  maxGraceSeconds: 7 * 86_400,
});

/** What a key's own credentials may be: public keys for signed assertions, or a TLS identity. */
export const CREDENTIAL_LIMITS = Object.freeze({
  maxPublicKeys: 5,
  /** The signing algorithms a key's assertions may use, each tied to one key type. */
  algorithmsByKeyType: Object.freeze({ RSA: 'RS256', EC: 'ES256', OKP: 'EdDSA' } as const),
  minRsaModulusBits: 2048,
  maxCertificateLength: 16_384,
  maxSubjectLength: 1024,
});

/** Ed25519 keys sign as `EdDSA` or, in the fully specified name newer clients use, `Ed25519`. */
export const ASSERTION_ALGORITHMS = [...Object.values(CREDENTIAL_LIMITS.algorithmsByKeyType), 'Ed25519'] as const;

export const timestamp = z.iso.datetime({ offset: true }).describe('ISO-8601 timestamp');
const scope = z.string().min(1).max(128).describe('RFC 6749 scope token');
const network = z.string().min(1).max(64).describe('IPv4/IPv6 address or CIDR');

const scopes = z
  .array(scope)
  .min(1)
  .max(KEY_LIMITS.maxScopes)
  .superRefine((items, ctx) => {
    const invalid = items.find((s) => !isValidScopeToken(s));
    if (invalid !== undefined)
      ctx.addIssue({ code: 'custom', message: `'${invalid.slice(0, 64)}' is not a valid scope (RFC 6749 §3.3 characters, 1–128 long)` });
  });

const networks = z
  .array(network)
  .max(KEY_LIMITS.maxNetworks)
  .superRefine((items, ctx) => {
    const parsed = parseNetworkList(items);
    if (!parsed.ok) ctx.addIssue({ code: 'custom', message: `'${parsed.invalid.slice(0, 64)}' is not an IP address or CIDR` });
  });

const base64url = z
  .string()
  .min(1)
  .max(2048)
  .regex(/^[A-Za-z0-9_-]+$/, 'must be base64url');

/**
 * One public signing key. Only the members a public key needs are accepted, so a private key
 * (`d`, `p`, `q` …) pasted by mistake is refused rather than stored.
 */
const publicJwk = z
  .strictObject({
    kty: z.enum(['RSA', 'EC', 'OKP']),
    kid: z.string().min(1).max(128).optional(),
    alg: z.enum(ASSERTION_ALGORITHMS).optional(),
    use: z.literal('sig').optional(),
    n: base64url.optional(),
    e: base64url.optional(),
    crv: z.enum(['P-256', 'Ed25519']).optional(),
    x: base64url.optional(),
    y: base64url.optional(),
  })
  .superRefine((jwk, ctx) => {
    const alg = CREDENTIAL_LIMITS.algorithmsByKeyType[jwk.kty];
    const fits = jwk.alg === undefined || jwk.alg === alg || (jwk.kty === 'OKP' && jwk.alg === 'Ed25519');
    if (!fits) ctx.addIssue({ code: 'custom', message: `a ${jwk.kty} key signs with ${alg}` });
    if (jwk.kty === 'EC' && jwk.crv !== 'P-256') ctx.addIssue({ code: 'custom', message: 'an EC key must be on P-256 (ES256)' });
    if (jwk.kty === 'OKP' && jwk.crv !== 'Ed25519') ctx.addIssue({ code: 'custom', message: 'an OKP key must be Ed25519 (EdDSA)' });
    try {
      const key = createPublicKey({ key: jwk as never, format: 'jwk' });
      const bits = key.asymmetricKeyDetails?.modulusLength;
      if (jwk.kty === 'RSA' && (bits ?? 0) < CREDENTIAL_LIMITS.minRsaModulusBits) {
        ctx.addIssue({ code: 'custom', message: `an RSA key needs at least ${CREDENTIAL_LIMITS.minRsaModulusBits} bits` });
      }
    } catch {
      ctx.addIssue({ code: 'custom', message: 'not a usable public key' });
    }
  });

const publicJwks = z
  .strictObject({ keys: z.array(publicJwk).min(1).max(CREDENTIAL_LIMITS.maxPublicKeys) })
  .superRefine((jwks, ctx) => {
    const kids = jwks.keys.map((k) => k.kid).filter((kid) => kid !== undefined);
    if (new Set(kids).size !== kids.length) ctx.addIssue({ code: 'custom', message: 'kid values must be unique' });
  })
  .describe(`private_key_jwt: the public keys (at most ${CREDENTIAL_LIMITS.maxPublicKeys}; RS256, ES256 or EdDSA) client assertions are checked against`);

const tlsClientAuth = z
  .union([
    z.strictObject({ subject_dn: z.string().min(1).max(CREDENTIAL_LIMITS.maxSubjectLength).describe('RFC 4514 subject DN, e.g. CN=sensor-1,O=Acme') }),
    z.strictObject({
      san_dns: z
        .string()
        .min(1)
        .max(253)
        .regex(/^[A-Za-z0-9*]([A-Za-z0-9-.]*[A-Za-z0-9])?$/, 'must be a DNS name'),
    }),
  ])
  .describe('tls_client_auth: the subject a certificate issued by a trusted CA must carry');

const tlsCertificate = z
  .string()
  .min(1)
  .max(CREDENTIAL_LIMITS.maxCertificateLength)
  .refine((pem) => {
    if (!pem.includes('-----BEGIN CERTIFICATE-----')) return false;
    try {
      new X509Certificate(pem);
      return true;
    } catch {
      return false;
    }
  }, 'must be one PEM certificate')
  .describe('self_signed_tls_client_auth: the certificate the client presents, PEM');

/** A key holds at most one credential besides (instead of) its secret. */
function oneCredentialAtMost(body: { jwks?: unknown; tls_client_auth?: unknown; tls_client_certificate?: unknown }, ctx: z.RefinementCtx): void {
  const given = (['jwks', 'tls_client_auth', 'tls_client_certificate'] as const).filter((field) => body[field] !== undefined && body[field] !== null);
  if (given.length > 1) {
    ctx.addIssue({ code: 'custom', path: [given[1]!], message: `a key holds one credential: '${given[0]}' and '${given[1]}' cannot be combined` });
  }
}

export const keyFields = {
  name: z
    .string()
    .min(1)
    .max(KEY_LIMITS.nameMaxLength)
    .refine((name) => name === '' || name.trim() !== '', 'must not be blank'),
  description: z.string().max(KEY_LIMITS.descriptionMaxLength).nullable(),
  scopes,
  networks,
  expires_at: timestamp.nullable().describe('omitted = default lifetime (90 days); null = never, when the tenant allows it'),
  token_ttl_seconds: z.int().min(KEY_LIMITS.minTokenTtlSeconds).max(KEY_LIMITS.maxTokenTtlSeconds),
  rate_limit_per_minute: z.int().min(1).max(KEY_LIMITS.maxRateLimitPerMinute).nullable(),
  jwks: publicJwks.nullable(),
  tls_client_auth: tlsClientAuth.nullable(),
  tls_client_certificate: tlsCertificate.nullable(),
  dpop_required: z.boolean().describe('tokens must be DPoP-bound: a token request without a DPoP proof is refused'),
};

const credentialFields = {
  jwks: keyFields.jwks.optional(),
  tls_client_auth: keyFields.tls_client_auth.optional(),
  tls_client_certificate: keyFields.tls_client_certificate.optional(),
  dpop_required: keyFields.dpop_required.optional(),
};

export const NewKeySchema = z
  .strictObject({
    ...keyFields,
    description: keyFields.description.optional(),
    networks: keyFields.networks.optional(),
    expires_at: keyFields.expires_at.optional(),
    token_ttl_seconds: keyFields.token_ttl_seconds.optional(),
    rate_limit_per_minute: keyFields.rate_limit_per_minute.optional(),
    kind: z.enum(['service', 'user']).optional(),
    user_id: z.uuid().optional(),
    tenant_id: z.uuid().optional().describe("defaults to the caller's tenant; a child tenant's id is allowed"),
    ...credentialFields,
  })
  .superRefine(oneCredentialAtMost);

export const KeyChangeSchema = z
  .strictObject({
    name: keyFields.name.optional(),
    description: keyFields.description.optional(),
    scopes: keyFields.scopes.optional(),
    networks: keyFields.networks.optional(),
    expires_at: keyFields.expires_at.optional(),
    token_ttl_seconds: keyFields.token_ttl_seconds.optional(),
    rate_limit_per_minute: keyFields.rate_limit_per_minute.optional(),
    ...credentialFields,
  })
  .superRefine(oneCredentialAtMost);

export const RotationSchema = z.strictObject({
  grace_seconds: z.int().min(0).max(KEY_LIMITS.maxGraceSeconds).describe('how long the old secret keeps working; 0 = stop now'),
});

/** A new key, as every caller describes it (`tenant_id` omitted = the caller's own tenant). */
export type NewKey = z.input<typeof NewKeySchema>;
/** A new key that authenticates with a secret (no JWKS or TLS identity). */
export type NewSecretKey = Omit<NewKey, 'jwks' | 'tls_client_auth' | 'tls_client_certificate'>;
/** Fields to change on a key; absent = unchanged. */
export type KeyChange = z.input<typeof KeyChangeSchema>;

/** Networks as stored: canonical CIDR texts (a single address becomes /32 or /128), no repeats. */
export function canonicalNetworks(items: readonly string[]): string[] {
  const parsed = parseNetworkList(items);
  if (!parsed.ok) throw new Error(`canonicalNetworks: '${parsed.invalid}' was not validated`);
  return parsed.networks.map((network) => network.text);
}

/** The orders a key list offers; a leading `-` is descending. */
export const KEY_SORTS = ['name', '-name', 'created_at', '-created_at', 'expires_at', '-expires_at', 'last_used_at', '-last_used_at'] as const;
export type KeySortName = (typeof KEY_SORTS)[number];
export const DEFAULT_KEY_SORT: KeySortName = '-created_at';
/** What a key has instead of its secret, if anything: at most one of the three credentials. */
export interface CredentialInput {
  jwks?: z.input<typeof publicJwks> | null;
  tls_client_auth?: z.input<typeof tlsClientAuth> | null;
  tls_client_certificate?: string | null;
}

/**
 * The credential columns for a validated input: the credential given replaces whatever the key
 * held (null for all three = the key's secret again). Undefined when the input names none.
 */
export function credentialColumns(input: CredentialInput) {
  if (input.jwks === undefined && input.tls_client_auth === undefined && input.tls_client_certificate === undefined) return undefined;
  const jwks = input.jwks ?? null;
  const subject = input.tls_client_auth ?? null;
  const certificate = input.tls_client_certificate?.trim() ?? null;
  return {
    auth_method: jwks ? 'private_key_jwt' : certificate ? 'self_signed_tls_client_auth' : subject ? 'tls_client_auth' : 'client_secret',
    public_jwks: jwks && { keys: jwks.keys },
    tls_subject_dn: subject && 'subject_dn' in subject ? subject.subject_dn : null,
    tls_san_dns: subject && 'san_dns' in subject ? subject.san_dns : null,
    tls_certificate: certificate,
  } as const;
}
