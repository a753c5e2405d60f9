// POST /oauth/introspect — RFC 7662, served by Keygate rather than oidc-provider because Keygate
// asks for more than the library's policy hook can express: callers without `token:introspect`
// get 401 (not `active: false`), the owning key's live state is re-checked on every call, and the
// `client_ip` extension. It reads the same token state the library's adapter writes.
import { JsonText, type Exchange } from '../http/exchange.ts';
import type { KeySnapshot } from '../keys/model.ts';
import { hashToken } from '../crypto/token-hash.ts';
import { readForm } from '../http/body.ts';
import { KeygateError } from '../shared/errors.ts';
import { statusOf } from '../http/errors.ts';
import type { TokenRecord, TokenStore } from '../stores/tokens.ts';
import { authenticateResourceServer } from './resource-server.ts';
import type { DenialRecorder } from './denial-audit.ts';
import { UNAVAILABLE_DESCRIPTION } from './denials.ts';
import { isConnectionFailure } from '../shared/store-failures.ts';
import type { Metrics } from '../shared/metrics.ts';
import { counterSeries } from '../shared/metric-series.ts';
import { CLIENT_AUTH_FAILED, sendOAuthError, sendRateLimited } from './oauth-errors.ts';
import type { AbuseLimits } from './abuse-limits.ts';
import type { ActivityRecorder } from '../keys/activity.ts';
import { effectiveScopes, mayActOnTokensOf, type AuthenticateDeps } from './pipeline.ts';
import { checkTokenState } from './policy/token-state.ts';
import { checkNetwork, parseIp } from '../shared/network.ts';

export interface IntrospectionDeps extends AuthenticateDeps {
  tokens: TokenStore;
  issuer: string;
  recordDenial: DenialRecorder;
  metrics: Metrics;
  limits: AbuseLimits;
  activity?: Pick<ActivityRecorder, 'count'>;
}

const INACTIVE = Object.freeze({ active: false });

export function createIntrospectionRoute(deps: IntrospectionDeps) {
  // One counter series per answer, resolved once (src/shared/metric-series.ts).
  const answered = {
    active: counterSeries(deps.metrics.introspections, { result: 'active' }),
    inactive: counterSeries(deps.metrics.introspections, { result: 'inactive' }),
    denied: counterSeries(deps.metrics.introspections, { result: 'denied' }),
  };
  const issuerJson = JSON.stringify(deps.issuer);
  return async function introspect(ctx: Exchange): Promise<void> {
    ctx.set('Cache-Control', 'no-store');
    try {
      await answer(ctx);
    } catch (error) {
      if (!isConnectionFailure(error)) throw error;
      // Never a false "active" (nor a false "inactive") while a store is down.
      ctx.set('Retry-After', '1');
      sendOAuthError(ctx, 503, 'temporarily_unavailable', UNAVAILABLE_DESCRIPTION);
    }
  };

  async function answer(ctx: Exchange): Promise<void> {
    const form = await readFormOrFail(ctx);
    if (!form) return;
    const caller = await authenticateIntrospector(ctx, deps, form);
    if (!caller) return void answered.denied.inc();
    const token = form.token;
    if (!token) return sendOAuthError(ctx, 400, 'invalid_request', "missing required parameter 'token'");
    const clientIp = form.client_ip === undefined ? undefined : parseIp(form.client_ip);
    if (form.client_ip !== undefined && !clientIp) {
      return sendOAuthError(ctx, 400, 'invalid_request', "'client_ip' must be an IP address");
    }
    const now = new Date();
    const record = await deps.tokens.find(hashToken(token));
    const owner = record && (await deps.lookupKey(record.clientId));
    // RFC 7662 §2.2: anything not usable right now is simply inactive, with no reason given.
    const active =
      record
      && owner
      && checkTokenState(record, owner, now) === 'ok'
      && mayActOnTokensOf(caller, owner)
      && (!clientIp || checkNetwork(owner.networks, clientIp) === 'ok');
    (active ? answered.active : answered.inactive).inc();
    // Counted for the key whose token was asked about; a token nobody issued has no key.
    if (owner) deps.activity?.count(owner.clientId, active ? 'introspection_active' : 'introspection_inactive');
    ctx.body = active ? activeAnswer(record, owner, issuerJson) : INACTIVE;
  }
}

async function readFormOrFail(ctx: Exchange): Promise<Record<string, string> | undefined> {
  try {
    const form = await readForm(ctx.req);
    if (form.ok) return form.params;
    sendOAuthError(ctx, 400, 'invalid_request', form.message);
  } catch (error) {
    if (!(error instanceof KeygateError)) throw error;
    sendOAuthError(ctx, statusOf(error), 'invalid_request', error.message);
  }
  return undefined;
}

/** The caller must be a usable key holding `token:introspect`; anything else is 401 invalid_client. */
async function authenticateIntrospector(ctx: Exchange, deps: IntrospectionDeps, form: Record<string, string>): Promise<KeySnapshot | undefined> {
  const outcome = await authenticateResourceServer(deps, ctx, form, 'token.introspect');
  if (outcome.ok) return outcome.key;
  if (outcome.retryAfterSeconds !== undefined) sendRateLimited(ctx, outcome.retryAfterSeconds);
  else sendOAuthError(ctx, outcome.status, outcome.error, outcome.status === 401 ? CLIENT_AUTH_FAILED : outcome.message);
  return undefined;
}

/** A scope list as a token stores it, per (shared, frozen) list of a key snapshot. */
const joinedScopes = new WeakMap<readonly string[], string>();

/** The token's scopes the key still holds, in the token's order. */
function currentScope(tokenScope: string, owner: KeySnapshot): string {
  const held = effectiveScopes(owner);
  let joined = joinedScopes.get(held);
  if (joined === undefined) joinedScopes.set(held, (joined = held.join(' ')));
  // A token minted with every scope of an unchanged key: nothing to narrow.
  if (tokenScope === joined) return tokenScope;
  const current = new Set(held);
  return tokenScope
    .split(' ')
    .filter((s) => current.has(s))
    .join(' ');
}

/**
 * The active answer, serialised in one step (it has a fixed shape). Scopes are re-narrowed to what
 * the key holds now. `sub` (RFC 7662) is the user a user key acts for, otherwise the key itself. A
 * bound token (RFC 9449 §6.2, RFC 8705 §3.2) says so in `token_type` and carries `cnf`: the
 * resource server checks the DPoP proof or the TLS client certificate against it before it
 * honours the token.
 */
function activeAnswer(record: TokenRecord, owner: KeySnapshot, issuerJson: string): JsonText {
  return new JsonText(
    `{"active":true,"scope":${JSON.stringify(currentScope(record.scope, owner))},"client_id":${JSON.stringify(owner.clientId)}`
      + `,"sub":${JSON.stringify(owner.userId ?? owner.clientId)},"tenant_id":${JSON.stringify(owner.tenantId)},"key_kind":${JSON.stringify(owner.kind)}`
      + `,"token_type":"${record.cnf?.jkt ? 'DPoP' : 'Bearer'}","iat":${record.iat},"exp":${record.exp},"iss":${issuerJson}`
      + `${record.cnf ? `,"cnf":${JSON.stringify(record.cnf)}` : ''}}`,
  );
}
