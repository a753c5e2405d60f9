// RFC 8414 metadata listing exactly what this server supports, nothing the library could do
// but Keygate switched off.
import type { Context } from 'koa';

export function authorizationServerMetadata(issuer: string) {
  const authMethods = ['client_secret_basic', 'client_secret_post'];
  return Object.freeze({
    issuer,
    token_endpoint: `${issuer}/oauth/token`,
    introspection_endpoint: `${issuer}/oauth/introspect`,
    revocation_endpoint: `${issuer}/oauth/revoke`,
    grant_types_supported: ['client_credentials'],
    // REQUIRED by RFC 8414 §2; there is no authorization endpoint, so no response type is supported.
    response_types_supported: [],
    token_endpoint_auth_methods_supported: authMethods,
    introspection_endpoint_auth_methods_supported: authMethods,
    revocation_endpoint_auth_methods_supported: authMethods,
  });
}

export function createMetadataRoute(issuer: string) {
  const body = authorizationServerMetadata(issuer);
  return function serveMetadata(ctx: Context): void {
    ctx.set('Cache-Control', 'public, max-age=300');
    ctx.body = body;
  };
}
