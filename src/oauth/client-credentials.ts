// Client authentication parameters as RFC 6749 §2.3.1 defines them: HTTP Basic with
// form-urlencoded id and secret, or client_id/client_secret in the body. Never both.
import type { Exchange } from '../http/exchange.ts';

export type PresentedCredentials =
  | { ok: true; clientId: string; clientSecret: string }
  | { ok: false; status: 400 | 401; error: 'invalid_request' | 'invalid_client'; message: string };

const ENCODED = /[%+]/;

function decodeFormComponent(text: string): string | undefined {
  // Keygate's own ids and secrets are base64url: nearly every one needs no decoding at all.
  if (!ENCODED.test(text)) return text;
  try {
    return decodeURIComponent(text.replace(/\+/g, '%20'));
  } catch {
    return undefined;
  }
}

export function presentedCredentials(ctx: Exchange, params: Record<string, string>): PresentedCredentials {
  const header = ctx.get('authorization');
  const inBody = params.client_secret !== undefined;
  if (header && inBody) {
    return { ok: false, status: 400, error: 'invalid_request', message: 'client authentication must only be provided using one mechanism' };
  }
  if (inBody) {
    return params.client_id
      ? { ok: true, clientId: params.client_id, clientSecret: params.client_secret! }
      : { ok: false, status: 400, error: 'invalid_request', message: 'client_id must be provided' };
  }
  if (!header) return { ok: false, status: 401, error: 'invalid_client', message: 'no client authentication mechanism provided' };
  const { clientId, clientSecret } = decodeBasic(header);
  if (!clientId || !clientSecret) {
    return { ok: false, status: 400, error: 'invalid_request', message: 'invalid authorization header value format' };
  }
  if (params.client_id !== undefined && params.client_id !== clientId) {
    return { ok: false, status: 400, error: 'invalid_request', message: 'client_id mismatch' };
  }
  return { ok: true, clientId, clientSecret };
}

/**
 * The client_id a request names, for the failure limits and audit records (it is public, never a
 * secret). An empty one is no client_id at all (RFC 6749 §3.1), as oidc-provider reads it.
 */
export function presentedClientId(authorization: string | undefined, bodyClientId: unknown): string | undefined {
  if (typeof bodyClientId === 'string' && bodyClientId !== '') return bodyClientId;
  return decodeBasic(authorization ?? '').clientId;
}

/** RFC 6749 §2.3.1 Basic: form-urlencoded id and secret; either is undefined when unreadable. */
function decodeBasic(header: string): { clientId: string | undefined; clientSecret: string | undefined } {
  const match = /^Basic ([A-Za-z0-9+/]+={0,2})$/i.exec(header);
  const decoded = match ? Buffer.from(match[1]!, 'base64').toString('utf8') : '';
  const colon = decoded.indexOf(':');
  if (colon <= 0) return { clientId: undefined, clientSecret: undefined };
  return { clientId: decodeFormComponent(decoded.slice(0, colon)), clientSecret: decodeFormComponent(decoded.slice(colon + 1)) };
}
