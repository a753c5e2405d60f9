// Abuse limits: failed authentications per source and per (client id, source), and each key's own
// issuance rate.
//
// There is no limit per client id alone. Secrets are 256 random bits, so a per-id lockout adds
// nothing against guessing; it only let anyone who knows an id lock its owner out. Failures count
// against where they come from: a source is an IPv4 address or an IPv6 /64 (one subscriber's
// allocation, which an attacker owns whole). A request from another source, with the right
// secret, is never refused because of them.
//
// Failures are counted in the shared counters; a pair or source over its limit is remembered in
// this process until its window ends, so the check costs no store round trip on the hot path.
// Another replica learns of the lockout at its next failure for the same pair or source: at most
// one extra attempt per replica and window is judged before the lockout applies there.
//
// The lockouts remembered here are bounded (LOCKOUTS_MAX_ENTRIES). At the bound, expired ones
// go first; only a map full of live lockouts loses its oldest. That costs the dropped lockout at
// most one extra attempt: the count behind it is still at or over its limit for the rest of the
// window, so the next failure locks it again, exactly as on a replica that never saw the lockout.
// Redis never drops a count early (each expires on its own). The embedded in-memory counters are
// bounded the same way as this map; a lockout loses its count only when both maps have filled with
// newer live entries in the same window, and then its count starts again from zero.
import type { Logger } from 'pino';
import type { Metrics } from '../shared/metrics.ts';
import type { KeySnapshot } from '../keys/model.ts';
import { isWellFormedClientId } from '../crypto/credentials.ts';
import type { WindowCounters } from '../stores/counters.ts';
import { ExpiringMap } from '../stores/expiring-map.ts';
import { subscriberBlock, type IpAddress } from '../shared/network.ts';

export interface AbuseLimitConfig {
  /** Failed authentications naming one client id from one source, per window, before that pair is refused. */
  failuresPerClientSource: number;
  /** Failed authentications from one source, whatever ids they name, per window, before the source is refused. */
  failuresPerSource: number;
  windowSeconds: number;
}

export type FailureLimit = 'client_source_failures' | 'source_failures';
export type LimitName = FailureLimit | 'key_issuance';

export type LimitCheck = { ok: true } | { ok: false; retryAfterSeconds: number; limit: LimitName };

const ALLOWED: LimitCheck = Object.freeze({ ok: true });

export interface LimitCrossing {
  limit: LimitName;
  /** The client id of the crossed pair, or of the key whose issuance limit was crossed. */
  clientId: string | undefined;
  /** The source counted (an IPv4 address or an IPv6 /64); null for a key's issuance limit. */
  source: string | null;
  /** What the crossing request was doing (an audit action), passed through as given. */
  action: string;
}

/** What failures from `ip` are counted against: the IPv4 address itself, or the IPv6 /64. */
export function failureSource(ip: IpAddress | undefined): string | null {
  return ip === undefined ? null : subscriberBlock(ip);
}

/** Lockouts one process remembers at most at once. */
export const LOCKOUTS_MAX_ENTRIES = 100_000;

/**
 * What failures are counted against besides their source. By default the client id a request
 * names (only well-formed ones: anything else could be any text a caller typed); the console's
 * sign-in counts a hash of the email instead, under counter names of its own.
 */
export interface FailureSubject {
  /** Starts every counter and lockout name, so two kinds of failure never share a count. */
  prefix: string;
  accepts(subject: string): boolean;
}

const CLIENT_ID_SUBJECT: FailureSubject = { prefix: 'f', accepts: isWellFormedClientId };

export function createAbuseLimits(deps: {
  counters: WindowCounters;
  config: AbuseLimitConfig;
  metrics: Metrics;
  log: Logger;
  /** Client ids unless given. */
  subject?: FailureSubject;
  /** Called once per window when a limit is first crossed (audited, rate-limited by construction). */
  onCrossed(crossing: LimitCrossing): Promise<void>;
  /** Told of every request a key's own issuance limit refuses (per-key activity counts). */
  onKeyLimited?(clientId: string): void;
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
  const subject = deps.subject ?? CLIENT_ID_SUBJECT;
  const denied = (limit: LimitName, retryAfterSeconds: number): LimitCheck => {
    // Token metrics count token requests only.
    if (subject === CLIENT_ID_SUBJECT) deps.metrics.tokensDenied.inc({ action: 'limit', reason: limit });
    return { ok: false, retryAfterSeconds, limit };
  };
  const sourceName = (source: string) => `${subject.prefix}:s:${source}`;
  // Only accepted subjects are counted (denial-audit.ts records no other id), so only they are checked.
  const pairName = (clientId: string | undefined, source: string) =>
    clientId !== undefined && subject.accepts(clientId) ? `${subject.prefix}:cs:${clientId}:${source}` : undefined;

  return {
    /** Before any credential is looked at, for known and unknown client ids alike. */
    checkAuthentication(clientId: string | undefined, ip: IpAddress | undefined): LimitCheck {
      // Nothing locked out (the usual case): no counter names to build for this request.
      if (lockedUntil.size === 0) return ALLOWED;
      const source = failureSource(ip);
      if (source === null) return ALLOWED;
      const sourceWait = remaining(sourceName(source));
      if (sourceWait > 0) return denied('source_failures', sourceWait);
      const pair = pairName(clientId, source);
      const pairWait = pair === undefined ? 0 : remaining(pair);
      if (pairWait > 0) return denied('client_source_failures', pairWait);
      return ALLOWED;
    },

    /** One failed authentication naming `clientId` (if well formed) from `ip`, during `action`. */
    async recordFailure(clientId: string | undefined, ip: IpAddress | undefined, action: string): Promise<void> {
      const source = failureSource(ip);
      if (source === null) return;
      const { failuresPerClientSource, failuresPerSource, windowSeconds } = deps.config;
      const pair = pairName(clientId, source);
      const [byPair, bySource] = await Promise.all([
        pair === undefined ? undefined : deps.counters.hit(pair, windowSeconds),
        deps.counters.hit(sourceName(source), windowSeconds),
      ]);
      if (byPair && byPair.count >= failuresPerClientSource) {
        lock(pair!, byPair.resetsAt);
        if (byPair.count === failuresPerClientSource) await crossed({ limit: 'client_source_failures', clientId, source, action });
      }
      if (bySource.count >= failuresPerSource) {
        lock(sourceName(source), bySource.resetsAt);
        if (bySource.count === failuresPerSource) await crossed({ limit: 'source_failures', clientId: undefined, source, action });
      }
    },

    /** Counts one issuance against the key's own per-minute limit, if it has one. */
    async takeIssuance(key: KeySnapshot): Promise<LimitCheck> {
      if (key.rateLimitPerMinute === null) return { ok: true };
      const { count, resetInSeconds } = await deps.counters.hit(`i:${key.clientId}`, 60);
      if (count <= key.rateLimitPerMinute) return { ok: true };
      if (count === key.rateLimitPerMinute + 1) {
        await deps.onCrossed({ limit: 'key_issuance', clientId: key.clientId, source: null, action: 'token.issue' });
      }
      deps.onKeyLimited?.(key.clientId);
      return denied('key_issuance', resetInSeconds);
    },
  };

  async function crossed(crossing: LimitCrossing & { limit: FailureLimit }): Promise<void> {
    deps.metrics.authLockouts.inc({ limit: crossing.limit });
    await deps.onCrossed(crossing);
  }
}

export type AbuseLimits = ReturnType<typeof createAbuseLimits>;
