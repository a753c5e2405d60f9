// Migrations go up and down, and `keygate migrate` is idempotent.
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { connectDatabase, type Db } from '../../src/stores/db.ts';
import { migrateDown, migrateToLatest } from '../../src/stores/migrate.ts';
import { runCli } from '../support/cli.ts';
import { TEST_PEPPER } from '../support/keygate.ts';

const DATABASE = `keygate_migrations_${process.pid}`;

describe('migrations', () => {
  let db: Db;
  let url: string;

  beforeAll(async () => {
    const admin = new pg.Client({ connectionString: inject('postgresAdminUrl') });
    await admin.connect();
    await admin.query(`create database ${DATABASE}`);
    await admin.end();
    url = inject('postgresAdminUrl').replace(/\/postgres$/, `/${DATABASE}`);
    db = connectDatabase(url);
  });
  afterAll(() => db?.destroy());

  const tables = async () =>
    (await db.introspection.getTables())
      .map((t) => t.name)
      .filter((n) => !n.startsWith('kysely_'))
      .sort();

  it('applies, re-applies as a no-op, rolls back and re-applies', async () => {
    const all = [
      '20261123T120000_create_core_tables',
      '20261123T130000_add_change_notifications',
      '20261201T120000_add_tenant_ancestors',
      '20261201T130000_add_token_epoch',
      '20261202T100000_add_user_sign_in',
      '20261202T110000_add_scope_catalogue',
      '20261202T120000_add_key_credentials',
      '20261202T130000_add_outbox',
      '20261203T120000_add_audit_search',
      '20261203T130000_add_two_factor',
      '20261203T140000_add_setup_link_issuer',
      '20261204T100000_move_last_use',
    ];
    expect((await migrateToLatest(db)).applied).toEqual(all);
    expect(await tables()).toEqual([
      'api_key_last_use',
      'api_keys',
      'audit_events',
      'event_schedule_claims',
      'outbox',
      'scope_resources',
      'sign_in_challenges',
      'tenants',
      'user_recovery_codes',
      'user_setup_links',
      'user_two_factor',
      'users',
      'webhook_attempts',
      'webhook_deliveries',
      'webhook_endpoints',
    ]);
    expect((await migrateToLatest(db)).applied).toEqual([]);
    for (let i = 0; i < all.length; i++) await migrateDown(db);
    expect(await tables()).toEqual([]);
    expect((await migrateToLatest(db)).applied).toEqual(all);
  });

  it('`keygate migrate` succeeds on an up-to-date database', async () => {
    const result = await runCli(['migrate'], { DATABASE_URL: url, KEYGATE_SECRET_PEPPER: TEST_PEPPER });
    expect(result).toMatchObject({ code: 0, stdout: 'migrations are up to date\n' });
  });
});
