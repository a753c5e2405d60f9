// Who may ask Keygate about other keys' tokens and keys: a resource server, i.e. a usable key
// holding `token:introspect`, authenticated with its secret like any client (RFC 6749 §2.3.1)
// through the whole token policy. Introspection and key verification both start here.
import type { Exchange } from '../http/exchange.ts';
import { RESOURCE_SERVER_SCOPE, type KeySnapshot } from '../keys/model.ts';
import { presentedCredentials } from './client-credentials.ts';
import type { DeniedAction, DenialRecorder } from './denial-audit.ts';
import type { AbuseLimits } from './abuse-limits.ts';
import type { AuthenticateDeps } from './pipeline.ts';
import { runTokenPolicyForRequest } from './request-policy.ts';

export interface ResourceServerDeps extends AuthenticateDeps {
  recordDenial: DenialRecorder;
  limits: AbuseLimits;
}

export type ResourceServerAuthentication =
  | { ok: true; key: KeySnapshot }
  | { ok: false; status: 400 | 401 | 429; error: 'invalid_request' | 'invalid_client' | 'rate_limited'; message: string; retryAfterSeconds?: number };

/** `params` are the body's parameters that may carry credentials (a form's client_id/client_secret); `{}` = HTTP Basic only. */
export async function authenticateResourceServer(
  deps: ResourceServerDeps,
  ctx: Exchange,
  params: Record<string, string>,
  action: DeniedAction,
): Promise<ResourceServerAuthentication> {
  const presented = presentedCredentials(ctx, params);
  if (!presented.ok) return { ok: false, status: presented.status, error: presented.error, message: presented.message };
  const credentials = { clientId: presented.clientId, secret: presented.clientSecret };
  const outcome = await runTokenPolicyForRequest(deps, credentials, [RESOURCE_SERVER_SCOPE], 'introspect');
  if (outcome.ok) return { ok: true, key: outcome.key };
  if (outcome.retryAfterSeconds !== undefined) {
    return { ok: false, status: 429, error: 'rate_limited', message: 'too many requests', retryAfterSeconds: outcome.retryAfterSeconds };
  }
  await deps.recordDenial({ action, reason: outcome.reason, clientId: presented.clientId, key: outcome.key, route: ctx.path });
  return { ok: false, status: 401, error: 'invalid_client', message: 'client authentication failed' };
}
