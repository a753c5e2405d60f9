// Wires the OAuth side together: the provider with Keygate's seams, the introspection route,
// the API-key exchanges and the metadata document.
import { presentedClientId } from './client-credentials.ts';
import { randomBytes } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import type { PepperRing } from '../crypto/secret-hash.ts';
import { currentRequestScope, memoizeInRequest } from '../http/request-scope.ts';
import { plainExchange } from '../http/exchange.ts';
import { readRawBody } from '../http/body.ts';
import { withBufferedBody } from '../http/buffered-request.ts';
import { KeygateError } from '../shared/errors.ts';
import { statusOf } from '../http/errors.ts';
import type { UsageRecorder } from '../keys/usage.ts';
import type { Metrics } from '../shared/metrics.ts';
import type { WindowCounters } from '../stores/counters.ts';
import { createAbuseLimits } from './abuse-limits.ts';
import { sendOAuthError, sendRateLimited } from './oauth-errors.ts';
import type { AuditStore } from '../stores/audit.ts';
import type { KeySnapshot } from '../keys/model.ts';
import type { TokenStore } from '../stores/tokens.ts';
import { RESOURCE_SERVER_SCOPE } from '../keys/model.ts';
import { createAdapterFactory } from './adapter.ts';
import { createDenialRecorder, createLimitCrossingRecorder, type NoteDenial } from './denial-audit.ts';
import { createApiKeyAuthorizeRoute, createExternalAuthRoute } from './exchanges.ts';
import { installProviderSeams } from './internals.ts';
import { createIntrospectionRoute } from './introspection.ts';
import { createMetadataRoute } from './metadata.ts';
import { createTokenMinter } from './mint.ts';
import { effectiveScopes, mayActOnTokensOf, type KeyLookup } from './pipeline.ts';
import { createProvider } from './provider.ts';
import { createClientCredentialsGrant } from './token-grant.ts';

export interface OAuthDeps {
  issuer: string;
  tokenTtlSeconds: number;
  /** Key snapshots, cached (runtime.findKey). */
  findKey: (clientId: string) => Promise<KeySnapshot | undefined>;
  tokens: TokenStore;
  audit: AuditStore;
  pepperRing: PepperRing;
  usage: UsageRecorder;
  metrics: Metrics;
  counters: WindowCounters;
  /** Failed authentications allowed per window: per (client id, source) and per source. */
  authFailures: { perClientAndSource: number; perSource: number; windowSeconds: number };
  log: Logger;
  /** Counts denials of known keys for their `key.denials` summaries. */
  noteDenial?: NoteDenial;
}

/** The `client_id` of a form body, if the body is a form that names one. */
function formClientId(req: IncomingMessage, body: Buffer): string | undefined {
  const type = req.headers['content-type']?.split(';')[0]?.trim().toLowerCase();
  if (type !== 'application/x-www-form-urlencoded') return undefined;
  return new URLSearchParams(body.toString('utf8')).get('client_id') ?? undefined;
}

export function createOAuth(deps: OAuthDeps) {
  // Each request reads a key at most once, however many library hooks ask for it.
  const lookupKey: KeyLookup = (clientId) => memoizeInRequest(`key:${clientId}`, () => deps.findKey(clientId));

  const provider = createProvider({
    issuer: deps.issuer,
    tokenTtlSeconds: deps.tokenTtlSeconds,
    adapter: createAdapterFactory({ lookupKey, tokens: deps.tokens, secretPlaceholder: randomBytes(32).toString('base64url') }),
    revocationAllowed: async (callerId, ownerId) => {
      if (callerId === ownerId) return true;
      const [caller, owner] = await Promise.all([lookupKey(callerId), lookupKey(ownerId)]);
      return !!caller && !!owner && effectiveScopes(caller).includes(RESOURCE_SERVER_SCOPE) && mayActOnTokensOf(caller, owner);
    },
  });
  const mintToken = createTokenMinter(provider, (key) => {
    const scope = currentRequestScope();
    deps.usage.seen(key.clientId, scope?.clientIpText ?? null);
    deps.metrics.tokensIssued.inc({ route: scope?.path ?? 'none' });
  });
  const limits = createAbuseLimits({
    counters: deps.counters,
    config: {
      failuresPerClientSource: deps.authFailures.perClientAndSource,
      failuresPerSource: deps.authFailures.perSource,
      windowSeconds: deps.authFailures.windowSeconds,
    },
    metrics: deps.metrics,
    log: deps.log,
    onCrossed: createLimitCrossingRecorder(deps.audit, deps.log, lookupKey, deps.noteDenial),
  });
  const recordDenial = createDenialRecorder(deps.audit, deps.log, deps.metrics, limits, deps.noteDenial);
  installProviderSeams(provider, {
    lookupKey,
    pepperRing: deps.pepperRing,
    grant: createClientCredentialsGrant({ lookupKey, mintToken, limits }),
    recordDenial,
  });

  const providerCallback = provider.callback();
  const exchangeDeps = { lookupKey, pepperRing: deps.pepperRing, mintToken, recordDenial, limits };
  return {
    lookupKey,
    /** Reads the body under Keygate's limit, then hands the request to oidc-provider, which writes the response itself. */
    async forwardToProvider(req: IncomingMessage, res: ServerResponse): Promise<void> {
      const reply = plainExchange(req, res, currentRequestScope()?.path ?? '');
      // A source over its failure limit is refused before its request is even read.
      const check = limits.checkAuthentication(undefined, currentRequestScope()?.sourceIp);
      if (!check.ok) {
        sendRateLimited(reply, check.retryAfterSeconds);
        return reply.respond();
      }
      let body: Buffer;
      try {
        body = await readRawBody(req);
      } catch (error) {
        if (!(error instanceof KeygateError)) throw error;
        // As /oauth/introspect answers it: RFC 6749 §5.2 shape, the status says what was wrong.
        sendOAuthError(reply, statusOf(error), 'invalid_request', error.message);
        return reply.respond();
      }
      // Step 1 of the token policy for the client id presented (Basic or form), known or unknown
      // alike, before the library looks anything up: a locked (client id, source) pair gets the
      // same 429 whether or not the id exists.
      const pair = limits.checkAuthentication(presentedClientId(req.headers.authorization, formClientId(req, body)), currentRequestScope()?.sourceIp);
      if (!pair.ok) {
        sendRateLimited(reply, pair.retryAfterSeconds);
        return reply.respond();
      }
      await providerCallback(withBufferedBody(req, body), res);
    },
    introspect: createIntrospectionRoute({
      lookupKey,
      pepperRing: deps.pepperRing,
      tokens: deps.tokens,
      issuer: deps.issuer,
      recordDenial,
      metrics: deps.metrics,
      limits,
    }),
    authorizeApiKey: createApiKeyAuthorizeRoute(exchangeDeps),
    authorizeExternal: createExternalAuthRoute(exchangeDeps),
    metadata: createMetadataRoute(deps.issuer),
  };
}
