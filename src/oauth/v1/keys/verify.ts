// POST /v1/keys/verify — for services that take the raw API key on every call instead of a token.
// A resource server (a key holding `token:introspect`, authenticated with HTTP Basic exactly like
// an introspection caller) asks whether a presented key may act right now: the whole token
// policy runs on it (pipeline.ts: failure limits, secret, key state, network, scopes, issuance
// rate), with the same audit records, limits and usage tracking as a token request, and the
// answer names the step that refused it.
//
// No existence oracle: a key outside the caller's tenant subtree is looked up exactly like any
// other and then treated as absent, and every failure to authenticate the presented key (no such
// key, a foreign key, a wrong or malformed secret, a key that has no secret) is the one code
// `invalid_key`, reached with the same work (pipeline.ts hashes a secret for an unknown key too).
// Only a caller that presents a key's correct secret learns more about it.
import { parseApiKey } from '../../../crypto/credentials.ts';
import type { Exchange } from '../../../http/exchange.ts';
import { readJsonObjectFrom } from '../../../http/body.ts';
import { errorBody, statusOf } from '../../../http/errors.ts';
import { currentRequestScope } from '../../../http/request-scope.ts';
import type { KeySnapshot } from '../../../keys/model.ts';
import type { UsageRecorder } from '../../../keys/usage.ts';
import { KeygateError, type FieldError } from '../../../shared/errors.ts';
import type { Metrics } from '../../../shared/metrics.ts';
import { counterSeries } from '../../../shared/metric-series.ts';
import { parseIp } from '../../../shared/network.ts';
import { isConnectionFailure } from '../../../shared/store-failures.ts';
import type { DenialReason } from '../../../shared/denial-reasons.ts';
import { isValidScopeToken } from '../../../shared/scope-token.ts';
import { AUTHENTICATION_FAILURES, effectiveScopes, mayActOnTokensOf, runTokenPolicy, type KeyLookup } from '../../pipeline.ts';
import { authenticateResourceServer, type ResourceServerDeps } from '../../resource-server.ts';

export const KEY_VERIFY_PATH = '/v1/keys/verify';

export interface KeyVerificationDeps extends ResourceServerDeps {
  metrics: Metrics;
  usage: UsageRecorder;
}

/** Every answer's `code`: `valid`, `invalid_key` for any failure to authenticate the key, or the refusing step's reason. */
export type VerificationCode = 'valid' | 'invalid_key' | Exclude<DenialReason, 'malformed_secret' | 'unknown_key' | 'secret_mismatch'>;

const MAX_REQUIRED_SCOPES = 100;
const FIELDS = ['api_key', 'client_id', 'client_secret', 'client_ip', 'required_scopes'];

interface VerificationRequest {
  clientId: string;
  secret: string;
  clientIp: string | undefined;
  requiredScopes: string[];
}

export function createKeyVerificationRoute(deps: KeyVerificationDeps) {
  // The hot answer counts in a series of its own (src/shared/metric-series.ts).
  const verifiedValid = counterSeries(deps.metrics.keyVerifications, { result: 'valid' });
  return async function verifyKey(ctx: Exchange): Promise<void> {
    ctx.set('Cache-Control', 'no-store');
    try {
      await answer(ctx);
    } catch (error) {
      const requestId = currentRequestScope()?.requestId ?? 'unknown';
      if (error instanceof KeygateError) {
        ctx.status = statusOf(error);
        ctx.body = errorBody(error.code, error.message, requestId, error.details);
      } else if (isConnectionFailure(error)) {
        // Never a false "valid" (nor a false "invalid") while a store is down.
        ctx.set('Retry-After', '1');
        ctx.status = 503;
        ctx.body = errorBody('service_unavailable', 'a backing store is unavailable; retry shortly', requestId);
      } else {
        throw error;
      }
    }
  };

  async function answer(ctx: Exchange): Promise<void> {
    // The presented key travels in the body, so the caller authenticates with HTTP Basic only.
    const caller = await authenticateResourceServer(deps, ctx, {}, 'key.verify');
    if (!caller.ok) {
      if (caller.retryAfterSeconds !== undefined) ctx.set('Retry-After', String(caller.retryAfterSeconds));
      if (caller.status === 401) ctx.set('WWW-Authenticate', 'Basic realm="keygate"');
      const code = caller.status === 429 ? 'rate_limited' : caller.status === 401 ? 'unauthorized' : 'invalid_request';
      throw new KeygateError(code, caller.status === 401 ? 'client authentication failed' : caller.message);
    }
    const request = parseRequest(await readJsonObjectFrom(ctx.req));
    ctx.status = 200;
    ctx.body = await verify(caller.key, request, ctx.path);
  }

  async function verify(caller: KeySnapshot, request: VerificationRequest, route: string) {
    const scope = currentRequestScope();
    const clientIp = request.clientIp === undefined ? undefined : parseIp(request.clientIp);
    // Keys outside the caller's reach are looked up like any other, then are not there.
    const lookupKey: KeyLookup = async (clientId) => {
      const key = await deps.lookupKey(clientId);
      return key && mayActOnTokensOf(caller, key) ? key : undefined;
    };
    // The presented key's caller is the end client: its address when the resource server names
    // it, else the resource server itself; failure limits count against that same source.
    const source = clientIp ?? scope?.sourceIp;
    const outcome = await runTokenPolicy(
      { lookupKey, pepperRing: deps.pepperRing, limits: deps.limits },
      {
        clientId: request.clientId,
        secret: request.secret,
        ip: clientIp ?? scope?.clientIp,
        source,
        now: new Date(),
        requestedScopes: request.requiredScopes,
        purpose: 'verify',
      },
    );
    if (outcome.ok) {
      deps.usage.seen(outcome.key.clientId, clientIp?.toString() ?? scope?.clientIpText ?? null);
      verifiedValid.inc();
      return {
        valid: true,
        code: 'valid' satisfies VerificationCode,
        client_id: outcome.key.clientId,
        tenant_id: outcome.key.tenantId,
        user_id: outcome.key.userId,
        scopes: [...effectiveScopes(outcome.key)],
        expires_at: outcome.key.expiresAtMs === null ? null : new Date(outcome.key.expiresAtMs).toISOString(),
      };
    }
    const code: VerificationCode = AUTHENTICATION_FAILURES.has(outcome.reason) ? 'invalid_key' : (outcome.reason as VerificationCode);
    deps.metrics.keyVerifications.inc({ result: code });
    // A limit already crossed is audited once per window (abuse-limits.ts), not per request.
    if (outcome.retryAfterSeconds === undefined) {
      await deps.recordDenial({
        action: 'key.verify',
        reason: outcome.reason,
        clientId: request.clientId,
        key: outcome.key,
        route,
        source,
        ip: clientIp?.toString(),
      });
    }
    return { valid: false, code, ...(outcome.retryAfterSeconds === undefined ? {} : { retry_after_seconds: outcome.retryAfterSeconds }) };
  }
}

/** `{api_key}` or `{client_id, client_secret}`, with optional `client_ip` and `required_scopes`. */
function parseRequest(body: Record<string, unknown>): VerificationRequest {
  const errors: FieldError[] = Object.keys(body)
    .filter((field) => !FIELDS.includes(field))
    .map((field) => ({ field, message: 'unknown field' }));
  const text = (field: string): string | undefined => {
    const value = body[field];
    if (value === undefined) return undefined;
    if (typeof value === 'string' && value !== '' && value.length <= 512) return value;
    errors.push({ field, message: 'must be a non-empty string of at most 512 characters' });
    return undefined;
  };
  const apiKey = text('api_key');
  const clientId = text('client_id');
  const clientSecret = text('client_secret');
  const clientIp = text('client_ip');
  if (clientIp !== undefined && !parseIp(clientIp)) errors.push({ field: 'client_ip', message: 'must be an IP address' });
  const given = apiKey !== undefined ? 1 : 0;
  if (given === (clientId !== undefined || clientSecret !== undefined ? 1 : 0)) {
    errors.push({ field: '(body)', message: "give either 'api_key' or 'client_id' with 'client_secret'" });
  } else if (!apiKey && (clientId === undefined || clientSecret === undefined)) {
    errors.push({ field: clientId === undefined ? 'client_id' : 'client_secret', message: 'required with the other' });
  }
  const scopes = body.required_scopes;
  const requiredScopes: string[] = [];
  if (scopes !== undefined) {
    if (!Array.isArray(scopes) || scopes.length > MAX_REQUIRED_SCOPES || !scopes.every((s) => typeof s === 'string' && isValidScopeToken(s))) {
      errors.push({ field: 'required_scopes', message: `must be an array of at most ${MAX_REQUIRED_SCOPES} scope tokens` });
    } else {
      requiredScopes.push(...new Set(scopes as string[]));
    }
  }
  if (errors.length > 0) throw new KeygateError('validation_failed', 'request body is invalid', errors);
  // An api_key that does not parse is just a key that does not authenticate.
  const parts = apiKey === undefined ? { clientId: clientId!, clientSecret: clientSecret! } : (parseApiKey(apiKey) ?? { clientId: '', clientSecret: '' });
  return { clientId: parts.clientId, secret: parts.clientSecret, clientIp, requiredScopes };
}
