/**
 * The databases every storage test runs against: a fresh SQLite file and a fresh PostgreSQL
 * database on the machine's server (127.0.0.1:5432, user postgres), created per test suite and
 * dropped afterwards. Where PostgreSQL does not answer, its runs are skipped with one line
 * saying why — unless TWOFOLD_REQUIRE_POSTGRES=1 (set by .ci/run), which makes that a failure.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import pg from 'pg';

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
    const client = new pg.Client({ connectionString: POSTGRES_ADMIN_URL, connectionTimeoutMillis: 3000 });
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
  const name = `twofold_test_${randomBytes(6).toString('hex')}`;
  const admin = new pg.Client({ connectionString: POSTGRES_ADMIN_URL });
  await admin.connect();
  await admin.query(`create database ${name}`);
  await admin.end();
  const url = new URL(POSTGRES_ADMIN_URL);
  url.pathname = `/${name}`;
  return {
    kind,
    url: url.toString(),
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
