// Every place a person types a second-factor code (the sign-in's second step, enrolling, turning
// two-factor off, new recovery codes) goes through this guard: failures are limited per (user,
// source) and per source like failed passwords, 429 with Retry-After once over; one check at a
// time per (user, source) so a parallel burst cannot outrun the count; and every failure audited,
// never with the code.
import type { Context } from 'koa';
import type { Logger } from 'pino';
import { currentRequestScope } from '../../http/request-scope.ts';
import { failureSource, type AbuseLimits } from '../../oauth/abuse-limits.ts';
import { KeygateError } from '../../shared/errors.ts';
import type { AuditStore } from '../../stores/audit.ts';
import type { User } from '../../stores/users.ts';
import { createSignInsInFlight } from './sign-ins-in-flight.ts';

export function requestPlace() {
  const scope = currentRequestScope();
  return { ip: scope?.clientIpText ?? null, requestId: scope?.requestId ?? null, sourceIp: scope?.sourceIp };
}

export function createSecondFactorGuard(deps: { limits: AbuseLimits; audit: AuditStore; log: Logger }) {
  const inFlight = createSignInsInFlight();
  /** Runs `check`; its undefined answer is a failure, counted and audited under `action`. */
  return async function guardCode<T>(
    ctx: Context,
    user: Pick<User, 'id' | 'tenant_id'>,
    action: string,
    check: () => Promise<T | undefined>,
  ): Promise<T | undefined> {
    const { ip, requestId, sourceIp } = requestPlace();
    const limit = deps.limits.checkAuthentication(user.id, sourceIp);
    if (!limit.ok) {
      ctx.set('Retry-After', String(limit.retryAfterSeconds));
      throw new KeygateError('rate_limited', 'too many wrong codes: try again later');
    }
    const release = inFlight.claim(user.id, failureSource(sourceIp));
    if (!release) {
      ctx.set('Retry-After', '1');
      throw new KeygateError('rate_limited', 'another code from here is being checked: try again in a moment');
    }
    try {
      const result = await check();
      if (result === undefined) {
        deps.log.info({ action, reason: 'invalid_code', userId: user.id, ip, requestId }, 'second factor refused');
        await deps.audit.record({
          action,
          outcome: 'denied',
          reason: 'invalid_code',
          tenantId: user.tenant_id,
          actorUserId: user.id,
          ip,
          requestId,
          details: { via: 'console' },
        });
        await deps.limits.recordFailure(user.id, sourceIp, action);
      }
      return result;
    } finally {
      release();
    }
  };
}

export type SecondFactorGuard = ReturnType<typeof createSecondFactorGuard>;
