// The audit page and its export read newest first (by id) inside a set of tenants, narrowed by
// actor or target: an index per way in, each ending in id, keeps a page or an export batch from
// scanning the whole log once it holds hundreds of thousands of events. Never edit once landed.
import { sql, type Kysely } from 'kysely';

export async function up(db: Kysely<any>): Promise<void> {
  await sql`create index audit_events_tenant_id_idx on audit_events (tenant_id, id)`.execute(db);
  await sql`create index audit_events_actor_user_idx on audit_events (actor_user_id, id) where actor_user_id is not null`.execute(db);
  await sql`create index audit_events_actor_key_idx on audit_events (actor_key_id, id) where actor_key_id is not null`.execute(db);
  await sql`create index audit_events_target_id_idx on audit_events (target_key_id, id) where target_key_id is not null`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  for (const name of ['audit_events_target_id_idx', 'audit_events_actor_key_idx', 'audit_events_actor_user_idx', 'audit_events_tenant_id_idx']) {
    await db.schema.dropIndex(name).execute();
  }
}
