// One closed list of error codes and one status map (STYLE habit 3) for every non-OAuth route.
// Body: {"error": {"code", "message", "request_id", "details"?}}; 5xx bodies carry no internals.
import type { Middleware } from 'koa';
import type { Logger } from 'pino';
import { isConnectionFailure } from '../stores/unavailable.ts';

export const ERROR_STATUS = {
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
} as const;

export type ErrorCode = keyof typeof ERROR_STATUS;

export interface FieldError {
  field: string;
  message: string;
}

export class ApiError extends Error {
  readonly code: ErrorCode;
  readonly details: FieldError[] | undefined;
  constructor(code: ErrorCode, message: string, details?: FieldError[]) {
    super(message);
    this.code = code;
    this.details = details;
  }
  get status(): number {
    return ERROR_STATUS[this.code];
  }
}

export function errorBody(code: ErrorCode, message: string, requestId: string, details?: FieldError[]) {
  return { error: { code, message, request_id: requestId, ...(details ? { details } : {}) } };
}

export function renderApiErrors(log: Logger): Middleware {
  return async function renderApiError(ctx, next) {
    try {
      await next();
    } catch (err) {
      const requestId: string = ctx.state.scope?.requestId ?? 'unknown';
      if (err instanceof ApiError) {
        ctx.status = err.status;
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
