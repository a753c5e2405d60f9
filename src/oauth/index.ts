// Wires the OAuth side together: the provider with Keygate's seams, the introspection route,
// the API-key exchanges and the metadata document.
import { presentedClientId } from './client-credentials.ts';
import { randomBytes } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import type { PepperRing } from '../crypto/secret-hash.ts';
import { currentRequestScope, memoizeInRequest } from '../http/request-scope.ts';
import { plainExchange } from '../http/exchange.ts';
import { hasTooManyParameters, readRawBody, TOO_MANY_PARAMETERS } from '../http/body.ts';
import { withBufferedBody } from '../http/buffered-request.ts';
import { KeygateError } from '../shared/errors.ts';
import { statusOf } from '../http/errors.ts';
import type { UsageRecorder } from '../keys/usage.ts';
import type { ActivityRecorder } from '../keys/activity.ts';
import type { Metrics } from '../shared/metrics.ts';
import { counterSeries, type CounterSeries } from '../shared/metric-series.ts';
import type { WindowCounters } from '../stores/counters.ts';
import { createAbuseLimits } from './abuse-limits.ts';
import { sendOAuthError, sendRateLimited } from './oauth-errors.ts';
import type { AuditStore } from '../stores/audit.ts';
import type { KeySnapshot } from '../keys/model.ts';
import type { TokenStore } from '../stores/tokens.ts';
import { RESOURCE_SERVER_SCOPE } from '../keys/model.ts';
import { clientMetadataFor, createAdapterFactory } from './adapter.ts';
import { createDenialRecorder, createLimitCrossingRecorder, type NoteDenial } from './denial-audit.ts';
import { createApiKeyAuthorizeRoute, createExternalAuthRoute } from './exchanges.ts';
import { admitLibraryAuthenticatedClient, createSenderBinding, installProviderSeams } from './internals.ts';
import type { ReplayStore } from '../stores/replay.ts';
import type { ClientCertificates } from './policy/certificate.ts';
import { dropUntrustedForwardedOrigin } from '../http/forwarded-origin.ts';
import type { Network } from '../shared/network.ts';
import { oauthErrorFor } from './denials.ts';
import { createKeyVerificationRoute } from './v1/keys/verify.ts';
import { createIntrospectionRoute } from './introspection.ts';
import { createMetadataRoute } from './metadata.ts';
import { createTokenMinter } from './mint.ts';
import { effectiveScopes, mayActOnTokensOf, type KeyLookup } from './pipeline.ts';
import { createProvider, PROVIDER_ROUTES } from './provider.ts';
import { answerPlainTokenRequest, plainTokenForm } from './plain-token-request.ts';
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
  /** Per-key counts of issued, refused and introspected tokens. */
  activity: ActivityRecorder;
  metrics: Metrics;
  counters: WindowCounters;
  replay: ReplayStore;
  /** Proxies whose X-Forwarded-Proto/-Host say which URL the client called (DPoP `htu`, assertion `aud`). */
  trustedProxies: readonly Network[];
  /** Where TLS client certificates come from, when RFC 8705 is enabled (a TLS listener or a proxy header). */
  clientCertificates?: ClientCertificates;
  /** Failed authentications allowed per window: per (client id, source) and per source. */
  authFailures: { perClientAndSource: number; perSource: number; windowSeconds: number };
  log: Logger;
  /** Counts denials of known keys for their `key.denials` summaries. */
  noteDenial?: NoteDenial;
}

/** The body's parameters when it is a form, whatever its content type's parameters; read once a request. */
function formParameters(req: IncomingMessage, body: Buffer): URLSearchParams | undefined {
  const type = req.headers['content-type']?.split(';')[0]?.trim().toLowerCase();
  if (type !== 'application/x-www-form-urlencoded') return undefined;
  return new URLSearchParams(body.toString('utf8'));
}

/**
 * The client a form body names: its `client_id`, or else the `sub` of its client assertion (read,
 * not verified: only to count failures against the pair the request claims to be).
 */
function formClientId(form: URLSearchParams | undefined): string | undefined {
  // An empty value is an absent parameter (RFC 6749 §3.1), as the library reads it.
  return form && (form.get('client_id') || assertionSubject(form.get('client_assertion')));
}

function assertionSubject(assertion: string | null): string | undefined {
  const payload = assertion?.split('.')[1];
  if (!payload) return undefined;
  try {
    const { sub } = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as { sub?: unknown };
    return typeof sub === 'string' ? sub : undefined;
  } catch {
    return undefined;
  }
}

/**
 * What the library would refuse only after looking the client up, refused before, the same for
 * every client id, so the answer never tells whether an id exists: a browser's cross-origin call
 * (Origin; Keygate allows no origin for any client), a client attestation (not offered), and a
 * form the library would read only in part (hasTooManyParameters).
 */
function refusalBeforeLookup(req: IncomingMessage, body: Buffer): string | undefined {
  if (req.headers.origin !== undefined) return 'cross-origin requests are not accepted';
  if (req.headers['oauth-client-attestation'] !== undefined || req.headers['oauth-client-attestation-pop'] !== undefined) {
    return 'client attestation is not supported';
  }
  if (hasTooManyParameters(body)) return TOO_MANY_PARAMETERS;
  return undefined;
}

/**
 * An answer with the headers the library's token endpoint sends to a request without an Origin
 * (its CORS step answers every such request alike), the body already serialised.
 */
function respondAsTokenEndpoint(res: ServerResponse, status: number, json: string): void {
  res.writeHead(status, {
    Vary: 'Origin',
    'Access-Control-Allow-Origin': '*',
    'Access-Control-Expose-Headers': 'WWW-Authenticate',
    'Cache-Control': 'no-store',
    'Content-Type': 'application/json; charset=utf-8',
    'Content-Length': Buffer.byteLength(json),
  });
  res.end(json);
}

export function createOAuth(deps: OAuthDeps) {
  // Each request reads a key at most once, however many library hooks ask for it.
  const lookupKey: KeyLookup = (clientId) => memoizeInRequest(clientId, deps.findKey);

  // The library never compares this value: compareClientSecret (internals.ts) checks the secret.
  const secretPlaceholder = randomBytes(32).toString('base64url');
  const mtls = deps.clientCertificates !== undefined;
  const clientMetadata = (key: KeySnapshot) => clientMetadataFor(key, secretPlaceholder, mtls);
  const provider = createProvider({
    issuer: deps.issuer,
    tokenTtlSeconds: deps.tokenTtlSeconds,
    adapter: createAdapterFactory({
      lookupKey,
      tokens: deps.tokens,
      clientMetadata,
    }),
    certificates: deps.clientCertificates,
    behindProxy: deps.trustedProxies.length > 0,
    revocationAllowed: async (callerId, ownerId) => {
      // A caller that proved itself with an assertion or a certificate: steps 5–10 now.
      const admitted = await admitLibraryAuthenticatedClient(lookupKey, callerId);
      if (admitted && !admitted.ok) throw oauthErrorFor(admitted.reason);
      if (callerId === ownerId) return true;
      const [caller, owner] = await Promise.all([lookupKey(callerId), lookupKey(ownerId)]);
      return !!caller && !!owner && effectiveScopes(caller).includes(RESOURCE_SERVER_SCOPE) && mayActOnTokensOf(caller, owner);
    },
  });
  // One counter series per token route, resolved once (src/shared/metric-series.ts).
  const issuedOn = new Map<string, CounterSeries>();
  const mintToken = createTokenMinter(deps.tokens, (key) => {
    const scope = currentRequestScope();
    deps.usage.seen(key.clientId, scope?.clientIpText ?? null);
    deps.activity.count(key.clientId, 'issued');
    const route = scope?.path ?? 'none';
    let issued = issuedOn.get(route);
    if (!issued) issuedOn.set(route, (issued = counterSeries(deps.metrics.tokensIssued, { route })));
    issued.inc();
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
    onKeyLimited: (clientId) => deps.activity.denied(clientId, 'rate_limited'),
  });
  const recordDenial = createDenialRecorder(deps.audit, deps.log, deps.metrics, limits, deps.activity, deps.noteDenial);
  installProviderSeams(provider, {
    lookupKey,
    pepperRing: deps.pepperRing,
    grant: createClientCredentialsGrant({
      lookupKey,
      mintToken,
      limits,
      admitCredentialHolder: (clientId) => admitLibraryAuthenticatedClient(lookupKey, clientId),
      bindSender: createSenderBinding(provider),
    }),
    recordDenial,
    replay: deps.replay,
    clientMetadata,
  });

  const providerCallback = provider.callback();
  const exchangeDeps = { lookupKey, pepperRing: deps.pepperRing, mintToken, recordDenial, limits };
  const plainTokenDeps = { lookupKey, pepperRing: deps.pepperRing, mintToken, limits };
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
        // As /oauth/introspect answers it: an OAuth error body (`error`, `error_description`), the status says what was wrong.
        sendOAuthError(reply, statusOf(error), 'invalid_request', error.message);
        return reply.respond();
      }
      const refusal = refusalBeforeLookup(req, body);
      if (refusal) {
        sendOAuthError(reply, 400, 'invalid_request', refusal);
        return reply.respond();
      }
      // Step 1 of the token policy for the client id presented (Basic or form), known or unknown
      // alike, before the library looks anything up: a locked (client id, source) pair gets the
      // same 429 whether or not the id exists.
      const parameters = formParameters(req, body);
      const pair = limits.checkAuthentication(presentedClientId(req.headers.authorization, formClientId(parameters)), currentRequestScope()?.sourceIp);
      if (!pair.ok) {
        sendRateLimited(reply, pair.retryAfterSeconds);
        return reply.respond();
      }
      if (currentRequestScope()?.path === PROVIDER_ROUTES.token) {
        const form = plainTokenForm(req, parameters, deps.clientCertificates?.presented(req) !== undefined);
        const answer = form && (await answerPlainTokenRequest(plainTokenDeps, reply, form));
        if (answer?.retryAfterSeconds !== undefined) res.setHeader('Retry-After', String(answer.retryAfterSeconds));
        if (answer) return respondAsTokenEndpoint(res, answer.status, answer.json);
      }
      dropUntrustedForwardedOrigin(req, deps.trustedProxies);
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
      activity: deps.activity,
    }),
    verifyKey: createKeyVerificationRoute({
      lookupKey,
      pepperRing: deps.pepperRing,
      recordDenial,
      metrics: deps.metrics,
      limits,
      usage: deps.usage,
    }),
    authorizeApiKey: createApiKeyAuthorizeRoute(exchangeDeps),
    authorizeExternal: createExternalAuthRoute(exchangeDeps),
    metadata: createMetadataRoute(deps.issuer, deps.clientCertificates !== undefined),
  };
}
