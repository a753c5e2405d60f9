// The ONLY file that changes oidc-provider's behaviour beyond its configuration.
// The library version is pinned exactly in package.json; test/integration/provider-seam.test.ts
// covers each seam below, private-key-jwt-dpop.test.ts and mtls.test.ts the assertion, proof and
// certificate paths through them. Deep imports of the library's own DPoP and binding steps are
// typed in oidc-provider-internals.d.ts.
import type Provider from 'oidc-provider';
import type { AdapterPayload } from 'oidc-provider';
import validateDpop, { checkDpopReplay } from 'oidc-provider/lib/helpers/validate_dpop.js';
import { checkDpopRequired, checkMtlsCert } from 'oidc-provider/lib/helpers/sender_constraints.js';
import certificateThumbprint from 'oidc-provider/lib/helpers/certificate_thumbprint.js';
import { hash } from 'node:crypto';
import type { KeyCredentials, KeySnapshot } from '../keys/model.ts';
import type { ReplayStore } from '../stores/replay.ts';
import type { TokenBinding } from '../stores/tokens.ts';
import type { PepperRing } from '../crypto/secret-hash.ts';
import { isWellFormedClientId } from '../crypto/credentials.ts';
import { currentRequestScope } from '../http/request-scope.ts';
import { presentedClientId } from './client-credentials.ts';
import { KEY_CACHE_MAX_ENTRIES } from '../keys/key-cache.ts';
import { denialReasonOf, guardStores, oauthErrorFor, UNAVAILABLE_DESCRIPTION, withDenialReason } from './denials.ts';
import { isConnectionFailure } from '../shared/store-failures.ts';
import type { DenialRecorder } from './denial-audit.ts';
import { admitCredentialHolder, authenticateClient, type ClientAuthentication, type KeyLookup } from './pipeline.ts';
import type { GrantContext } from './token-grant.ts';

export interface ProviderSeams {
  lookupKey: KeyLookup;
  pepperRing: PepperRing;
  grant: (ctx: GrantContext) => Promise<void>;
  recordDenial: DenialRecorder;
  replay: ReplayStore;
  /** A key's client metadata as the adapter gives it to the library (adapter.ts). */
  clientMetadata: (key: KeySnapshot) => AdapterPayload | undefined;
}

/**
 * Whether a key may act now when it proved itself without a secret (steps 5–10 of the token
 * policy); undefined when it authenticated with a secret, which compareClientSecret already
 * checked. For the grant and the revocation policy, which run after the library's client
 * authentication.
 */
export async function admitLibraryAuthenticatedClient(lookupKey: KeyLookup, clientId: string): Promise<ClientAuthentication | undefined> {
  const scope = currentRequestScope();
  if (scope?.secretGeneration !== undefined) return undefined;
  return guardStores(() => admitCredentialHolder({ lookupKey }, { clientId, ip: scope?.clientIp, now: new Date() }));
}

/**
 * Step 11 of the token policy with the library's own DPoP and certificate-binding steps, as its
 * client_credentials handler runs them: a proof present is validated (signature, htm, htu, iat
 * window) and spent; a key that requires DPoP gets no token without one; a client authenticated
 * by certificate gets a token bound to it. Returns the binding to store with the token.
 */
export function createSenderBinding(provider: Provider) {
  const fail = (reason: Parameters<typeof withDenialReason>[1]) => (error: unknown) => {
    throw withDenialReason(error, reason);
  };
  return async function bindSender(ctx: GrantContext): Promise<TokenBinding | undefined> {
    const proof = await validateDpop(provider, ctx).catch(fail('dpop_invalid'));
    try {
      checkDpopRequired(provider, ctx, proof);
    } catch (error) {
      fail('dpop_required')(error);
    }
    const certificate = checkMtlsCert(provider, ctx);
    if (proof) await guardStores(() => checkDpopReplay(provider, ctx, proof, ctx.oidc.client!.clientId)).catch(fail('dpop_replayed'));
    if (!proof && !certificate) return undefined;
    return { ...(proof ? { jkt: proof.thumbprint } : {}), ...(certificate ? { 'x5t#S256': certificateThumbprint(certificate) } : {}) };
  };
}

/** Identifies a key's credentials as built into a Client: a credential change means a rebuild. */
const fingerprints = new WeakMap<KeyCredentials, string>();
function fingerprintOf(credentials: KeyCredentials): string {
  let fingerprint = fingerprints.get(credentials);
  if (fingerprint === undefined) fingerprints.set(credentials, (fingerprint = JSON.stringify(credentials)));
  return fingerprint;
}

/**
 * Built oidc-provider Client objects kept per client_id (the library keeps only 100), for keys
 * whose client metadata is their own (a JWKS, a certificate subject). As many as the key cache
 * holds: building one is costly, and with many keys a smaller cap means a rebuild on nearly every
 * token request.
 */
const BUILT_CLIENTS_MAX = KEY_CACHE_MAX_ENTRIES;

type LibraryClient = NonNullable<Awaited<ReturnType<Provider['Client']['find']>>>;

/**
 * Keys that authenticate with a secret all have the same client metadata but for their client_id
 * and the DPoP flag (adapter.ts: the secret itself is checked by compareClientSecret below, never
 * by the library). So the library builds and validates one Client per DPoP flag, and each key's
 * Client is a view of it carrying the key's own client_id: a key's first token costs no Client
 * build and no per-key memory. The view inherits every method and setting of a Client the library
 * validated, so nothing the library checks is skipped.
 */
function createSharedSecretClients(provider: Provider, clientMetadata: ProviderSeams['clientMetadata']) {
  const shapes = new Map<boolean, LibraryClient>();
  return function secretClientFor(key: KeySnapshot): LibraryClient | undefined {
    const dpop = key.credentials.dpopRequired;
    let shape = shapes.get(dpop);
    if (!shape) {
      const metadata = clientMetadata(key);
      if (!metadata) return undefined;
      const LibraryClientClass = provider.Client as unknown as new (metadata: AdapterPayload) => LibraryClient;
      shapes.set(dpop, (shape = new LibraryClientClass(metadata)));
    }
    const client = Object.create(shape) as { -readonly [K in keyof LibraryClient]: LibraryClient[K] };
    client.clientId = key.clientId;
    return client;
  };
}

export function installProviderSeams(provider: Provider, seams: ProviderSeams): void {
  // 0. The library rebuilds (and re-validates) a Client whenever its 100-entry cache misses, which
  //    with many keys is every request. A key's client metadata depends on its client_id and its
  //    credentials alone (adapter.ts), so a built Client stays valid while the key exists with the
  //    same credentials: both are re-checked through the key cache on every call, the build is
  //    reused. A key with a secret takes a view of the one shared Client instead (above). (Step 1
  //    of the token policy, the failure limits, runs before the library sees the request:
  //    index.ts, forwardToProvider.)
  const libraryFind = provider.Client.find.bind(provider.Client);
  const secretClientFor = createSharedSecretClients(provider, seams.clientMetadata);
  const built = new Map<string, { fingerprint: string; client: LibraryClient }>();
  provider.Client.find = async function findClient(clientId: string) {
    if (typeof clientId !== 'string' || !isWellFormedClientId(clientId)) return undefined;
    const key = await guardStores(() => seams.lookupKey(clientId));
    if (!key) return undefined;
    if (key.credentials.authMethod === 'client_secret') return secretClientFor(key);
    const fingerprint = fingerprintOf(key.credentials);
    let entry = built.get(clientId);
    if (entry?.fingerprint !== fingerprint) {
      const client = await libraryFind(clientId);
      if (!client) return undefined;
      built.delete(clientId);
      if (built.size >= BUILT_CLIENTS_MAX) built.delete(built.keys().next().value!);
      built.set(clientId, (entry = { fingerprint, client }));
    }
    return entry.client;
  } as typeof provider.Client.find;

  // 0b. Client assertions and DPoP proofs are single use. The library's own check reads, then
  //     writes; this one is a single atomic write, so of two concurrent uses only one succeeds,
  //     on any replica (stores/replay.ts). The id is what the library would use: hash(iss + jti).
  provider.ReplayDetection.unique = async function unique(iss: string, jti: string, exp: number) {
    return guardStores(() => seams.replay.firstUse(hash('sha256', `${iss}${jti}`, 'base64url'), exp));
  } as typeof provider.ReplayDetection.unique;

  // 1. Client authentication. The library resolves the client first (the find above), then calls
  //    this with the presented secret.
  provider.Client.prototype.compareClientSecret = async function compareClientSecret(presented: string) {
    // Steps 2–10 of the token policy (pipeline.ts): every route behind this hook (token,
    // revocation) needs a usable key from an allowed network; a disabled key must not revoke.
    const scope = currentRequestScope();
    const authentication = await guardStores(() =>
      authenticateClient(seams, { clientId: this.clientId, secret: presented, ip: scope?.clientIp, now: new Date() }),
    );
    if (!authentication.ok) throw oauthErrorFor(authentication.reason);
    if (scope) scope.secretGeneration = authentication.secretGeneration;
    return true;
  };

  // 2. Keygate's client_credentials handler replaces the library's (token-grant.ts says why).
  provider.registerGrantType('client_credentials', ((ctx: GrantContext) => guardStores(() => seams.grant(ctx))) as never, 'scope');

  // 3. The library reports token-endpoint failures through this synchronous event, from inside its
  //    error handler; the reason is parked on the request and audited by the middleware below
  //    before the response leaves, so a client never sees its denial before the audit record exists.
  const parkDenial = (ctx: unknown, error: unknown) => {
    const scope = currentRequestScope();
    const client = (ctx as { oidc?: { client?: { clientAuthMethod?: string } } }).oidc?.client;
    const reason = denialReasonOf(error, client?.clientAuthMethod);
    if (scope && reason) scope.tokenDenial = reason;
  };
  provider.on('grant.error', parkDenial);
  provider.on('revocation.error', parkDenial);
  provider.use(async function auditTokenDenials(ctx, next) {
    await next();
    const retryAfter = currentRequestScope()?.retryAfterSeconds;
    if (retryAfter !== undefined) ctx.set('Retry-After', String(retryAfter));
    const reason = currentRequestScope()?.tokenDenial;
    if (!reason) return;
    const oidc = (ctx as { oidc?: { client?: { clientId: string }; params?: Record<string, unknown> } }).oidc;
    const clientId = oidc?.client?.clientId ?? presentedClientId(ctx.get('authorization'), oidc?.params?.client_id);
    try {
      const key = clientId && reason !== 'unknown_key' ? await seams.lookupKey(clientId) : undefined;
      await seams.recordDenial({ action: 'token.issue', reason, clientId, key, route: ctx.path });
    } catch (error) {
      // A denial that cannot be audited is not answered as a plain denial: the client retries.
      if (!isConnectionFailure(error)) throw error;
      ctx.status = 503;
      ctx.body = { error: 'temporarily_unavailable', error_description: UNAVAILABLE_DESCRIPTION };
    }
  });
}
