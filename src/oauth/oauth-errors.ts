// RFC 6749 §5.2 error bodies for the OAuth routes Keygate serves itself (introspection).
// The wording matches oidc-provider's so every OAuth route answers alike.
import type { Exchange } from '../http/exchange.ts';

export const CLIENT_AUTH_FAILED = 'client authentication failed';

export function sendRateLimited(ctx: Exchange, retryAfterSeconds: number): void {
  ctx.set('Retry-After', String(retryAfterSeconds));
  sendOAuthError(ctx, 429, 'rate_limited', 'too many requests; retry after the time in Retry-After');
}

export function sendOAuthError(ctx: Exchange, status: number, error: string, description: string): void {
  ctx.status = status;
  ctx.set('Cache-Control', 'no-store');
  if (status === 401) {
    // RFC 6749 §5.2: a 401 answer to client authentication carries a WWW-Authenticate challenge.
    ctx.set('WWW-Authenticate', `Basic realm="keygate", error="${error}", error_description="${description}"`);
  }
  ctx.body = { error, error_description: description };
}
