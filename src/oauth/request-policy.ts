// The token policy for the request being served: the caller's address (after trusted proxies) and
// the connection's source come from the request scope, the time is now. The routes that own their
// whole request (the plain token path, the API-key exchanges, an introspection caller) start here.
import { currentRequestScope } from '../http/request-scope.ts';
import { runTokenPolicy, type TokenPolicyDeps, type TokenPolicyOutcome } from './pipeline.ts';

export function runTokenPolicyForRequest(
  deps: TokenPolicyDeps,
  credentials: { clientId: string; secret: string },
  requestedScopes: readonly string[],
  purpose: 'token' | 'introspect',
): Promise<TokenPolicyOutcome> {
  const scope = currentRequestScope();
  return runTokenPolicy(deps, { ...credentials, ip: scope?.clientIp, source: scope?.sourceIp, now: new Date(), requestedScopes, purpose });
}
