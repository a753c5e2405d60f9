// Every denied token or introspection request leaves one audit record and one log line with
// its reason and caller IP (SPEC §3). The response never says more than "authentication failed".
import type { Logger } from 'pino';
import type { AuditStore } from '../stores/audit.ts';
import type { Metrics } from '../http/metrics.ts';
import type { KeySnapshot } from '../keys/model.ts';
import { isWellFormedClientId } from '../crypto/credentials.ts';
import { currentRequestScope } from '../http/request-scope.ts';
import { AUTHENTICATION_FAILURES, type DenialReason } from './pipeline.ts';
import type { AbuseLimits } from './abuse-limits.ts';

export type DeniedAction = 'token.issue' | 'token.introspect';

export interface Denial {
  action: DeniedAction;
  reason: DenialReason;
  /** The client_id the caller presented, if any. */
  clientId: string | undefined;
  key: KeySnapshot | undefined;
  route: string;
}

export type DenialRecorder = (denial: Denial) => Promise<void>;

export function createDenialRecorder(audit: AuditStore, log: Logger, metrics: Metrics, limits: AbuseLimits): DenialRecorder {
  return async function recordDenial({ action, reason, clientId, key, route }) {
    const scope = currentRequestScope();
    metrics.tokensDenied.inc({ action, reason });
    // A malformed client_id could be anything a caller typed (even a secret pasted in the wrong
    // field): only a well-formed one is recorded.
    const targetKeyId = key?.clientId ?? (clientId && isWellFormedClientId(clientId) ? clientId : null);
    log.info({ action, reason, clientId: targetKeyId, ip: scope?.clientIpText, requestId: scope?.requestId }, 'request denied');
    await audit.record({
      action,
      outcome: 'denied',
      reason,
      tenantId: key?.tenantId ?? null,
      actorKeyId: targetKeyId,
      // ClearPoint-style attribution: a user key's requests are the user's too.
      actorUserId: key?.userId ?? null,
      targetKeyId,
      ip: scope?.clientIpText ?? null,
      requestId: scope?.requestId ?? null,
      details: { route },
    });
    if (AUTHENTICATION_FAILURES.has(reason)) await limits.recordFailure(targetKeyId ?? undefined, scope?.clientIpText ?? null);
  };
}
