// The token store as the rest of the app sees it: every call timed for /metrics, and a store that
// cannot be reached reported as StoreUnavailableError (the routes answer 503, never a false
// "active"). Any other error is a bug: it stays itself, so it is a 500 with its stack in the log.
import { observeStoreCall, type Metrics } from '../shared/metrics.ts';
import type { TokenStore } from './tokens.ts';
import { isConnectionFailure, StoreUnavailableError } from '../shared/store-failures.ts';

export function instrumentTokenStore(store: TokenStore, metrics: Metrics): TokenStore {
  // Timed inline rather than through `timed`: this wraps every token read and write.
  const time = async <T>(operation: string, work: () => Promise<T>) => {
    const startedAt = process.hrtime.bigint();
    try {
      return await work();
    } catch (error) {
      throw isConnectionFailure(error) ? new StoreUnavailableError(store.kind, operation, { cause: error }) : error;
    } finally {
      observeStoreCall(metrics, store.kind, operation, startedAt);
    }
  };
  return {
    kind: store.kind,
    save: (hash, record) => time('save', () => store.save(hash, record)),
    find: (hash) => time('find', () => store.find(hash)),
    destroy: (hash) => time('destroy', () => store.destroy(hash)),
    destroyAllForKey: (clientId) => time('destroy_all', () => store.destroyAllForKey(clientId)),
    ping: () => store.ping(),
    close: () => store.close(),
  };
}
