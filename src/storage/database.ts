/**
 * Opens the database named by DATABASE_URL: `sqlite:<path>` (better-sqlite3, WAL) or
 * `postgres://…` (pg pool). The rest of the code sees one Kysely instance and the dialect name.
 */
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import SQLite from 'better-sqlite3';
import pg from 'pg';
import { Kysely, PostgresDialect, SqliteDialect, type SqliteDatabase } from 'kysely';
import type { Database } from './schema.ts';

export type DialectName = 'sqlite' | 'postgres';

export interface Storage {
  db: Database;
  dialect: DialectName;
  close(): Promise<void>;
}

const PG_INT8 = 20;

/** PostgreSQL connections one process may hold by default (DATABASE_POOL_SIZE). */
export const DEFAULT_POOL_SIZE = 10;

/** Enough for every distinct statement the app issues; a query with a varying IN list may add more. */
const STATEMENT_CACHE_SIZE = 1000;

/**
 * Kysely's SQLite driver prepares every query afresh, and preparing costs more than running the
 * indexed reads on the hot paths. The same SQL text gets the same prepared statement (queries
 * on one connection run one at a time behind Kysely's mutex, so a statement is never shared by
 * two running queries). SQLite re-prepares a cached statement itself after a schema change.
 */
function withStatementCache(sqlite: SQLite.Database): SqliteDatabase {
  const statements = new Map<string, SQLite.Statement>();
  return {
    close: () => sqlite.close(),
    prepare(sqlText: string) {
      let statement = statements.get(sqlText);
      if (!statement) {
        if (statements.size >= STATEMENT_CACHE_SIZE) statements.delete(statements.keys().next().value!);
        statement = sqlite.prepare(sqlText);
        statements.set(sqlText, statement);
      }
      return statement;
    },
  };
}

export interface StorageOptions {
  /** Most PostgreSQL connections this process opens (pg.Pool `max`); SQLite has one connection. */
  poolSize?: number;
}

export function openStorage(databaseURL: string, onIdleError?: (error: Error) => void, options: StorageOptions = {}): Storage {
  if (databaseURL.startsWith('sqlite:')) {
    const path = databaseURL.slice('sqlite:'.length);
    if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true });
    const sqlite = new SQLite(path);
    sqlite.pragma('journal_mode = WAL');
    // Stated, not left to the build's default: the WAL is fsynced at every commit, so a change
    // answered 2xx survives a process crash (NORMAL would too) and a power cut (NORMAL would not).
    sqlite.pragma('synchronous = FULL');
    sqlite.pragma('foreign_keys = ON');
    // Several processes (server and support command) may share one file.
    sqlite.pragma('busy_timeout = 5000');
    const db = new Kysely<any>({ dialect: new SqliteDialect({ database: withStatementCache(sqlite) }) }) as Database;
    return { db, dialect: 'sqlite', close: () => db.destroy() };
  }
  const pool = new pg.Pool({
    connectionString: databaseURL,
    max: options.poolSize ?? DEFAULT_POOL_SIZE,
    // bigint columns hold millisecond times and counts, all well inside Number's exact range.
    types: { getTypeParser: (oid: number, format?: any) => (oid === PG_INT8 ? (v: string) => Number(v) : pg.types.getTypeParser(oid, format)) },
  });
  // An idle connection the server closes (a restart, a failover) must not crash the process:
  // the pool drops it and opens a new one on the next query.
  pool.on('error', (error) => onIdleError?.(error));
  const db = new Kysely<any>({ dialect: new PostgresDialect({ pool }) }) as Database;
  return { db, dialect: 'postgres', close: () => db.destroy() };
}
