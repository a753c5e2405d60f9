// A sign-in whose password was right, for a person with two-factor on, waits here for its second
// factor: a server-side record named by 256 random bits (only their hash is stored), living a few
// minutes, taken once when the second factor is right, and deleted after a few wrong codes.
import { randomBytes } from 'node:crypto';
import { hashToken } from '../crypto/token-hash.ts';
import type { TwoFactorStore } from '../stores/two-factor.ts';

export const CHALLENGE_SECONDS = 5 * 60;
/** Wrong codes a challenge survives; the next sign-in starts with the password again. */
export const CHALLENGE_MAX_FAILURES = 5;

const CHALLENGE_ID = /^[A-Za-z0-9_-]{43}$/;

export function createSignInChallenges(deps: {
  store: Pick<TwoFactorStore, 'addChallenge' | 'findChallenge' | 'failChallenge' | 'takeChallenge'>;
  now?: () => number;
}) {
  const now = deps.now ?? Date.now;
  return {
    async issue(userId: string): Promise<{ id: string; expiresAt: Date }> {
      const id = randomBytes(32).toString('base64url');
      const expiresAt = new Date(now() + CHALLENGE_SECONDS * 1000);
      await deps.store.addChallenge({ idHash: hashToken(id), userId, expiresAt });
      return { id, expiresAt };
    },
    /** The user a live challenge waits for, or undefined. */
    async find(id: string): Promise<{ userId: string } | undefined> {
      if (!CHALLENGE_ID.test(id)) return undefined;
      const found = await deps.store.findChallenge(hashToken(id));
      return found && found.expiresAt.getTime() > now() && found.failures < CHALLENGE_MAX_FAILURES ? { userId: found.userId } : undefined;
    },
    /** One wrong code; true when the challenge is now dead. */
    async fail(id: string): Promise<boolean> {
      return (await deps.store.failChallenge(hashToken(id), CHALLENGE_MAX_FAILURES)) >= CHALLENGE_MAX_FAILURES;
    },
    /** Takes the challenge (once): false when it is gone, expired or taken by a parallel request. */
    async take(id: string): Promise<boolean> {
      const taken = await deps.store.takeChallenge(hashToken(id));
      return taken !== undefined && taken.expiresAt.getTime() > now();
    },
  };
}

export type SignInChallenges = ReturnType<typeof createSignInChallenges>;
