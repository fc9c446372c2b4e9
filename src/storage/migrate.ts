/**
 * Versioned migrations, run at start and by `twofold migrate`.
 *
 * Instances started at the same moment all call this. On PostgreSQL the whole run — including
 * the creation of Kysely's own bookkeeping tables, which happens before Kysely's internal lock —
 * holds one session-level advisory lock on a dedicated connection, so exactly one caller
 * migrates and the others wait, then find the database up to date. SQLite serialises writers
 * itself (busy_timeout), so it needs nothing more.
 */
import { Migrator, PostgresAdapter, sql, type Kysely, type Migration, type MigrationProvider } from 'kysely';
import * as foundation from './migrations/001_foundation.ts';
import * as twoFactor from './migrations/002_two_factor.ts';
import * as sms from './migrations/003_sms.ts';
import * as sessionMethods from './migrations/004_session_methods.ts';
import * as hardeningLinks from './migrations/005_hardening_links.ts';
import * as deliveryQueue from './migrations/007_delivery_queue.ts';
import * as oidc from './migrations/008_oidc.ts';
import * as webauthn from './migrations/009_webauthn.ts';
import * as backchannelOnQueue from './migrations/010_backchannel_on_queue.ts';
import * as stagedEnforcement from './migrations/011_staged_enforcement.ts';
import * as trustedBrowsers from './migrations/012_trusted_browsers.ts';
import * as reportsAndSessions from './migrations/013_reports_and_sessions.ts';
import * as emailVerification from './migrations/014_email_verification.ts';

const migrations: Record<string, Migration> = {
  '001_foundation': foundation,
  '002_two_factor': twoFactor,
  '003_sms': sms,
  '004_session_methods': sessionMethods,
  '005_hardening_links': hardeningLinks,
  '007_delivery_queue': deliveryQueue,
  '008_oidc': oidc,
  '009_webauthn': webauthn,
  '010_backchannel_on_queue': backchannelOnQueue,
  '011_staged_enforcement': stagedEnforcement,
  '012_trusted_browsers': trustedBrowsers,
  '013_reports_and_sessions': reportsAndSessions,
  '014_email_verification': emailVerification,
};

/** Every migration, in the order they apply. */
export const migrationNames: readonly string[] = Object.keys(migrations).sort();

const provider: MigrationProvider = { getMigrations: async () => migrations };

/**
 * The advisory-lock key of Twofold's migrations (advisory locks are per database). Any constant
 * works as long as nothing else in the database uses it; it differs from Kysely's own key.
 */
export const MIGRATION_LOCK_KEY = 7_206_149_011_225_331;

export interface MigrationReport {
  applied: string[];
}

async function runMigrator(db: Kysely<any>): Promise<MigrationReport> {
  const migrator = new Migrator({ db, provider });
  const { error, results } = await migrator.migrateToLatest();
  if (error) throw error instanceof Error ? error : new Error(String(error));
  return { applied: (results ?? []).filter((r) => r.status === 'Success').map((r) => r.migrationName) };
}

export async function migrateToLatest(db: Kysely<any>): Promise<MigrationReport> {
  if (!(db.getExecutor().adapter instanceof PostgresAdapter)) return runMigrator(db);
  // One connection for lock, migrations and unlock: a session-level lock belongs to the
  // connection that took it, and is released by PostgreSQL if this process dies holding it.
  return db.connection().execute(async (connection) => {
    await sql`select pg_advisory_lock(${MIGRATION_LOCK_KEY}::bigint)`.execute(connection);
    try {
      return await runMigrator(connection);
    } finally {
      await sql`select pg_advisory_unlock(${MIGRATION_LOCK_KEY}::bigint)`.execute(connection);
    }
  });
}
