// The embedded default's token store: same contract as Redis, one process only.
import { secondsLeft, type TokenRecord, type TokenStore } from './tokens.ts';

const SWEEP_INTERVAL_MS = 60_000;

export function createMemoryTokenStore(): TokenStore {
  const records = new Map<string, TokenRecord>();
  const index = new Map<string, Set<string>>();
  const isLive = (record: TokenRecord) => secondsLeft(record, Date.now()) > 0;

  const forget = (tokenHash: string, record: TokenRecord) => {
    records.delete(tokenHash);
    const hashes = index.get(record.clientId);
    hashes?.delete(tokenHash);
    if (hashes?.size === 0) index.delete(record.clientId);
  };

  const sweep = setInterval(() => {
    for (const [hash, record] of records) if (!isLive(record)) forget(hash, record);
  }, SWEEP_INTERVAL_MS);
  sweep.unref();

  return {
    kind: 'memory',
    async save(tokenHash, record) {
      if (!isLive(record)) return;
      records.set(tokenHash, record);
      let hashes = index.get(record.clientId);
      if (!hashes) index.set(record.clientId, (hashes = new Set()));
      hashes.add(tokenHash);
    },
    async find(tokenHash) {
      const record = records.get(tokenHash);
      if (record && !isLive(record)) {
        forget(tokenHash, record);
        return undefined;
      }
      return record;
    },
    async destroy(tokenHash) {
      const record = records.get(tokenHash);
      if (record) forget(tokenHash, record);
    },
    async destroyAllForKey(clientId) {
      const hashes = index.get(clientId) ?? new Set<string>();
      for (const hash of hashes) records.delete(hash);
      index.delete(clientId);
      return hashes.size;
    },
    async ping() {},
    async close() {
      clearInterval(sweep);
    },
  };
}
