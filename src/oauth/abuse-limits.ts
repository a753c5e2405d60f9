// Abuse limits (SPEC §3): failed authentications per client id and per caller IP, and a per-key
// issuance rate. Failures are counted in the shared counters; a client id or IP over its limit is
// remembered in this process until its window ends, so the check costs no store round trip on the
// hot path. Another replica learns of the lockout at its next failure for the same id or IP:
// at most one extra attempt per replica and window is judged before the lockout applies there.
import type { Logger } from 'pino';
import type { Metrics } from '../http/metrics.ts';
import type { KeySnapshot } from '../keys/model.ts';
import type { WindowCounters } from '../stores/counters.ts';

export interface AbuseLimitConfig {
  /** Failed authentications per client id per window before it is locked out. */
  failuresPerClient: number;
  /** Failed authentications per caller IP per window. */
  failuresPerIp: number;
  windowSeconds: number;
}

export type LimitCheck = { ok: true } | { ok: false; retryAfterSeconds: number; limit: 'client_failures' | 'ip_failures' | 'key_issuance' };

export interface LimitCrossing {
  limit: 'client_failures' | 'ip_failures' | 'key_issuance';
  clientId: string | undefined;
  ip: string | null;
}

export function createAbuseLimits(deps: {
  counters: WindowCounters;
  config: AbuseLimitConfig;
  metrics: Metrics;
  log: Logger;
  /** Called once per window when a limit is first crossed (audited, rate-limited by construction). */
  onCrossed(crossing: LimitCrossing): Promise<void>;
}) {
  const lockedUntil = new Map<string, number>();
  const lock = (name: string, seconds: number) => {
    if (lockedUntil.size > 100_000) lockedUntil.clear();
    lockedUntil.set(name, Date.now() + seconds * 1000);
  };
  const remaining = (name: string) => {
    const until = lockedUntil.get(name);
    if (until === undefined) return 0;
    if (until <= Date.now()) {
      lockedUntil.delete(name);
      return 0;
    }
    return Math.ceil((until - Date.now()) / 1000);
  };
  const denied = (limit: Exclude<LimitCheck, { ok: true }>['limit'], retryAfterSeconds: number): LimitCheck => {
    deps.metrics.tokensDenied.inc({ action: 'limit', reason: limit });
    return { ok: false, retryAfterSeconds, limit };
  };

  return {
    /** Before any credential is looked at. */
    checkAuthentication(clientId: string | undefined, ip: string | null): LimitCheck {
      const ipWait = ip ? remaining(`f:ip:${ip}`) : 0;
      if (ipWait > 0) return denied('ip_failures', ipWait);
      const clientWait = clientId ? remaining(`f:c:${clientId}`) : 0;
      if (clientWait > 0) return denied('client_failures', clientWait);
      return { ok: true };
    },

    async recordFailure(clientId: string | undefined, ip: string | null): Promise<void> {
      const { failuresPerClient, failuresPerIp, windowSeconds } = deps.config;
      const [byClient, byIp] = await Promise.all([
        clientId ? deps.counters.hit(`f:c:${clientId}`, windowSeconds) : undefined,
        ip ? deps.counters.hit(`f:ip:${ip}`, windowSeconds) : undefined,
      ]);
      if (byClient && byClient.count >= failuresPerClient) {
        lock(`f:c:${clientId}`, byClient.resetInSeconds);
        if (byClient.count === failuresPerClient) await deps.onCrossed({ limit: 'client_failures', clientId, ip });
      }
      if (byIp && byIp.count >= failuresPerIp) {
        lock(`f:ip:${ip}`, byIp.resetInSeconds);
        if (byIp.count === failuresPerIp) await deps.onCrossed({ limit: 'ip_failures', clientId, ip });
      }
    },

    /** Counts one issuance against the key's own per-minute limit, if it has one. */
    async takeIssuance(key: KeySnapshot, ip: string | null): Promise<LimitCheck> {
      if (key.rateLimitPerMinute === null) return { ok: true };
      const { count, resetInSeconds } = await deps.counters.hit(`i:${key.clientId}`, 60);
      if (count <= key.rateLimitPerMinute) return { ok: true };
      if (count === key.rateLimitPerMinute + 1) await deps.onCrossed({ limit: 'key_issuance', clientId: key.clientId, ip });
      return denied('key_issuance', resetInSeconds);
    },
  };
}

export type AbuseLimits = ReturnType<typeof createAbuseLimits>;
