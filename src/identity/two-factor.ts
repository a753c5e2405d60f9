// Two-factor sign-in for people: a TOTP secret (crypto/totp.ts) sealed under the pepper, enabled
// only once the person has typed a code from it, and ten recovery codes kept as peppered hashes.
// Each TOTP code is accepted once: the last accepted step is kept per user and only a later step
// is accepted, in one conditional update, so a code seen over a shoulder or replayed by a second
// replica in the same window is refused. Every change is audited (identity and outcome, never a
// code or a secret). Limits on failed codes belong to the routes that take them.
import { randomBytes } from 'node:crypto';
import { openSealedSecret, sealSecret } from '../crypto/sealed-secret.ts';
import { hashSecret, verifySecret, type PepperRing } from '../crypto/secret-hash.ts';
import { generateTotpSecret, isTotpCodeShape, matchTotpStep, otpauthUri } from '../crypto/totp.ts';
import { auditedChange, type Actor, type Transact } from '../keys/audited-change.ts';
import { KeygateError } from '../shared/errors.ts';
import type { TwoFactorStore } from '../stores/two-factor.ts';
import type { User } from '../stores/users.ts';

const SEAL_PURPOSE = 'keygate totp secret v1';
export const RECOVERY_CODE_COUNT = 10;
const RECOVERY_ALPHABET = 'abcdefghijkmnpqrstuvwxyz23456789'; // no l, o, 0, 1: read aloud and typed back
/** Enrolment changes what signing in asks for: only within this long of a sign-in. */
export const RECENT_SIGN_IN_SECONDS = 10 * 60;

export type SecondFactor = 'totp' | 'recovery_code';

export interface TwoFactorStatus {
  enabled: boolean;
  enabled_at: string | null;
  recovery_codes_left: number;
}

/** Two groups of five: 50 random bits, hashed with the pepper (a dump alone cannot test guesses). */
export function generateRecoveryCode(): string {
  const bytes = randomBytes(10);
  const chars = [...bytes].map((byte) => RECOVERY_ALPHABET[byte & 31]).join('');
  return `${chars.slice(0, 5)}-${chars.slice(5)}`;
}

/** The form a recovery code is hashed in: lower case, no spaces or dashes. */
export const normaliseRecoveryCode = (code: string) => code.toLowerCase().replace(/[\s-]/g, '');

export function createTwoFactor(deps: { store: TwoFactorStore; transact: Transact; pepperRing: PepperRing; issuer: string; now?: () => number }) {
  const now = deps.now ?? Date.now;
  const issuerName = `Keygate (${new URL(deps.issuer).host})`;

  async function newRecoveryCodes(): Promise<{ codes: string[]; hashes: string[] }> {
    const codes = Array.from({ length: RECOVERY_CODE_COUNT }, generateRecoveryCode);
    return { codes, hashes: codes.map((code) => hashSecret(deps.pepperRing, normaliseRecoveryCode(code))) };
  }

  const auditOf = (user: Pick<User, 'id' | 'tenant_id'>, action: string, details: Record<string, unknown> = {}) => ({
    action,
    tenantId: user.tenant_id,
    details: { user_id: user.id, ...details },
  });

  /** A TOTP code of the user's enabled secret, spent if it matches a step not used before. */
  async function spendTotp(userId: string, code: string): Promise<boolean> {
    const row = await deps.store.find(userId);
    if (!row?.enabledAt) return false;
    const step = matchTotpStep(openSealedSecret(deps.pepperRing, SEAL_PURPOSE, row.secretEncrypted), code, now());
    return step !== undefined && (await deps.store.spendStep(userId, step));
  }

  async function spendRecoveryCode(userId: string, code: string): Promise<boolean> {
    const normal = normaliseRecoveryCode(code);
    if (!/^[a-z0-9]{10}$/.test(normal)) return false;
    const match = (await deps.store.unusedRecoveryCodes(userId)).find((stored) => verifySecret(deps.pepperRing, stored, normal));
    return match !== undefined && (await deps.store.spendRecoveryCode(userId, match));
  }

  return {
    isEnabled: (userId: string) => deps.store.isEnabled(userId),

    async status(userId: string): Promise<TwoFactorStatus> {
      const row = await deps.store.find(userId);
      const enabled = Boolean(row?.enabledAt);
      return {
        enabled,
        enabled_at: row?.enabledAt?.toISOString() ?? null,
        recovery_codes_left: enabled ? (await deps.store.unusedRecoveryCodes(userId)).length : 0,
      };
    },

    /** A new secret, waiting for its first code; 409 when two-factor is already on. */
    async startEnrolment(user: Pick<User, 'id' | 'email'>): Promise<{ secret: string; uri: string }> {
      const secret = generateTotpSecret();
      if (!(await deps.store.savePending(user.id, sealSecret(deps.pepperRing, SEAL_PURPOSE, secret)))) {
        throw new KeygateError('conflict', 'two-factor is already on: turn it off first to enrol a new authenticator');
      }
      return { secret, uri: otpauthUri({ issuer: issuerName, account: user.email, secret }) };
    },

    /**
     * Turns two-factor on once `code` matches the waiting secret; returns the ten recovery codes
     * (shown once), or undefined for a wrong code.
     */
    async confirmEnrolment(user: Pick<User, 'id' | 'tenant_id'>, code: string, actor: Actor): Promise<string[] | undefined> {
      const row = await deps.store.find(user.id);
      if (!row) throw new KeygateError('conflict', 'no enrolment is waiting: start again');
      if (row.enabledAt) throw new KeygateError('conflict', 'two-factor is already on');
      const step = matchTotpStep(openSealedSecret(deps.pepperRing, SEAL_PURPOSE, row.secretEncrypted), code, now());
      if (step === undefined) return undefined;
      const { codes, hashes } = await newRecoveryCodes();
      await auditedChange({ transact: deps.transact }, actor, async (tx, record) => {
        if (!(await tx.twoFactor.enable(user.id, step))) throw new KeygateError('conflict', 'two-factor is already on');
        await tx.twoFactor.replaceRecoveryCodes(user.id, hashes);
        await record(auditOf(user, 'user.two_factor.enable', { recovery_codes: RECOVERY_CODE_COUNT }));
      });
      return codes;
    },

    /**
     * Spends a second factor of the user's: a six-digit code of the current window (once), or an
     * unused recovery code. Returns which it was, or undefined. A recovery code spent is audited.
     */
    async spend(user: Pick<User, 'id' | 'tenant_id'>, code: string, actor: Actor): Promise<SecondFactor | undefined> {
      if (isTotpCodeShape(code)) return (await spendTotp(user.id, code)) ? 'totp' : undefined;
      if (!(await spendRecoveryCode(user.id, code))) return undefined;
      const left = (await deps.store.unusedRecoveryCodes(user.id)).length;
      await auditedChange({ transact: deps.transact }, actor, async (_tx, record) => {
        await record(auditOf(user, 'user.two_factor.recovery_code_use', { recovery_codes_left: left }));
      });
      return 'recovery_code';
    },

    /** New recovery codes, the old ones dead (the caller has just spent a second factor). */
    async regenerateRecoveryCodes(user: Pick<User, 'id' | 'tenant_id'>, actor: Actor): Promise<string[]> {
      const { codes, hashes } = await newRecoveryCodes();
      await auditedChange({ transact: deps.transact }, actor, async (tx, record) => {
        if (!(await tx.twoFactor.isEnabled(user.id))) throw new KeygateError('conflict', 'two-factor is off');
        await tx.twoFactor.replaceRecoveryCodes(user.id, hashes);
        await record(auditOf(user, 'user.two_factor.recovery_codes_regenerate', { recovery_codes: RECOVERY_CODE_COUNT }));
      });
      return codes;
    },

    /** Turns two-factor off (the caller has just spent a second factor). */
    async disable(user: Pick<User, 'id' | 'tenant_id'>, actor: Actor): Promise<void> {
      await auditedChange({ transact: deps.transact }, actor, async (tx, record) => {
        await tx.twoFactor.remove(user.id);
        await record(auditOf(user, 'user.two_factor.disable'));
      });
    },

    /** Whether a session opened at `signedInAt` may still enrol (identity/sessions.ts). */
    isRecentSignIn(signedInAt: Date): boolean {
      return now() - signedInAt.getTime() <= RECENT_SIGN_IN_SECONDS * 1000;
    },
  };
}

export type TwoFactor = ReturnType<typeof createTwoFactor>;
