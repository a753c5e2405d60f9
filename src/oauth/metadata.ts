// RFC 8414 metadata listing exactly what this server supports, nothing the library could do
// but Keygate switched off.
import type { Context } from 'koa';
import { enabledClientAuth } from './provider.ts';

export function authorizationServerMetadata(issuer: string, mtls = false) {
  const enabled = enabledClientAuth(mtls);
  const authMethods = [...enabled.methods];
  // Introspection and revocation callers: introspection authenticates with a secret only.
  const secretMethods = ['client_secret_basic', 'client_secret_post'];
  return Object.freeze({
    issuer,
    token_endpoint: `${issuer}/oauth/token`,
    introspection_endpoint: `${issuer}/oauth/introspect`,
    revocation_endpoint: `${issuer}/oauth/revoke`,
    grant_types_supported: ['client_credentials'],
    // REQUIRED by RFC 8414 §2; there is no authorization endpoint, so no response type is supported.
    response_types_supported: [],
    token_endpoint_auth_methods_supported: authMethods,
    token_endpoint_auth_signing_alg_values_supported: [...enabled.signingAlgorithms],
    introspection_endpoint_auth_methods_supported: secretMethods,
    revocation_endpoint_auth_methods_supported: authMethods,
    revocation_endpoint_auth_signing_alg_values_supported: [...enabled.signingAlgorithms],
    dpop_signing_alg_values_supported: [...enabled.dpopSigningAlgorithms],
    ...(mtls ? { tls_client_certificate_bound_access_tokens: true } : {}),
  });
}

export function createMetadataRoute(issuer: string, mtls = false) {
  const body = authorizationServerMetadata(issuer, mtls);
  return function serveMetadata(ctx: Context): void {
    ctx.set('Cache-Control', 'public, max-age=300');
    ctx.body = body;
  };
}
