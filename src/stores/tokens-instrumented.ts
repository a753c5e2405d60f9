// Store latencies for /metrics: the token store with every call timed.
import { timed, type Metrics } from '../http/metrics.ts';
import type { TokenStore } from './tokens.ts';

export function instrumentTokenStore(store: TokenStore, metrics: Metrics): TokenStore {
  const time = <T>(operation: string, work: () => Promise<T>) => timed(metrics, store.kind, operation, work);
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
