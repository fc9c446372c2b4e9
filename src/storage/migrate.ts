/**
 * Versioned migrations, run at start and by `twofold migrate`. Kysely's migrator takes a lock
 * (a lock row under SELECT … FOR UPDATE on PostgreSQL) so instances starting together migrate once.
 */
import { Migrator, type Kysely, type Migration, type MigrationProvider } from 'kysely';
import * as foundation from './migrations/001_foundation.ts';
import * as twoFactor from './migrations/002_two_factor.ts';
import * as sms from './migrations/003_sms.ts';

const migrations: Record<string, Migration> = {
  '001_foundation': foundation,
  '002_two_factor': twoFactor,
  '003_sms': sms,
};

const provider: MigrationProvider = { getMigrations: async () => migrations };

export interface MigrationReport {
  applied: string[];
}

export async function migrateToLatest(db: Kysely<any>): Promise<MigrationReport> {
  const migrator = new Migrator({ db, provider });
  const { error, results } = await migrator.migrateToLatest();
  if (error) throw error instanceof Error ? error : new Error(String(error));
  return { applied: (results ?? []).filter((r) => r.status === 'Success').map((r) => r.migrationName) };
}
