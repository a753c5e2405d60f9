// Keygate's own errors: one closed list of codes, thrown by the domain and the edges alike. Each
// edge translates them: the admin API and the JSON routes to an HTTP status and error body
// (http/errors.ts), the OAuth routes to RFC 6749 errors, the CLI to an exit code (cli/main.ts).

export const ERROR_CODES = [
  'invalid_request',
  'validation_failed',
  'unauthorized',
  'forbidden',
  'not_found',
  'method_not_allowed',
  'conflict',
  'payload_too_large',
  'unsupported_media_type',
  'rate_limited',
  'internal_error',
  'service_unavailable',
  // A console sign-in that failed: the same answer for an unknown email, a wrong password and a disabled user.
  'invalid_credentials',
  // A per-person allowance is used up (their user keys): deleting one makes room.
  'limit_reached',
  // A session of a person who must enrol in two-factor first: it reaches only the enrolment.
  'two_factor_enrolment_required',
] as const;

export type ErrorCode = (typeof ERROR_CODES)[number];

/** One field that failed validation, named as the caller spelled it. */
export interface FieldError {
  field: string;
  message: string;
}

export class KeygateError extends Error {
  readonly code: ErrorCode;
  readonly details: FieldError[] | undefined;
  constructor(code: ErrorCode, message: string, details?: FieldError[]) {
    super(message);
    this.code = code;
    this.details = details;
  }
}

/** Throws `validation_failed` listing every field error, if there are any. */
export function failOnFieldErrors(errors: readonly FieldError[], what = 'request body'): void {
  if (errors.length > 0) throw new KeygateError('validation_failed', `${what} is invalid`, [...errors]);
}
