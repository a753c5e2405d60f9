// The token store as the rest of the app sees it: every call timed for /metrics, and every failure
// reported as StoreUnavailableError (the routes answer 503, never a false "active").
import { timed, type Metrics } from '../http/metrics.ts';
import type { TokenStore } from './tokens.ts';
import { StoreUnavailableError } from './unavailable.ts';

export function instrumentTokenStore(store: TokenStore, metrics: Metrics): TokenStore {
  const time = async <T>(operation: string, work: () => Promise<T>) => {
    try {
      return await timed(metrics, store.kind, operation, work);
    } catch (error) {
      throw new StoreUnavailableError(store.kind, operation, { cause: error });
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
