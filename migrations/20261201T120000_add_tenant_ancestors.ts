// Every tenant records its ancestors (root first), so "the whole subtree of T" and "T and every
// tenant above it" are one indexed lookup instead of a walk. A tenant never moves: its parent is
// fixed at creation, so the path set on insert stays true. Never edit once landed.
import { sql, type Kysely } from 'kysely';

export async function up(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('tenants')
    .addColumn('ancestors', sql`uuid[]`, (c) => c.notNull().defaultTo(sql`'{}'`))
    .execute();

  await sql`
    with recursive paths(id, ancestors) as (
      select id, '{}'::uuid[] from tenants where parent_id is null
      union all
      select t.id, p.ancestors || p.id from tenants t join paths p on t.parent_id = p.id
    )
    update tenants set ancestors = paths.ancestors from paths where tenants.id = paths.id`.execute(db);

  await sql`create index tenants_ancestors_idx on tenants using gin (ancestors)`.execute(db);

  // Set by the database on insert, whoever inserts (admin API, CLI, bootstrap, tests).
  await sql`
    create function keygate_tenant_set_ancestors() returns trigger language plpgsql as $$
    begin
      if new.parent_id is null then
        new.ancestors := '{}';
      else
        select p.ancestors || p.id into strict new.ancestors from tenants p where p.id = new.parent_id;
      end if;
      return new;
    end $$`.execute(db);
  await sql`
    create trigger tenants_set_ancestors before insert on tenants
    for each row execute function keygate_tenant_set_ancestors()`.execute(db);

  await sql`
    create function keygate_tenant_keep_place() returns trigger language plpgsql as $$
    begin
      if new.parent_id is distinct from old.parent_id or new.ancestors is distinct from old.ancestors then
        raise exception 'a tenant cannot move to another parent';
      end if;
      return new;
    end $$`.execute(db);
  await sql`
    create trigger tenants_keep_place before update of parent_id, ancestors on tenants
    for each row execute function keygate_tenant_keep_place()`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`drop trigger tenants_keep_place on tenants`.execute(db);
  await sql`drop function keygate_tenant_keep_place()`.execute(db);
  await sql`drop trigger tenants_set_ancestors on tenants`.execute(db);
  await sql`drop function keygate_tenant_set_ancestors()`.execute(db);
  await db.schema.dropIndex('tenants_ancestors_idx').execute();
  await db.schema.alterTable('tenants').dropColumn('ancestors').execute();
}
