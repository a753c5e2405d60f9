// oidc-provider configuration only: client_credentials with opaque tokens, revocation, nothing
// interactive. Policy lives in ./policy and ./pipeline; the library is wired to it in internals.ts.
import { generateKeyPairSync } from 'node:crypto';
import Provider, { type Configuration } from 'oidc-provider';
import { errors } from 'oidc-provider';
import type { AdapterFactory } from './adapter.ts';
import { ASSERTION_ALGORITHMS } from '../keys/schemas.ts';
import type { ClientCertificates } from './policy/certificate.ts';

export interface ProviderOptions {
  issuer: string;
  adapter: AdapterFactory;
  /** Fallback token lifetime, seconds; each key's own TTL is passed when a token is minted. */
  tokenTtlSeconds: number;
  revocationAllowed: (callerClientId: string, tokenClientId: string) => Promise<boolean>;
  /** TLS client certificates reach Keygate (its own TLS listener, or a trusted proxy's header): RFC 8705 is on. */
  certificates: ClientCertificates | undefined;
  /** Trusted proxies are configured: the library reads the client's scheme and host from their X-Forwarded-* headers. */
  behindProxy: boolean;
}

/** The client authentication methods and algorithms this server accepts, for its configuration and its metadata. */
export function enabledClientAuth(mtls: boolean) {
  return {
    methods: [
      'client_secret_basic',
      'client_secret_post',
      'private_key_jwt',
      ...(mtls ? (['tls_client_auth', 'self_signed_tls_client_auth'] as const) : []),
    ] as const,
    signingAlgorithms: ASSERTION_ALGORITHMS,
    dpopSigningAlgorithms: DPOP_ALGORITHMS,
  };
}

/** Proof algorithms a DPoP key may use: the same family as client assertions. */
const DPOP_ALGORITHMS = ['ES256', 'EdDSA', 'Ed25519', 'RS256'] as const;

/** How far a client's clock may be off when its assertion is checked. */
export const ASSERTION_CLOCK_SKEW_SECONDS = 60;
/** The longest an assertion may be valid for: a leaked one is worthless soon, and replay memory stays small. */
export const MAX_ASSERTION_LIFETIME_SECONDS = 300;

/** Paths Keygate lets through to oidc-provider; every other library route answers 404. */
export const PROVIDER_ROUTES = { token: '/oauth/token', revocation: '/oauth/revoke' } as const;

export function createProvider(options: ProviderOptions): Provider {
  const certificates = options.certificates;
  const clientAuth = enabledClientAuth(certificates !== undefined);
  const configuration: Configuration = {
    adapter: options.adapter,
    // Tokens are opaque, so nothing is ever signed; the library still insists on a key for the
    // default ID token algorithm when it validates client metadata. One is made per process.
    jwks: { keys: [generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ format: 'jwk' }) as never] },
    routes: {
      token: PROVIDER_ROUTES.token,
      revocation: PROVIDER_ROUTES.revocation,
      // Never reachable (app.ts forwards only the two routes above), renamed so no default path is live.
      authorization: '/oauth/_closed/authorize',
      end_session: '/oauth/_closed/session/end',
      jwks: '/oauth/_closed/jwks',
      userinfo: '/oauth/_closed/userinfo',
    },
    features: {
      clientCredentials: { enabled: true },
      introspection: { enabled: false }, // served by Keygate itself: see introspection.ts
      revocation: {
        enabled: true,
        // RFC 7009 leaves the policy to the server: the owning key, or a resource-server key.
        allowedPolicy: (_ctx, client, token) => options.revocationAllowed(client.clientId, token.clientId!),
      },
      devInteractions: { enabled: false },
      userinfo: { enabled: false },
      // RFC 9449: a proof on a token request binds the token to the proof's key. Proofs are
      // single use through the ReplayDetection seam (internals.ts).
      dPoP: { enabled: true },
      // RFC 8705, only when certificates can reach Keygate at all (policy/certificate.ts).
      mTLS: certificates
        ? {
            enabled: true,
            certificateBoundAccessTokens: true,
            tlsClientAuth: true,
            selfSignedTlsClientAuth: true,
            getCertificate: (ctx) => certificates.presented(ctx.req)?.pem,
            certificateAuthorized: (ctx) => certificates.issuedByTrustedCa(certificates.presented(ctx.req)),
            certificateSubjectMatches: (ctx, property, expected) => certificates.subjectMatches(certificates.presented(ctx.req), property, expected),
          }
        : { enabled: false },
    },
    clientAuthMethods: [...clientAuth.methods],
    // Not in the library's type declarations, but settings of the pinned version.
    ...({ clientAuthSigningAlgValues: [...clientAuth.signingAlgorithms], dPoPSigningAlgValues: [...clientAuth.dpopSigningAlgorithms] } as object),
    clockTolerance: ASSERTION_CLOCK_SKEW_SECONDS,
    // RFC 7523 §3 leaves the lifetime to the server: capped, and an assertion must say when it was made.
    assertJwtClientAuthClaimsAndHeader: async (_ctx, claims) => {
      const { iat, exp } = claims as { iat?: unknown; exp?: unknown };
      if (typeof iat !== 'number' || typeof exp !== 'number') throw new errors.InvalidClientAuth('client assertion must carry iat and exp');
      if (exp - iat > MAX_ASSERTION_LIFETIME_SECONDS) {
        throw new errors.InvalidClientAuth(`client assertion may be valid for at most ${MAX_ASSERTION_LIFETIME_SECONDS} seconds`);
      }
      if (iat > Date.now() / 1000 + ASSERTION_CLOCK_SKEW_SECONDS) throw new errors.InvalidClientAuth('client assertion issued in the future');
    },
    responseTypes: ['none'],
    scopes: [],
    claims: {},
    issueRefreshToken: () => false,
    ttl: { ClientCredentials: () => options.tokenTtlSeconds },
    clientBasedCORS: () => false,
    // Errors are JSON whatever the Accept header says: there is no browser on these routes.
    renderError: (ctx, out) => {
      ctx.type = 'json';
      ctx.body = out;
    },
    cookies: { keys: [] },
    findAccount: () => undefined,
  };
  const provider = new Provider(options.issuer, configuration);
  // Only a trusted proxy's X-Forwarded-Proto/-Host reach the library (index.ts removes anyone
  // else's), so the URL a DPoP proof or an assertion names is the one the client called.
  provider.proxy = options.behindProxy;
  return provider;
}
