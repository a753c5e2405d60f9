// The two API-key exchanges the consoles Keygate replaces offer. They run the same token policy as
// /oauth/token (pipeline.ts) and mint the same token; only the envelope differs.
import type { Context, Middleware } from 'koa';
import { parseApiKey } from '../crypto/credentials.ts';
import { readJsonObject } from '../http/body.ts';
import { KeygateError } from '../shared/errors.ts';
import type { DenialRecorder } from './denial-audit.ts';
import type { AbuseLimits } from './abuse-limits.ts';
import type { MintedToken, TokenMinter } from './mint.ts';
import type { AuthenticateDeps } from './pipeline.ts';
import { runTokenPolicyForRequest } from './request-policy.ts';

export interface ExchangeDeps extends AuthenticateDeps {
  mintToken: TokenMinter;
  recordDenial: DenialRecorder;
  limits: AbuseLimits;
}

type Exchange = { ok: true; token: MintedToken } | { ok: false };

function rateLimited(ctx: Context, retryAfterSeconds: number): never {
  ctx.set('Retry-After', String(retryAfterSeconds));
  throw new KeygateError('rate_limited', 'too many requests; retry after the time in Retry-After');
}

/** The whole token policy with every scope of the key (these routes take no scope parameter). */
async function exchange(deps: ExchangeDeps, ctx: Context, clientId: string, secret: string): Promise<Exchange> {
  const outcome = await runTokenPolicyForRequest(deps, { clientId, secret }, [], 'token');
  if (outcome.ok) return { ok: true, token: await deps.mintToken(outcome.key, outcome.scopes, outcome.secretGeneration) };
  // Limits are audited once per window when first crossed (abuse-limits.ts), not per request.
  if (outcome.retryAfterSeconds !== undefined) rateLimited(ctx, outcome.retryAfterSeconds);
  await deps.recordDenial({ action: 'token.issue', reason: outcome.reason, clientId, key: outcome.key, route: ctx.path });
  return { ok: false };
}

function requireString(body: Record<string, unknown>, field: string): string {
  const value = body[field];
  if (typeof value !== 'string' || value === '') {
    throw new KeygateError('validation_failed', 'request body is invalid', [{ field, message: 'must be a non-empty string' }]);
  }
  return value;
}

function rejectUnknownFields(body: Record<string, unknown>, allowed: readonly string[]): void {
  const unknown = Object.keys(body).filter((field) => !allowed.includes(field));
  if (unknown.length > 0) {
    throw new KeygateError(
      'validation_failed',
      'request body is invalid',
      unknown.map((field) => ({ field, message: 'unknown field' })),
    );
  }
}

const INVALID_KEY = 'invalid API key'; // the same words for every denial: nothing about why

/** POST /api/v1/auth/authorize {"grantType": "api_key", "apiKey": "<client_id>.<client_secret>"} */
export function createApiKeyAuthorizeRoute(deps: ExchangeDeps) {
  return async function authorizeApiKey(ctx: Context): Promise<void> {
    ctx.set('Cache-Control', 'no-store');
    const body = await readJsonObject(ctx);
    rejectUnknownFields(body, ['grantType', 'apiKey']);
    if (requireString(body, 'grantType') !== 'api_key') {
      throw new KeygateError('validation_failed', 'request body is invalid', [{ field: 'grantType', message: "must be 'api_key'" }]);
    }
    const parts = parseApiKey(requireString(body, 'apiKey')) ?? { clientId: '', clientSecret: '' };
    const result = await exchange(deps, ctx, parts.clientId, parts.clientSecret);
    if (!result.ok) throw new KeygateError('unauthorized', INVALID_KEY);
    ctx.body = {
      data: {
        tokenType: 'bearer',
        accessToken: result.token.accessToken,
        accessTokenExpire: result.token.expiresAt.toISOString(),
      },
    };
  };
}

/** POST /auth/external {"clientId": "…", "accessKey": "<client_secret>"} */
export function createExternalAuthRoute(deps: ExchangeDeps) {
  return async function authorizeExternal(ctx: Context): Promise<void> {
    ctx.set('Cache-Control', 'no-store');
    const body = await readJsonObject(ctx);
    rejectUnknownFields(body, ['clientId', 'accessKey']);
    const result = await exchange(deps, ctx, requireString(body, 'clientId'), requireString(body, 'accessKey'));
    if (!result.ok) throw new KeygateError('unauthorized', INVALID_KEY);
    ctx.body = {
      success: true,
      data: {
        token: result.token.accessToken,
        expires: result.token.expiresAt.toISOString(),
        expiresIn: result.token.expiresIn,
      },
    };
  };
}

/** This vendor's envelope carries `success` on every answer, errors included (404, 405, 413 …). */
export function externalEnvelope(path: string): Middleware {
  return async function addSuccessFlag(ctx, next) {
    await next();
    const body = ctx.body as { error?: unknown } | undefined;
    if (ctx.path === path && ctx.status >= 400 && body && typeof body === 'object' && 'error' in body) {
      ctx.body = { success: false, ...body };
    }
  };
}
