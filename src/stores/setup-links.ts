// Set-up links: a hash of the token, the user it sets a password for, and its expiry.
import type { Db } from './db.ts';

export function createSetupLinkStore(db: Db) {
  return {
    /** Stores a new link for the user; any earlier link of theirs stops working. */
    async replace(input: { tokenHash: string; userId: string; expiresAt: Date }): Promise<void> {
      await db.deleteFrom('user_setup_links').where('user_id', '=', input.userId).execute();
      await db.insertInto('user_setup_links').values({ token_hash: input.tokenHash, user_id: input.userId, expires_at: input.expiresAt }).execute();
    },
    async peek(tokenHash: string): Promise<{ userId: string; expiresAt: Date } | undefined> {
      const row = await db.selectFrom('user_setup_links').select(['user_id', 'expires_at']).where('token_hash', '=', tokenHash).executeTakeFirst();
      return row && { userId: row.user_id, expiresAt: row.expires_at };
    },
    /** Removes the link and returns it (once: a second take of the same token finds nothing). */
    async take(tokenHash: string): Promise<{ userId: string; expiresAt: Date } | undefined> {
      const row = await db.deleteFrom('user_setup_links').where('token_hash', '=', tokenHash).returning(['user_id', 'expires_at']).executeTakeFirst();
      return row && { userId: row.user_id, expiresAt: row.expires_at };
    },
  };
}

export type SetupLinkStore = ReturnType<typeof createSetupLinkStore>;
