// The two API-key exchanges of our seed vendors (SPEC §3, routes 2 and 3). They run the same
// pipeline as /oauth/token and mint the same token; only the envelope differs.
import type { Context, Middleware } from 'koa';
import { parseApiKey } from '../crypto/credentials.ts';
import { readJsonObject } from '../http/body.ts';
import { KeygateError } from '../shared/errors.ts';
import { currentRequestScope } from '../http/request-scope.ts';
import type { DenialRecorder } from './denial-audit.ts';
import type { AbuseLimits } from './abuse-limits.ts';
import type { MintedToken, TokenMinter } from './mint.ts';
import { authenticateKey, authorizeKey, type AuthenticateDeps, type DenialReason } from './pipeline.ts';
import type { KeySnapshot } from '../keys/model.ts';

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

/** Steps 1–6 of the pipeline with every scope of the key (these routes take no scope). */
async function exchange(deps: ExchangeDeps, ctx: Context, clientId: string, secret: string): Promise<Exchange> {
  const now = new Date();
  const limit = deps.limits.checkAuthentication(clientId, currentRequestScope()?.sourceIp);
  if (!limit.ok) rateLimited(ctx, limit.retryAfterSeconds);
  const authentication = await authenticateKey(deps, clientId, secret, now);
  let key: KeySnapshot | undefined = authentication.key;
  let reason: DenialReason;
  if (authentication.ok) {
    key = authentication.key;
    const authorization = authorizeKey(key, { ip: currentRequestScope()?.clientIp, requestedScopes: [], now });
    if (authorization.ok) {
      const issuance = await deps.limits.takeIssuance(key);
      if (!issuance.ok) rateLimited(ctx, issuance.retryAfterSeconds);
      return { ok: true, token: await deps.mintToken(key, authorization.scopes, authentication.secretGeneration) };
    }
    reason = authorization.reason;
  } else {
    reason = authentication.reason;
  }
  await deps.recordDenial({ action: 'token.issue', reason, clientId, key, route: ctx.path });
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
    throw new KeygateError('validation_failed', 'request body is invalid', unknown.map((field) => ({ field, message: 'unknown field' })));
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
