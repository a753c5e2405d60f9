// last_used_at / last_used_ip without a database write per token request: sightings are kept
// in memory, newest per key, and written in one statement every few seconds and at shutdown.
import type { Logger } from 'pino';
import type { KeyStore, KeyUsage } from '../stores/keys.ts';

export interface UsageRecorder {
  seen(clientId: string, ip: string | null): void;
  flush(): Promise<void>;
  close(): Promise<void>;
}

export function createUsageRecorder(keys: Pick<KeyStore, 'recordUsage'>, log: Logger, intervalMs = 5000): UsageRecorder {
  let pending = new Map<string, KeyUsage>();
  const flush = async () => {
    if (pending.size === 0) return;
    const batch = [...pending.values()];
    pending = new Map();
    try {
      await keys.recordUsage(batch);
    } catch (error) {
      // Last-use data is advisory: a failed write is logged, never fails a token request.
      log.warn({ err: error, keys: batch.length }, 'could not record key usage');
    }
  };
  const timer = setInterval(() => void flush(), intervalMs);
  timer.unref();
  return {
    seen(clientId, ip) {
      pending.set(clientId, { clientId, at: new Date(), ip });
    },
    flush,
    async close() {
      clearInterval(timer);
      await flush();
    },
  };
}
