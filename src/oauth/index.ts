// Wires the OAuth side together: the provider with Keygate's seams, the introspection route,
// the API-key exchanges and the metadata document.
import { randomBytes } from 'node:crypto';
import type { Context } from 'koa';
import type { Logger } from 'pino';
import type { PepperRing } from '../crypto/secret-hash.ts';
import { currentRequestScope, memoizeInRequest } from '../http/request-scope.ts';
import type { UsageRecorder } from '../keys/usage.ts';
import type { Metrics } from '../http/metrics.ts';
import type { AuditStore } from '../stores/audit.ts';
import type { KeySnapshot } from '../keys/model.ts';
import type { TokenStore } from '../stores/tokens.ts';
import { INTROSPECT_SCOPE } from '../keys/model.ts';
import { createAdapterFactory } from './adapter.ts';
import { createDenialRecorder } from './denial-audit.ts';
import { createApiKeyAuthorizeRoute, createExternalAuthRoute } from './exchanges.ts';
import { installProviderSeams } from './internals.ts';
import { createIntrospectionRoute } from './introspection.ts';
import { createMetadataRoute } from './metadata.ts';
import { createTokenMinter } from './mint.ts';
import { effectiveScopes, tenantMayActOn, type KeyLookup } from './pipeline.ts';
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
  log: Logger;
}

export function createOAuth(deps: OAuthDeps) {
  // Each request reads a key at most once, however many library hooks ask for it.
  const lookupKey: KeyLookup = (clientId) =>
    memoizeInRequest(`key:${clientId}`, () => deps.findKey(clientId));

  const provider = createProvider({
    issuer: deps.issuer,
    tokenTtlSeconds: deps.tokenTtlSeconds,
    adapter: createAdapterFactory({ lookupKey, tokens: deps.tokens, secretPlaceholder: randomBytes(32).toString('base64url') }),
    revocationAllowed: async (callerId, ownerId) => {
      if (callerId === ownerId) return true;
      const [caller, owner] = await Promise.all([lookupKey(callerId), lookupKey(ownerId)]);
      return !!caller && !!owner && effectiveScopes(caller).includes(INTROSPECT_SCOPE) && tenantMayActOn(caller.tenantId, owner);
    },
  });
  const mintToken = createTokenMinter(provider, (key) => {
    const scope = currentRequestScope();
    deps.usage.seen(key.clientId, scope?.clientIpText ?? null);
    deps.metrics.tokensIssued.inc({ route: scope?.path ?? 'none' });
  });
  const recordDenial = createDenialRecorder(deps.audit, deps.log, deps.metrics);
  installProviderSeams(provider, {
    lookupKey,
    pepperRing: deps.pepperRing,
    grant: createClientCredentialsGrant({ lookupKey, mintToken }),
    recordDenial,
  });

  const providerCallback = provider.callback();
  const exchangeDeps = { lookupKey, pepperRing: deps.pepperRing, mintToken, recordDenial };
  return {
    lookupKey,
    /** Hands the raw request to oidc-provider, which writes the response itself. */
    async forwardToProvider(ctx: Context): Promise<void> {
      ctx.respond = false;
      await providerCallback(ctx.req, ctx.res);
    },
    introspect: createIntrospectionRoute({ lookupKey, pepperRing: deps.pepperRing, tokens: deps.tokens, issuer: deps.issuer, recordDenial, metrics: deps.metrics }),
    authorizeApiKey: createApiKeyAuthorizeRoute(exchangeDeps),
    authorizeExternal: createExternalAuthRoute(exchangeDeps),
    metadata: createMetadataRoute(deps.issuer),
  };
}
