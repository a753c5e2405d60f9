// Two-factor rows: a user's sealed TOTP secret, their recovery-code hashes, and the sign-in
// challenges waiting for a second factor. Spending a code or a challenge is one conditional
// statement, so two replicas racing on the same one cannot both succeed.
import { sql } from 'kysely';
import type { Db } from './db.ts';

export interface TwoFactorRow {
  userId: string;
  secretEncrypted: string;
  enabledAt: Date | null;
  lastUsedStep: number | null;
}

export function createTwoFactorStore(db: Db) {
  return {
    async find(userId: string): Promise<TwoFactorRow | undefined> {
      const row = await db.selectFrom('user_two_factor').selectAll().where('user_id', '=', userId).executeTakeFirst();
      return (
        row && {
          userId: row.user_id,
          secretEncrypted: row.secret_encrypted,
          enabledAt: row.enabled_at,
          lastUsedStep: row.last_used_step === null ? null : Number(row.last_used_step),
        }
      );
    },
    async isEnabled(userId: string): Promise<boolean> {
      const row = await db.selectFrom('user_two_factor').select('user_id').where('user_id', '=', userId).where('enabled_at', 'is not', null).executeTakeFirst();
      return row !== undefined;
    },
    /** A new secret waiting for its first code; replaces one still waiting, never an enabled one (false then). */
    async savePending(userId: string, secretEncrypted: string): Promise<boolean> {
      const row = await db
        .insertInto('user_two_factor')
        .values({ user_id: userId, secret_encrypted: secretEncrypted, enabled_at: null, last_used_step: null })
        .onConflict((oc) =>
          oc
            .column('user_id')
            .doUpdateSet({ secret_encrypted: secretEncrypted, created_at: new Date(), last_used_step: null })
            .where('user_two_factor.enabled_at', 'is', null),
        )
        .returning('user_id')
        .executeTakeFirst();
      return row !== undefined;
    },
    /** Enables a pending secret with the step of its first code; false when it was not pending. */
    async enable(userId: string, step: number): Promise<boolean> {
      const row = await db
        .updateTable('user_two_factor')
        .set({ enabled_at: new Date(), last_used_step: step })
        .where('user_id', '=', userId)
        .where('enabled_at', 'is', null)
        .returning('user_id')
        .executeTakeFirst();
      return row !== undefined;
    },
    /**
     * Records that a code of `step` was used, only if no code of that step or a later one was:
     * the one statement that makes each code usable once, across replicas.
     */
    async spendStep(userId: string, step: number): Promise<boolean> {
      const row = await db
        .updateTable('user_two_factor')
        .set({ last_used_step: step })
        .where('user_id', '=', userId)
        .where('enabled_at', 'is not', null)
        .where((eb) => eb.or([eb('last_used_step', 'is', null), eb('last_used_step', '<', sql<string>`${step}`)]))
        .returning('user_id')
        .executeTakeFirst();
      return row !== undefined;
    },
    /** Removes the secret and the recovery codes; whether there was a secret. */
    async remove(userId: string): Promise<boolean> {
      await db.deleteFrom('user_recovery_codes').where('user_id', '=', userId).execute();
      const row = await db.deleteFrom('user_two_factor').where('user_id', '=', userId).returning('user_id').executeTakeFirst();
      return row !== undefined;
    },

    async replaceRecoveryCodes(userId: string, codeHashes: readonly string[]): Promise<void> {
      await db.deleteFrom('user_recovery_codes').where('user_id', '=', userId).execute();
      await db
        .insertInto('user_recovery_codes')
        .values(codeHashes.map((code_hash) => ({ user_id: userId, code_hash, used_at: null })))
        .execute();
    },
    async unusedRecoveryCodes(userId: string): Promise<string[]> {
      const rows = await db.selectFrom('user_recovery_codes').select('code_hash').where('user_id', '=', userId).where('used_at', 'is', null).execute();
      return rows.map((row) => row.code_hash);
    },
    /** Marks one recovery code used, only if it still was not: false when another request spent it first. */
    async spendRecoveryCode(userId: string, codeHash: string): Promise<boolean> {
      const row = await db
        .updateTable('user_recovery_codes')
        .set({ used_at: new Date() })
        .where('user_id', '=', userId)
        .where('code_hash', '=', codeHash)
        .where('used_at', 'is', null)
        .returning('user_id')
        .executeTakeFirst();
      return row !== undefined;
    },

    async addChallenge(input: { idHash: string; userId: string; expiresAt: Date }): Promise<void> {
      // A user's expired challenges go as a new one comes: the table holds only live ones and a few stragglers.
      await db.deleteFrom('sign_in_challenges').where('user_id', '=', input.userId).where('expires_at', '<', new Date()).execute();
      await db.insertInto('sign_in_challenges').values({ id_hash: input.idHash, user_id: input.userId, expires_at: input.expiresAt }).execute();
    },
    async findChallenge(idHash: string): Promise<{ userId: string; expiresAt: Date; failures: number } | undefined> {
      const row = await db.selectFrom('sign_in_challenges').select(['user_id', 'expires_at', 'failures']).where('id_hash', '=', idHash).executeTakeFirst();
      return row && { userId: row.user_id, expiresAt: row.expires_at, failures: row.failures };
    },
    /** One more failure; the challenge is deleted once it reaches `maxFailures`. Returns the count. */
    async failChallenge(idHash: string, maxFailures: number): Promise<number> {
      const row = await db
        .updateTable('sign_in_challenges')
        .set((eb) => ({ failures: eb('failures', '+', 1) }))
        .where('id_hash', '=', idHash)
        .returning('failures')
        .executeTakeFirst();
      if (row && row.failures >= maxFailures) await db.deleteFrom('sign_in_challenges').where('id_hash', '=', idHash).execute();
      return row?.failures ?? maxFailures;
    },
    /** Every sign-in of the user that waits for its second factor ends (their sessions ended, their password set). */
    async deleteChallengesOf(userId: string): Promise<void> {
      await db.deleteFrom('sign_in_challenges').where('user_id', '=', userId).execute();
    },
    /** Deletes the challenge and says whether this call did (a challenge is taken once). */
    async takeChallenge(idHash: string): Promise<{ userId: string; expiresAt: Date } | undefined> {
      const row = await db.deleteFrom('sign_in_challenges').where('id_hash', '=', idHash).returning(['user_id', 'expires_at']).executeTakeFirst();
      return row && { userId: row.user_id, expiresAt: row.expires_at };
    },
  };
}

export type TwoFactorStore = ReturnType<typeof createTwoFactorStore>;
