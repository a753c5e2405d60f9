// Keygate's errors at the HTTP edge, for every non-OAuth route: one status per error code, and
// one body, {"error": {"code", "message", "request_id", "details"?}}. 5xx bodies carry no internals.
import type { Middleware } from 'koa';
import type { Logger } from 'pino';
import { KeygateError, type ErrorCode, type FieldError } from '../shared/errors.ts';
import { isConnectionFailure } from '../shared/store-failures.ts';

/** The HTTP status of each error code: the one map from Keygate's errors to HTTP. */
export const ERROR_STATUS: Readonly<Record<ErrorCode, number>> = {
  invalid_request: 400,
  validation_failed: 400,
  unauthorized: 401,
  forbidden: 403,
  not_found: 404,
  method_not_allowed: 405,
  conflict: 409,
  payload_too_large: 413,
  unsupported_media_type: 415,
  rate_limited: 429,
  internal_error: 500,
  service_unavailable: 503,
  invalid_credentials: 401,
  limit_reached: 409,
  two_factor_enrolment_required: 403,
};

export const statusOf = (error: KeygateError): number => ERROR_STATUS[error.code];

export function errorBody(code: ErrorCode, message: string, requestId: string, details?: FieldError[]) {
  return { error: { code, message, request_id: requestId, ...(details ? { details } : {}) } };
}

export function renderApiErrors(log: Logger): Middleware {
  return async function renderApiError(ctx, next) {
    try {
      await next();
    } catch (err) {
      const requestId: string = ctx.state.scope?.requestId ?? 'unknown';
      if (err instanceof KeygateError) {
        ctx.status = statusOf(err);
        ctx.body = errorBody(err.code, err.message, requestId, err.details);
        return;
      }
      if (isConnectionFailure(err)) {
        log.warn({ err, requestId, path: ctx.path }, 'store unavailable');
        ctx.status = 503;
        ctx.set('Retry-After', '1');
        ctx.body = errorBody('service_unavailable', 'a backing store is unavailable; retry shortly', requestId);
        return;
      }
      log.error({ err, requestId, path: ctx.path }, 'unhandled error');
      ctx.status = 500;
      ctx.body = errorBody('internal_error', 'internal error', requestId);
    }
  };
}
