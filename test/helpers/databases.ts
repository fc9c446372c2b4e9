/**
 * The databases every storage test runs against: a fresh SQLite file and a fresh PostgreSQL
 * database on the machine's server (127.0.0.1:5432, user postgres), created per test suite and
 * dropped afterwards. Where PostgreSQL does not answer, its runs are skipped with one line
 * saying why — unless TWOFOLD_REQUIRE_POSTGRES=1 (set by .ci/run), which makes that a failure.
 */
import { copyFileSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createHash, randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { openStorage } from '../../src/storage/database.ts';
import { migrateToLatest } from '../../src/storage/migrate.ts';

export type DatabaseKind = 'sqlite' | 'postgres';

export interface TestDatabase {
  kind: DatabaseKind;
  url: string;
  drop(): Promise<void>;
}

export const POSTGRES_ADMIN_URL = process.env.TWOFOLD_TEST_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

let postgresCheck: Promise<string | null> | null = null;

/** null when PostgreSQL answers, else the reason it cannot be used. */
export function postgresUnavailableReason(): Promise<string | null> {
  postgresCheck ??= (async () => {
    // A server that is not there refuses at once; the timeout only has to outlast a busy one
    // (at 3 s a test process once gave up on PostgreSQL while the shared machine's load was 20).
    const client = new pg.Client({ connectionString: POSTGRES_ADMIN_URL, connectionTimeoutMillis: 30_000 });
    try {
      await client.connect();
      await client.query('select 1');
      return null;
    } catch (error) {
      return error instanceof Error ? error.message : String(error);
    } finally {
      await client.end().catch(() => undefined);
    }
  })();
  return postgresCheck;
}

export async function createTestDatabase(kind: DatabaseKind): Promise<TestDatabase> {
  if (kind === 'sqlite') {
    const folder = mkdtempSync(join(tmpdir(), 'twofold-test-'));
    return { kind, url: `sqlite:${join(folder, 'twofold.db')}`, drop: async () => rmSync(folder, { recursive: true, force: true }) };
  }
  return createPostgresDatabase('');
}

/**
 * A fresh database with every migration already applied, for test servers: copied from a
 * migrated template instead of migrated again (on PostgreSQL about 1.7 s less per database,
 * measured on the busy 2-core machine: CREATE DATABASE from template1 and the migrations take
 * longer than copying a migrated database; on SQLite 0.2 s less). The server still runs
 * migrateToLatest at start, which then finds nothing to do. Tests of migrating a new database
 * use createTestDatabase, which stays empty.
 */
export async function createMigratedTestDatabase(kind: DatabaseKind): Promise<TestDatabase> {
  if (kind === 'sqlite') {
    const template = await sqliteTemplate();
    const folder = mkdtempSync(join(tmpdir(), 'twofold-test-'));
    const file = join(folder, 'twofold.db');
    copyFileSync(template, file);
    return { kind, url: `sqlite:${file}`, drop: async () => rmSync(folder, { recursive: true, force: true }) };
  }
  return createPostgresDatabase(`template ${await postgresTemplate()}`);
}

/** The migration sources, hashed: a template is reused only by runs with the same migrations. */
function migrationsFingerprint(): string {
  const storage = fileURLToPath(new URL('../../src/storage/', import.meta.url));
  const hash = createHash('sha256').update(readFileSync(join(storage, 'migrate.ts')));
  for (const name of readdirSync(join(storage, 'migrations')).sort()) hash.update(name).update(readFileSync(join(storage, 'migrations', name)));
  return hash.digest('hex').slice(0, 16);
}

let sqliteTemplateFile: Promise<string> | null = null;

/** One migrated SQLite file per test process (a file copy is all it takes), removed at exit. */
function sqliteTemplate(): Promise<string> {
  sqliteTemplateFile ??= (async () => {
    const folder = mkdtempSync(join(tmpdir(), 'twofold-template-'));
    process.once('exit', () => rmSync(folder, { recursive: true, force: true }));
    const file = join(folder, 'template.db');
    const storage = openStorage(`sqlite:${file}`);
    await migrateToLatest(storage.db);
    // Closing the last connection checkpoints the WAL into the file, so the file alone is whole.
    await storage.close();
    return file;
  })();
  return sqliteTemplateFile;
}

/** Advisory-lock key under which test processes build a PostgreSQL template (any constant unused elsewhere). */
const TEMPLATE_LOCK_KEY = 7_206_149_011_225_332;
let postgresTemplateName: Promise<string> | null = null;

/**
 * A migrated PostgreSQL database named after the migrations' fingerprint, shared by every test
 * process and run with the same migrations, and kept (a later run reuses it; other worktrees
 * with other migrations get their own). Built under an advisory lock so concurrent processes
 * build it once, under a temporary name renamed when complete, so a process that dies while
 * building never leaves a half-migrated template behind. Nothing stays connected to it: a
 * database is copied only while nobody is connected.
 */
function postgresTemplate(): Promise<string> {
  postgresTemplateName ??= (async () => {
    const name = `twofold_template_${migrationsFingerprint()}`;
    const admin = new pg.Client({ connectionString: POSTGRES_ADMIN_URL });
    await admin.connect();
    try {
      await admin.query('select pg_advisory_lock($1::bigint)', [TEMPLATE_LOCK_KEY]);
      const existing = await admin.query('select 1 from pg_database where datname = $1', [name]);
      if (existing.rowCount === 0) {
        const building = `${name}_building`;
        await admin.query(`drop database if exists ${building} with (force)`);
        await admin.query(`create database ${building}`);
        const storage = openStorage(databaseURL(building));
        try {
          await migrateToLatest(storage.db);
        } finally {
          await storage.close();
        }
        // The closed pool's backends may take a moment to exit; until then the rename is refused.
        await whenNotInUse(() => admin.query(`alter database ${building} rename to ${name}`));
      }
    } finally {
      await admin.end(); // ends the session, which releases the advisory lock
    }
    return name;
  })();
  return postgresTemplateName;
}

/** Runs `statement`, retrying while PostgreSQL says the database is in use (55006), for up to 10 s. */
async function whenNotInUse(statement: () => Promise<unknown>): Promise<void> {
  for (let attempt = 0; ; attempt += 1) {
    try {
      await statement();
      return;
    } catch (error) {
      if ((error as { code?: string }).code !== '55006' || attempt >= 100) throw error;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
}

function databaseURL(name: string): string {
  const url = new URL(POSTGRES_ADMIN_URL);
  url.pathname = `/${name}`;
  return url.toString();
}

async function createPostgresDatabase(options: string): Promise<TestDatabase> {
  const name = `twofold_test_${randomBytes(6).toString('hex')}`;
  const admin = new pg.Client({ connectionString: POSTGRES_ADMIN_URL });
  await admin.connect();
  // A template being built elsewhere is never used (renamed only when done), so only a
  // backend of that build still exiting can hold it: wait for it.
  await whenNotInUse(() => admin.query(`create database ${name} ${options}`));
  await admin.end();
  return {
    kind: 'postgres',
    url: databaseURL(name),
    drop: async () => {
      const client = new pg.Client({ connectionString: POSTGRES_ADMIN_URL });
      await client.connect();
      await client.query(`drop database if exists ${name} with (force)`);
      await client.end();
    },
  };
}

export interface DatabaseTarget {
  kind: DatabaseKind;
  /** Set when the suite for this database must be skipped, with the reason. */
  skip: string | false;
}

/** SQLite always; PostgreSQL when it answers (and then it must, under TWOFOLD_REQUIRE_POSTGRES). */
export async function databaseTargets(): Promise<DatabaseTarget[]> {
  const reason = await postgresUnavailableReason();
  if (reason && process.env.TWOFOLD_REQUIRE_POSTGRES === '1') {
    throw new Error(`PostgreSQL is required (TWOFOLD_REQUIRE_POSTGRES=1) but does not answer at ${POSTGRES_ADMIN_URL}: ${reason}`);
  }
  const pgSkip = reason ? `PostgreSQL not available at ${POSTGRES_ADMIN_URL} (${reason}); its runs are skipped` : false;
  if (pgSkip && !warned) {
    warned = true;
    console.log(`# ${pgSkip}`);
  }
  return [
    { kind: 'sqlite', skip: false },
    { kind: 'postgres', skip: pgSkip },
  ];
}
let warned = false;
