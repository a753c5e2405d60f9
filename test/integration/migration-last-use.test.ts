// Moving last use out of api_keys keeps every key's last use, going up and coming back down, and
// leaves api_keys without the columns and their indexes.
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { sql } from 'kysely';
import { FileMigrationProvider, Migrator } from 'kysely/migration';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { connectDatabase, type Db } from '../../src/stores/db.ts';

const DATABASE = `keygate_migration_last_use_${process.pid}`;
const BEFORE = '20261203T140000_add_setup_link_issuer';
const MOVE = '20261204T100000_move_last_use';

describe('migration: last use in a table of its own', () => {
  let db: Db;
  let migrator: Migrator;

  beforeAll(async () => {
    const admin = new pg.Client({ connectionString: inject('postgresAdminUrl') });
    await admin.connect();
    await admin.query(`create database ${DATABASE}`);
    await admin.end();
    db = connectDatabase(inject('postgresAdminUrl').replace(/\/postgres$/, `/${DATABASE}`));
    migrator = new Migrator({
      db,
      provider: new FileMigrationProvider({ fs, path, migrationFolder: fileURLToPath(new URL('../../migrations', import.meta.url)) }),
    });
  });
  afterAll(() => db?.destroy());

  const migrateTo = async (name: string) => {
    const { error } = await migrator.migrateTo(name);
    if (error) throw error;
  };
  const columnsOfKeys = async () =>
    (
      await sql<{ column_name: string }>`select column_name from information_schema.columns where table_name = 'api_keys' and column_name like 'last_used%'
        order by column_name`.execute(db)
    ).rows.map((r) => r.column_name);
  const indexesOf = async (table: string) =>
    (
      await sql<{ indexname: string }>`select indexname from pg_indexes where tablename = ${table} and indexname like '%last_use%' order by indexname`.execute(
        db,
      )
    ).rows.map((r) => r.indexname);

  it('moves each key last use across and back', async () => {
    await migrateTo(BEFORE);
    const tenant = (await sql<{ id: string }>`insert into tenants (name, updated_at) values ('t', now()) returning id`.execute(db)).rows[0]!;
    const usedAt = new Date('2026-11-30T10:11:12.345Z');
    await sql`
      insert into api_keys (client_id, tenant_id, kind, name, scopes, networks, secret_hash, token_ttl_seconds, updated_at, last_used_at, last_used_ip)
      values ('kg_used', ${tenant.id}, 'service', 'used', '{}', '{}', 'x', 3600, now(), ${usedAt}, '192.0.2.5'),
             ('kg_never', ${tenant.id}, 'service', 'never', '{}', '{}', 'x', 3600, now(), null, null)`.execute(db);

    await migrateTo(MOVE);
    expect(await db.selectFrom('api_key_last_use').selectAll().orderBy('client_id').execute()).toEqual([
      { client_id: 'kg_never', last_used_at: null, last_used_ip: null },
      { client_id: 'kg_used', last_used_at: usedAt, last_used_ip: '192.0.2.5' },
    ]);
    expect(await columnsOfKeys()).toEqual([]);
    expect(await indexesOf('api_keys')).toEqual([]);
    expect(await indexesOf('api_key_last_use')).toEqual(['api_key_last_use_at_desc_idx', 'api_key_last_use_at_idx', 'api_key_last_use_pkey']);

    // A key inserted afterwards, by whatever path, has its row; a deleted one loses it.
    await sql`
      insert into api_keys (client_id, tenant_id, kind, name, scopes, networks, secret_hash, token_ttl_seconds, updated_at)
      values ('kg_new', ${tenant.id}, 'service', 'new', '{}', '{}', 'x', 3600, now())`.execute(db);
    expect(await db.selectFrom('api_key_last_use').selectAll().where('client_id', '=', 'kg_new').execute()).toEqual([
      { client_id: 'kg_new', last_used_at: null, last_used_ip: null },
    ]);
    await sql`delete from api_keys where client_id = 'kg_new'`.execute(db);
    expect(await db.selectFrom('api_key_last_use').select('client_id').where('client_id', '=', 'kg_new').execute()).toEqual([]);

    await migrateTo(BEFORE);
    expect(await columnsOfKeys()).toEqual(['last_used_at', 'last_used_ip']);
    expect(await indexesOf('api_keys')).toEqual(['api_keys_last_used_desc_idx', 'api_keys_last_used_idx']);
    expect((await sql`select client_id, last_used_at, last_used_ip from api_keys order by client_id`.execute(db)).rows).toEqual([
      { client_id: 'kg_never', last_used_at: null, last_used_ip: null },
      { client_id: 'kg_used', last_used_at: usedAt, last_used_ip: '192.0.2.5' },
    ]);
    expect((await db.introspection.getTables()).map((t) => t.name)).not.toContain('api_key_last_use');
  });
});
