// oidc-provider storage adapter. Clients are API keys read from Postgres; ClientCredentials
// tokens live in the token store under a hash of the token (the adapter id IS the bearer token).
// No other model is used by a client_credentials-only server.
import type { Adapter, AdapterPayload } from 'oidc-provider';
import type { KeySnapshot } from '../keys/model.ts';
import { isWellFormedClientId } from '../crypto/credentials.ts';
import { hashToken } from '../crypto/token-hash.ts';
import type { TokenStore } from '../stores/tokens.ts';
import type { KeyLookup } from './pipeline.ts';
import { guardStores } from './denials.ts';

export type AdapterFactory = (name: string) => Adapter;

/**
 * What oidc-provider needs to know about a key. `client_secret` is a random per-process value
 * that never leaves memory: secrets are verified against stored HMACs by the
 * compareClientSecret override in internals.ts, never by the library's own comparison.
 */
export function clientMetadataFor(key: KeySnapshot, secretPlaceholder: string): AdapterPayload {
  return {
    client_id: key.clientId,
    client_secret: secretPlaceholder,
    grant_types: ['client_credentials'],
    response_types: [],
    redirect_uris: [],
    token_endpoint_auth_method: 'client_secret_basic',
  };
}

export function createAdapterFactory(deps: { lookupKey: KeyLookup; tokens: TokenStore; secretPlaceholder: string }): AdapterFactory {
  const clients: Adapter = {
    ...unsupported('Client'),
    async find(clientId) {
      // A malformed client_id is refused without touching a store.
      if (!isWellFormedClientId(clientId)) return undefined;
      const key = await guardStores(() => deps.lookupKey(clientId));
      return key && clientMetadataFor(key, deps.secretPlaceholder);
    },
  };

  const clientCredentials: Adapter = {
    ...unsupported('ClientCredentials'),
    async upsert(token, payload) {
      await guardStores(() =>
        deps.tokens.save(hashToken(token), {
          clientId: payload.clientId!,
          scope: payload.scope ?? '',
          iat: payload.iat!,
          exp: payload.exp!,
          generation: Number((payload.extra as { g?: number } | undefined)?.g ?? 0),
          epoch: Number((payload.extra as { e?: number } | undefined)?.e ?? 0),
        }),
      );
    },
    async find(token) {
      const record = await guardStores(() => deps.tokens.find(hashToken(token)));
      return (
        record && {
          jti: token,
          kind: 'ClientCredentials',
          clientId: record.clientId,
          scope: record.scope || undefined,
          iat: record.iat,
          exp: record.exp,
          extra: { g: record.generation, e: record.epoch },
        }
      );
    },
    async destroy(token) {
      await guardStores(() => deps.tokens.destroy(hashToken(token)));
    },
  };

  return (name) => {
    if (name === 'Client') return clients;
    if (name === 'ClientCredentials') return clientCredentials;
    return unsupported(name);
  };
}

/** Every other model: nothing is ever found, and nothing may be written. */
function unsupported(model: string): Adapter {
  const refuse = (method: string) => async () => {
    throw new Error(`${model}.${method} is not supported by a client_credentials-only server`);
  };
  return {
    find: async () => undefined,
    findByUid: async () => undefined,
    findByUserCode: async () => undefined,
    upsert: refuse('upsert'),
    consume: refuse('consume'),
    destroy: refuse('destroy'),
    revokeByGrantId: refuse('revokeByGrantId'),
  };
}
