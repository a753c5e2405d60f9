// Who issued each set-up link: a link stops working when the person or key that issued it no
// longer could (disabled, deleted, expired), so a link cannot outlive its issuer's power. No
// foreign key: a deleted issuer must leave the link unusable, not nameless. Never edit once landed.
import type { Kysely } from 'kysely';

export async function up(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('user_setup_links').addColumn('issued_by_user_id', 'uuid').addColumn('issued_by_key_id', 'text').execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('user_setup_links').dropColumn('issued_by_user_id').dropColumn('issued_by_key_id').execute();
}
