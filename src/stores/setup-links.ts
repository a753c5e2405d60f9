// Set-up links: a hash of the token, the user it sets a password for, its expiry and its issuer.
import type { Db } from './db.ts';

export interface StoredSetupLink {
  userId: string;
  expiresAt: Date;
  issuedByUserId: string | null;
  issuedByKeyId: string | null;
}

const COLUMNS = ['user_id', 'expires_at', 'issued_by_user_id', 'issued_by_key_id'] as const;
const fromRow = (row: { user_id: string; expires_at: Date; issued_by_user_id: string | null; issued_by_key_id: string | null }): StoredSetupLink => ({
  userId: row.user_id,
  expiresAt: row.expires_at,
  issuedByUserId: row.issued_by_user_id,
  issuedByKeyId: row.issued_by_key_id,
});

export function createSetupLinkStore(db: Db) {
  return {
    /** Stores a new link for the user; any earlier link of theirs stops working. */
    async replace(input: { tokenHash: string; userId: string; expiresAt: Date; issuedByUserId: string | null; issuedByKeyId: string | null }): Promise<void> {
      await db.deleteFrom('user_setup_links').where('user_id', '=', input.userId).execute();
      await db
        .insertInto('user_setup_links')
        .values({
          token_hash: input.tokenHash,
          user_id: input.userId,
          expires_at: input.expiresAt,
          issued_by_user_id: input.issuedByUserId,
          issued_by_key_id: input.issuedByKeyId,
        })
        .execute();
    },
    async peek(tokenHash: string): Promise<StoredSetupLink | undefined> {
      const row = await db.selectFrom('user_setup_links').select(COLUMNS).where('token_hash', '=', tokenHash).executeTakeFirst();
      return row && fromRow(row);
    },
    /** Removes the link and returns it (once: a second take of the same token finds nothing). */
    async take(tokenHash: string): Promise<StoredSetupLink | undefined> {
      const row = await db.deleteFrom('user_setup_links').where('token_hash', '=', tokenHash).returning(COLUMNS).executeTakeFirst();
      return row && fromRow(row);
    },
    /** Drops the user's outstanding link: what it would set up has changed (role, status). */
    async deleteForUser(userId: string): Promise<void> {
      await db.deleteFrom('user_setup_links').where('user_id', '=', userId).execute();
    },
  };
}

export type SetupLinkStore = ReturnType<typeof createSetupLinkStore>;
