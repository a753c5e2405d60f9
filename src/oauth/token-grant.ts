// The client_credentials grant handler (RFC 6749 §4.4), registered in place of the library's
// own: no scope = every effective scope, and a requested scope the key lacks is an error (the
// library would drop it silently).
import type { KeySnapshot } from '../keys/model.ts';
import { currentRequestScope } from '../http/request-scope.ts';
import type { KeyLookup } from './pipeline.ts';
import { grantRequestedScopes } from './pipeline.ts';
import { guardStores, oauthErrorFor, rateLimitedError } from './denials.ts';
import type { AbuseLimits } from './abuse-limits.ts';
import { parseScopeParam } from './policy/scopes.ts';
import type { TokenMinter } from './mint.ts';
import type { ClientAuthentication } from './pipeline.ts';
import type { TokenBinding } from '../stores/tokens.ts';

export interface GrantContext {
  oidc: { client?: { clientId: string } | undefined; params?: { scope?: unknown } | undefined };
  body: unknown;
}

export interface GrantDeps {
  lookupKey: KeyLookup;
  mintToken: TokenMinter;
  limits: AbuseLimits;
  /** Steps 5–10 for a key the library authenticated without a secret (internals.ts); undefined after a secret. */
  admitCredentialHolder: (clientId: string) => Promise<ClientAuthentication | undefined>;
  /** Step 11: the DPoP proof or client certificate the token is bound to (internals.ts). */
  bindSender: (ctx: GrantContext) => Promise<TokenBinding | undefined>;
}

export function createClientCredentialsGrant(deps: GrantDeps) {
  return async function clientCredentialsGrant(ctx: GrantContext): Promise<void> {
    // Steps 1–10 ran in the client-authentication hooks of this same request (internals.ts),
    // which left the matched secret's generation behind — or, for a key that proved itself with
    // an assertion or a certificate, steps 5–10 run here. Then steps 11, 12 and 13.
    const scope = currentRequestScope();
    const admitted = await deps.admitCredentialHolder(ctx.oidc.client!.clientId);
    if (admitted && !admitted.ok) throw oauthErrorFor(admitted.reason);
    const generation = admitted?.secretGeneration ?? scope?.secretGeneration;
    if (generation === undefined) throw new Error('client authentication did not record the matched secret');
    const key: KeySnapshot | undefined = await deps.lookupKey(ctx.oidc.client!.clientId);
    if (!key) throw oauthErrorFor('unknown_key'); // deleted between authentication and now
    const binding = await deps.bindSender(ctx);
    const scopeParam = ctx.oidc.params?.scope;
    const outcome = grantRequestedScopes(key, parseScopeParam(typeof scopeParam === 'string' ? scopeParam : undefined));
    if (!outcome.ok) throw oauthErrorFor(outcome.reason, outcome.missing);
    const issuance = await deps.limits.takeIssuance(key);
    if (!issuance.ok) {
      if (scope) scope.retryAfterSeconds = issuance.retryAfterSeconds;
      throw rateLimitedError();
    }
    // The library answers a store it cannot reach with a 500 unless told it is unavailable.
    const token = await guardStores(() => deps.mintToken(key, outcome.scopes, generation, binding));
    ctx.body = {
      access_token: token.accessToken,
      token_type: token.tokenType,
      expires_in: token.expiresIn,
      scope: token.scope,
    };
  };
}
