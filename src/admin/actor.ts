
import { ApiError } from '../http/errors.ts';
import { currentRequestScope } from '../http/request-scope.ts';
import type { Actor } from '../keys/service.ts';
import type { TenantStore } from '../stores/tenants.ts';
import type { AdminCaller } from './auth.ts';
import { isReservedScope, RESERVED_SCOPES } from './schemas.ts';

/** The service-layer actor for an admin caller: its own tenant and its direct children (SPEC §1). */
export async function actorFor(caller: AdminCaller, tenants: TenantStore): Promise<Actor> {
  const scope = currentRequestScope();
  const userKey = caller.keyKind === 'user';
  return {
    keyId: caller.keyId,
    userId: caller.userId,
    via: 'admin-api',
    // A user key manages only its own user's keys, in its own tenant (SPEC §1).
    tenantIds: userKey ? [caller.tenantId] : await tenants.withChildren(caller.tenantId),
    ...(userKey && caller.userId ? { onlyUserId: caller.userId } : {}),
    ip: scope?.clientIpText ?? null,
    requestId: scope?.requestId ?? null,
  };
}

/**
 * Keygate's own scopes (admin:*, token:introspect) must be real ones, and a caller can only hand
 * out those it holds itself: an admin:keys:write token cannot mint an admin:tenants:write key.
 */
export function assertGrantable(caller: AdminCaller, scopes: readonly string[] | undefined): void {
  const refused = (scopes ?? []).filter((s) => isReservedScope(s) && (!RESERVED_SCOPES.includes(s) || !caller.scopes.has(s)));
  if (refused.length > 0) {
    throw new ApiError('validation_failed', 'request body is invalid', refused.map((s) => ({
      field: 'scopes',
      message: RESERVED_SCOPES.includes(s) ? `'${s}' can only be granted by a caller that holds it` : `'${s}' is not a known Keygate scope`,
    })));
  }
}

/** `30d`, `12h`, `90m`, `45s` or plain seconds. */
export function durationSeconds(text: string): number {
  const match = /^(\d+)([smhd]?)$/.exec(text)!;
  return Number(match[1]) * { '': 1, s: 1, m: 60, h: 3600, d: 86_400 }[match[2] as '' | 's' | 'm' | 'h' | 'd'];
}

