// Whether a stored token may be honoured right now: checked at introspection and by the
// admin API, not only at issue, so key changes end live tokens at once.
import type { KeySnapshot } from '../../keys/model.ts';
import type { TokenRecord } from '../../stores/tokens.ts';
import { checkKeyState, type KeyStateOutcome } from '../../keys/key-state.ts';
import { isInGrace } from './secret.ts';

export type TokenStateOutcome = 'ok' | 'token_expired' | 'token_ended' | 'secret_rotated' | Exclude<KeyStateOutcome, 'ok'>;

export function checkTokenState(record: TokenRecord, owner: KeySnapshot, now: Date): TokenStateOutcome {
  if (record.exp * 1000 <= now.getTime()) return 'token_expired';
  const keyState = checkKeyState(owner, now);
  if (keyState !== 'ok') return keyState;
  // Ended by a change to its key, user or tenant (even if minted from a stale copy of the key
  // while that change committed): dead for good, whatever the key's state later.
  if (record.epoch !== owner.tokenEpoch) return 'token_ended';
  // A token minted with the secret a rotation replaced lives only as long as that secret's grace.
  if (record.generation === owner.secretGeneration) return 'ok';
  if (record.generation === owner.secretGeneration - 1 && isInGrace(owner, now)) return 'ok';
  return 'secret_rotated';
}
