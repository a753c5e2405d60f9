// Abuse limits: failed authentications per client id and per caller IP, and a per-key issuance
// rate. Failures are counted in the shared counters; a client id or IP over its limit is
// remembered in this process until its window ends, so the check costs no store round trip on the
// hot path. Another replica learns of the lockout at its next failure for the same id or IP:
// at most one extra attempt per replica and window is judged before the lockout applies there.
//
// The lockouts remembered here are bounded (LOCKOUTS_MAX_ENTRIES). At the bound, expired ones
// go first; only a map full of live lockouts loses its oldest. That costs the dropped lockout at
// most one extra attempt: the count behind it is still at or over its limit for the rest of the
// window, so the next failure locks it again, exactly as on a replica that never saw the lockout.
// Redis never drops a count early (each expires on its own). The embedded in-memory counters are
// bounded the same way as this map; a lockout loses its count only when both maps have filled with
// newer live entries in the same window, and then its count starts again from zero.
import type { Logger } from 'pino';
import type { Metrics } from '../http/metrics.ts';
import type { KeySnapshot } from '../keys/model.ts';
import type { WindowCounters } from '../stores/counters.ts';
import { ExpiringMap } from '../stores/expiring-map.ts';

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

/** Lockouts one process remembers at most at once (~150 bytes each). */
export const LOCKOUTS_MAX_ENTRIES = 100_000;

export function createAbuseLimits(deps: {
  counters: WindowCounters;
  config: AbuseLimitConfig;
  metrics: Metrics;
  log: Logger;
  /** Called once per window when a limit is first crossed (audited, rate-limited by construction). */
  onCrossed(crossing: LimitCrossing): Promise<void>;
  /** For tests: a smaller bound and a clock (ms since the epoch). */
  lockoutsMaxEntries?: number;
  now?: () => number;
}) {
  const now = deps.now ?? Date.now;
  // Lockout name → the end of its window (ms since the epoch), which is also when it expires.
  const lockedUntil = new ExpiringMap<number>(deps.lockoutsMaxEntries ?? LOCKOUTS_MAX_ENTRIES, now);
  const lock = (name: string, until: number) => lockedUntil.set(name, until, until);
  const remaining = (name: string) => {
    const until = lockedUntil.get(name);
    return until === undefined ? 0 : Math.max(1, Math.ceil((until - now()) / 1000));
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
        lock(`f:c:${clientId}`, byClient.resetsAt);
        if (byClient.count === failuresPerClient) await deps.onCrossed({ limit: 'client_failures', clientId, ip });
      }
      if (byIp && byIp.count >= failuresPerIp) {
        lock(`f:ip:${ip}`, byIp.resetsAt);
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
