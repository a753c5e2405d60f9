// Admin API callers present a bearer token this server issued, or the console's session cookie
// (session-auth.ts). The token and its key are checked exactly as introspection checks them, and
// the caller's address must be inside the key's networks: a token is no more usable than the key
// behind it.
import type { Context } from 'koa';
import { hashToken } from '../crypto/token-hash.ts';
import { KeygateError } from '../shared/errors.ts';
import { currentRequestScope } from '../http/request-scope.ts';
import type { KeyKind } from '../keys/model.ts';
import { holdsScope, type Authority } from '../keys/authority.ts';
import { creatorChainOf } from '../keys/owner-chain.ts';
import { effectiveScopes, type KeyLookup } from '../oauth/pipeline.ts';
import { checkNetwork } from '../shared/network.ts';
import { checkTokenState } from '../oauth/policy/token-state.ts';
import type { TokenStore } from '../stores/tokens.ts';

export interface AdminCaller {
  /** The key behind the bearer token; null for a person signed in to the console. */
  keyId: string | null;
  keyKind: KeyKind | null;
  /** The user a user key acts for, or the person signed in: admin changes are attributed to them. */
  userId: string | null;
  /** Recorded with every change: `admin-api` (a bearer token) or `console` (a session). */
  via: 'admin-api' | 'console';
  /** Acts only on this user's own keys, in its own tenant: a user key, or a member signed in. */
  onlyUserId: string | undefined;
  tenantId: string;
  /** A person working in an account below their own tenant (then `tenantId`): recorded with every change. */
  actingInTenantId?: string;
  scopes: ReadonlySet<string>;
  /** What the caller may grant and whom it may manage (keys/authority.ts). */
  authority: Authority;
}

const BEARER = /^Bearer ([A-Za-z0-9._~+/-]{16,512}=*)$/;

export function createBearerAuthenticator(deps: { tokens: TokenStore; lookupKey: KeyLookup }) {
  return async function authenticateBearer(ctx: Context): Promise<AdminCaller> {
    const match = BEARER.exec(ctx.get('authorization'));
    if (!match) throw unauthorized(ctx, 'a bearer token from this server is required');
    const record = await deps.tokens.find(hashToken(match[1]!));
    const key = record && (await deps.lookupKey(record.clientId));
    const now = new Date();
    if (!record || !key || checkTokenState(record, key, now) !== 'ok' || checkNetwork(key.networks, currentRequestScope()?.clientIp) !== 'ok') {
      throw unauthorized(ctx, 'the bearer token is not active', 'invalid_token');
    }
    // A DPoP- or certificate-bound token is worth nothing without its proof (RFC 9449 §7.1,
    // RFC 8705 §3), and the admin API checks neither proof: it takes unbound tokens only, so a
    // copied bound token is not a bearer token here.
    if (record.cnf) {
      throw unauthorized(ctx, 'this token is bound to a DPoP key or a client certificate; the admin API accepts only unbound bearer tokens', 'invalid_token');
    }
    // A token carries no more than its key holds now (a narrowed key narrows its live tokens).
    const current = new Set(effectiveScopes(key));
    const scopes = new Set(record.scope.split(' ').filter((s) => current.has(s)));
    return {
      keyId: key.clientId,
      keyKind: key.kind,
      userId: key.userId,
      via: 'admin-api',
      onlyUserId: key.kind === 'user' ? (key.userId ?? undefined) : undefined,
      tenantId: key.tenantId,
      scopes,
      authority: { scopes, networks: key.networks, creatorChain: await creatorChainOf(key, deps.lookupKey) },
    };
  };
}

/** The session caller when the request carries the session cookie and no Authorization header, else the bearer one. */
export function createAdminAuthenticator(deps: {
  bearer: (ctx: Context) => Promise<AdminCaller>;
  session?: (ctx: Context) => Promise<AdminCaller | undefined>;
}) {
  return async function authenticate(ctx: Context): Promise<AdminCaller> {
    const fromSession = !ctx.get('authorization') && deps.session ? await deps.session(ctx) : undefined;
    return fromSession ?? deps.bearer(ctx);
  };
}

function unauthorized(ctx: Context, message: string, error?: string): KeygateError {
  // RFC 6750 §3: a bearer challenge, with the error code when a token was presented.
  ctx.set('WWW-Authenticate', error ? `Bearer realm="keygate", error="${error}"` : 'Bearer realm="keygate"');
  return new KeygateError('unauthorized', message);
}

export function requireScope(ctx: Context, caller: AdminCaller, scope: string): void {
  if (holdsScope(caller.scopes, scope)) return;
  if (caller.via === 'console') throw new KeygateError('forbidden', `your role does not allow this ('${scope}')`);
  ctx.set('WWW-Authenticate', `Bearer realm="keygate", error="insufficient_scope", scope="${scope}"`);
  throw new KeygateError('forbidden', `this token lacks the '${scope}' scope`);
}
