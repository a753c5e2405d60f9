// Token policy steps 5–9 (oauth/pipeline.ts): the key itself may issue tokens right now. The same
// check runs again at introspection time, so a disabled key's live tokens are inactive at once, and
// wherever a key's past act is honoured later (a set-up link it issued, identity/setup-links.ts).
import type { KeySnapshot } from './model.ts';
import type { DenialReason } from '../shared/denial-reasons.ts';

export type KeyStateOutcome = 'ok' | Extract<DenialReason, 'key_disabled' | 'key_expired' | 'owner_not_authorized' | 'user_disabled' | 'tenant_disabled'>;

export function checkKeyState(key: KeySnapshot, now: Date): KeyStateOutcome {
  if (key.status !== 'active') return 'key_disabled';
  if (key.expiresAtMs !== null && key.expiresAtMs <= now.getTime()) return 'key_expired';
  if (key.creator === 'missing' || key.creator === 'inactive') return 'owner_not_authorized';
  if (!key.userActive) return 'user_disabled';
  if (!key.tenantActive) return 'tenant_disabled';
  return 'ok';
}
