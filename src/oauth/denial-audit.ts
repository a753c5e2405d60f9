// Every denied token or introspection request leaves one audit record and one log line with
// its reason and caller IP, and so does every abuse limit when it is first crossed in a window.
// The response never says more than "authentication failed".
import type { Logger } from 'pino';
import type { AuditStore } from '../stores/audit.ts';
import type { Metrics } from '../shared/metrics.ts';
import type { KeySnapshot } from '../keys/model.ts';
import { isWellFormedClientId } from '../crypto/credentials.ts';
import { currentRequestScope } from '../http/request-scope.ts';
import { AUTHENTICATION_FAILURES, type DenialReason, type KeyLookup } from './pipeline.ts';
import type { AbuseLimits, LimitCrossing } from './abuse-limits.ts';
import type { ActivityRecorder } from '../keys/activity.ts';
import type { IpAddress } from '../shared/network.ts';
import type { DenialCategory } from '../keys/denial-summaries.ts';

/** Counts a denial of a known key towards its `key.denials` summary (keys/denial-summaries.ts). */
export type NoteDenial = (key: { clientId: string; tenantId: string }, category: DenialCategory) => void;

const SUMMARISED: Partial<Record<DenialReason, DenialCategory>> = { ip_not_allowed: 'network_denied', rate_limited: 'rate_limited' };

export type DeniedAction = 'token.issue' | 'token.introspect' | 'key.verify';

export interface Denial {
  action: DeniedAction;
  reason: DenialReason;
  /** The client_id the caller presented, if any. */
  clientId: string | undefined;
  key: KeySnapshot | undefined;
  route: string;
  /** Where the attempt came from when not the request's own caller (a verified key's end client). */
  source?: IpAddress;
  /** That end client's address as text, for the audit record and log. */
  ip?: string;
}

export type DenialRecorder = (denial: Denial) => Promise<void>;

export function createDenialRecorder(
  audit: AuditStore,
  log: Logger,
  metrics: Metrics,
  limits: AbuseLimits,
  activity?: ActivityRecorder,
  noteDenial?: NoteDenial,
): DenialRecorder {
  return async function recordDenial({ action, reason, clientId, key, route, source, ip }) {
    const scope = currentRequestScope();
    metrics.tokensDenied.inc({ action, reason });
    // Counted against the key only when there is one: a made-up client id has nobody to count it for.
    if (key) activity?.denied(key.clientId, reason);
    const category = SUMMARISED[reason];
    if (key && category) noteDenial?.(key, category);
    // A malformed client_id could be anything a caller typed (even a secret pasted in the wrong
    // field): only a well-formed one is recorded.
    const targetKeyId = key?.clientId ?? (clientId && isWellFormedClientId(clientId) ? clientId : null);
    const callerIp = ip ?? scope?.clientIpText ?? null;
    log.info({ action, reason, clientId: targetKeyId, ip: callerIp, requestId: scope?.requestId }, 'request denied');
    await audit.record({
      action,
      outcome: 'denied',
      reason,
      tenantId: key?.tenantId ?? null,
      actorKeyId: targetKeyId,
      // A user key acts for its user: its denied requests are attributed to that user too.
      actorUserId: key?.userId ?? null,
      targetKeyId,
      ip: callerIp,
      requestId: scope?.requestId ?? null,
      details: { route },
    });
    if (AUTHENTICATION_FAILURES.has(reason)) await limits.recordFailure(targetKeyId ?? undefined, source ?? scope?.sourceIp, action);
  };
}

/**
 * The record of a limit's first crossing in a window. It belongs to the tenant of the key the
 * crossing pair names, so that tenant's admins see the attack on their key; an id that names no
 * key (and a source's own limit) belongs to no tenant.
 */
export function createLimitCrossingRecorder(audit: AuditStore, log: Logger, lookupKey: KeyLookup, noteDenial?: NoteDenial) {
  return async function recordLimitCrossing({ limit, clientId, source, action }: LimitCrossing): Promise<void> {
    const scope = currentRequestScope();
    const key = clientId === undefined ? undefined : await lookupKey(clientId);
    if (key) noteDenial?.(key, limit === 'key_issuance' ? 'rate_limited' : 'locked_out');
    log.warn({ limit, clientId, source, ip: scope?.clientIpText, requestId: scope?.requestId }, 'abuse limit reached');
    await audit.record({
      action,
      outcome: 'denied',
      reason: 'rate_limited',
      tenantId: key?.tenantId ?? null,
      actorKeyId: clientId ?? null,
      actorUserId: key?.userId ?? null,
      targetKeyId: clientId ?? null,
      ip: scope?.clientIpText ?? null,
      requestId: scope?.requestId ?? null,
      details: { limit, route: scope?.path, ...(source === null ? {} : { source }) },
    });
  };
}
