// oidc-provider storage adapter. Clients are API keys read from Postgres; ClientCredentials
// tokens live in the token store under a hash of the token (the adapter id IS the bearer token).
// No other model is used by a client_credentials-only server.
import { createHash, X509Certificate } from 'node:crypto';
import type { Adapter, AdapterPayload } from 'oidc-provider';
import type { KeySnapshot } from '../keys/model.ts';
import { isWellFormedClientId } from '../crypto/credentials.ts';
import { hashToken } from '../crypto/token-hash.ts';
import type { TokenStore } from '../stores/tokens.ts';
import type { KeyLookup } from './pipeline.ts';
import { guardStores } from './denials.ts';

export type AdapterFactory = (name: string) => Adapter;

/**
 * What oidc-provider needs to know about a key. For a key with a secret, `client_secret` is a
 * random per-process value that never leaves memory: secrets are verified against stored HMACs
 * by the compareClientSecret override in internals.ts, never by the library's own comparison.
 * Every other method is the library's own: its JWKS (private_key_jwt), its certificate subject
 * (tls_client_auth) or its certificate as a JWK with `x5c` (self_signed_tls_client_auth). A key
 * whose method this server has not enabled (no TLS configured) is no client at all.
 */
export function clientMetadataFor(key: KeySnapshot, secretPlaceholder: string, mtls = false): AdapterPayload | undefined {
  const { credentials } = key;
  const common = {
    client_id: key.clientId,
    grant_types: ['client_credentials'],
    response_types: [],
    redirect_uris: [],
    token_endpoint_auth_method: (credentials.authMethod === 'client_secret'
      ? 'client_secret_basic'
      : credentials.authMethod) as AdapterPayload['token_endpoint_auth_method'],
    dpop_bound_access_tokens: credentials.dpopRequired,
  };
  switch (credentials.authMethod) {
    case 'client_secret':
      return { ...common, client_secret: secretPlaceholder };
    case 'private_key_jwt':
      return { ...common, jwks: credentials.publicJwks! as never };
    case 'tls_client_auth':
      if (!mtls) return undefined;
      return {
        ...common,
        tls_client_certificate_bound_access_tokens: true,
        ...(credentials.tlsSubjectDn ? { tls_client_auth_subject_dn: credentials.tlsSubjectDn } : { tls_client_auth_san_dns: credentials.tlsSanDns! }),
      };
    case 'self_signed_tls_client_auth':
      if (!mtls) return undefined;
      return { ...common, tls_client_certificate_bound_access_tokens: true, jwks: { keys: [certificateJwk(credentials.tlsCertificate!)] } as never };
  }
}

/** The registered certificate as the library expects it: its public key with `x5c` and `x5t#S256`. */
function certificateJwk(pem: string): Record<string, unknown> {
  const certificate = new X509Certificate(pem);
  return {
    ...certificate.publicKey.export({ format: 'jwk' }),
    x5c: [certificate.raw.toString('base64')],
    'x5t#S256': createHash('sha256').update(certificate.raw).digest('base64url'),
  };
}

export function createAdapterFactory(deps: {
  lookupKey: KeyLookup;
  tokens: TokenStore;
  /** clientMetadataFor with this process's secret placeholder and whether mTLS is on. */
  clientMetadata: (key: KeySnapshot) => AdapterPayload | undefined;
}): AdapterFactory {
  const clients: Adapter = {
    ...unsupported('Client'),
    async find(clientId) {
      // A malformed client_id is refused without touching a store.
      if (!isWellFormedClientId(clientId)) return undefined;
      const key = await guardStores(() => deps.lookupKey(clientId));
      return key && deps.clientMetadata(key);
    },
  };

  const clientCredentials: Adapter = {
    ...unsupported('ClientCredentials'),
    // Keygate mints every token itself (mint.ts); a token the library tried to save on its own
    // would carry no secret generation or epoch, so it is refused rather than stored.
    async find(token) {
      const record = await guardStores(() => deps.tokens.find(hashToken(token)));
      return (
        record && {
          jti: token,
          kind: 'ClientCredentials',
          clientId: record.clientId,
          scope: record.scope || undefined,
          iat: record.iat,
          exp: record.exp,
          extra: { g: record.generation, e: record.epoch },
          ...record.cnf,
        }
      );
    },
    async destroy(token) {
      await guardStores(() => deps.tokens.destroy(hashToken(token)));
    },
  };

  return (name) => {
    if (name === 'Client') return clients;
    if (name === 'ClientCredentials') return clientCredentials;
    return unsupported(name);
  };
}

/** Every other model: nothing is ever found, and nothing may be written. */
function unsupported(model: string): Adapter {
  const refuse = (method: string) => async () => {
    throw new Error(`${model}.${method} is not supported by a client_credentials-only server`);
  };
  return {
    find: async () => undefined,
    findByUid: async () => undefined,
    findByUserCode: async () => undefined,
    upsert: refuse('upsert'),
    consume: refuse('consume'),
    destroy: refuse('destroy'),
    revokeByGrantId: refuse('revokeByGrantId'),
  };
}
