// Per-key activity counts without a store write per request: each token issuance, refusal and
// introspection adds one to an in-process map (key, hour, outcome), and the map goes to the store
// in one batch every ACTIVITY_FLUSH_INTERVAL_MS and at shutdown. Counts are advisory:
// a failed write is logged and dropped, never fails a token request. Only known keys are counted:
// a request naming no key has nobody to count it against.
import type { Logger } from 'pino';
import { oneAtATime } from '../shared/one-at-a-time.ts';
import type { DenialReason } from '../shared/denial-reasons.ts';
import { HOUR_MS, type ActivityIncrement, type ActivityOutcome, type KeyActivityStore } from '../stores/key-activity.ts';

export interface ActivityRecorder {
  count(clientId: string, outcome: ActivityOutcome): void;
  /** A refused token or introspection request of a known key, by the policy step that refused it. */
  denied(clientId: string, reason: DenialReason): void;
  flush(): Promise<void>;
  close(): Promise<void>;
}

/**
 * The reasons a console shows, from the policy's finer ones: a key stopped by its user or its
 * tenant is as disabled to its caller as one disabled itself. The reasons that can only happen
 * before a key is known (malformed secret, unknown key) have no entry.
 */
export const DENIAL_OUTCOMES: Readonly<Partial<Record<DenialReason, ActivityOutcome>>> = Object.freeze({
  secret_mismatch: 'denied_bad_secret',
  ip_not_allowed: 'denied_network',
  key_expired: 'denied_expired',
  key_disabled: 'denied_disabled',
  user_disabled: 'denied_disabled',
  tenant_disabled: 'denied_disabled',
  owner_not_authorized: 'denied_owner',
  scope_not_granted: 'denied_scope',
  not_introspector: 'denied_scope',
  rate_limited: 'denied_rate_limited',
  // A key without a secret fails on its credential: to its owner that is a bad secret by another name.
  wrong_auth_method: 'denied_bad_secret',
  assertion_invalid: 'denied_bad_secret',
  assertion_replayed: 'denied_bad_secret',
  certificate_invalid: 'denied_bad_secret',
  dpop_required: 'denied_bad_secret',
  dpop_invalid: 'denied_bad_secret',
  dpop_replayed: 'denied_bad_secret',
});

/**
 * How often counts go to the store. A flush writes one field per key and outcome counted since the
 * last one, so with many keys each used a few times a minute (a fleet of 100,000) a short interval
 * writes nearly one field per request; 30 s adds up several requests of each key per write, and
 * an hourly count that shows half a minute late loses nothing a reader of hourly counts can see.
 */
export const ACTIVITY_FLUSH_INTERVAL_MS = 30_000;

export function createActivityRecorder(store: Pick<KeyActivityStore, 'add'>, log: Logger, options: { intervalMs?: number } = {}): ActivityRecorder {
  // Counts of the current hour by outcome, then by key: one number per key and outcome, so
  // counting a request builds no string and no object, and a key counted this hour costs a map
  // entry, not a map and a record of its own. A new hour starts a new set of counts; the previous
  // one waits for the next flush.
  let pending = new Map<ActivityOutcome, Map<string, number>>();
  let pendingHour = Math.floor(Date.now() / HOUR_MS);
  let earlier: ActivityIncrement[] = [];
  const increments = (counts: Map<ActivityOutcome, Map<string, number>>, hour: number): ActivityIncrement[] => {
    const out: ActivityIncrement[] = [];
    for (const [outcome, byKey] of counts) for (const [clientId, count] of byKey) out.push({ clientId, hour, outcome, count });
    return out;
  };
  const count = (clientId: string, outcome: ActivityOutcome) => {
    const hour = Math.floor(Date.now() / HOUR_MS);
    if (hour !== pendingHour) {
      earlier = earlier.concat(increments(pending, pendingHour));
      pending = new Map();
      pendingHour = hour;
    }
    let byKey = pending.get(outcome);
    if (!byKey) pending.set(outcome, (byKey = new Map()));
    byKey.set(clientId, (byKey.get(clientId) ?? 0) + 1);
  };
  const writeWaiting = async () => {
    if (pending.size === 0 && earlier.length === 0) return;
    const batch = earlier.concat(increments(pending, pendingHour));
    pending = new Map();
    earlier = [];
    try {
      await store.add(batch);
    } catch (error) {
      log.warn({ err: error, counts: batch.length }, 'could not record key activity');
    }
  };
  const flush = oneAtATime(writeWaiting);
  const timer = setInterval(() => void flush(), options.intervalMs ?? ACTIVITY_FLUSH_INTERVAL_MS);
  timer.unref();
  return {
    count,
    denied(clientId, reason) {
      const outcome = DENIAL_OUTCOMES[reason];
      if (outcome) count(clientId, outcome);
    },
    flush,
    async close() {
      clearInterval(timer);
      await flush();
    },
  };
}
