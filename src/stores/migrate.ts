import { promises as fs } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { FileMigrationProvider, Migrator, type MigrationResultSet } from 'kysely/migration';
import type { Db } from './db.ts';

const MIGRATIONS_DIR = fileURLToPath(new URL('../../migrations', import.meta.url));

function migrator(db: Db): Migrator {
  return new Migrator({
    db,
    provider: new FileMigrationProvider({ fs, path, migrationFolder: MIGRATIONS_DIR }),
  });
}

export interface MigrationReport {
  applied: string[];
}

/** Applies every pending migration; running it again is a no-op. Concurrent runs are serialised by kysely's lock. */
export async function migrateToLatest(db: Db): Promise<MigrationReport> {
  return unwrap(await migrator(db).migrateToLatest());
}

export async function migrateDown(db: Db): Promise<MigrationReport> {
  return unwrap(await migrator(db).migrateDown());
}

function unwrap({ error, results = [] }: MigrationResultSet): MigrationReport {
  if (error) throw error instanceof Error ? error : new Error(String(error));
  return { applied: results.filter((r) => r.status === 'Success').map((r) => r.migrationName) };
}
