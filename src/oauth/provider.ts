// oidc-provider configuration only: client_credentials with opaque tokens, revocation, nothing
// interactive. Policy lives in ./policy and ./pipeline; the library is wired to it in internals.ts.
import { generateKeyPairSync } from 'node:crypto';
import Provider, { type Configuration } from 'oidc-provider';
import type { AdapterFactory } from './adapter.ts';
import { generationClaim } from './mint.ts';

export interface ProviderOptions {
  issuer: string;
  adapter: AdapterFactory;
  /** Fallback token lifetime, seconds; each key's own TTL is passed when a token is minted. */
  tokenTtlSeconds: number;
  revocationAllowed: (callerClientId: string, tokenClientId: string) => Promise<boolean>;
}

/** Paths Keygate lets through to oidc-provider; every other library route answers 404. */
export const PROVIDER_ROUTES = { token: '/oauth/token', revocation: '/oauth/revoke' } as const;

export function createProvider(options: ProviderOptions): Provider {
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
    },
    clientAuthMethods: ['client_secret_basic', 'client_secret_post'],
    responseTypes: ['none'],
    scopes: [],
    claims: {},
    issueRefreshToken: () => false,
    extraTokenClaims: (_ctx, token) => generationClaim(token),
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
  return new Provider(options.issuer, configuration);
}
