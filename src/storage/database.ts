/**
 * Opens the database named by DATABASE_URL: `sqlite:<path>` (better-sqlite3, WAL) or
 * `postgres://…` (pg pool). The rest of the code sees one Kysely instance and the dialect name.
 */
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import SQLite from 'better-sqlite3';
import { createRequire } from 'node:module';
import type pg from 'pg';
import { Kysely, PostgresDialect, SqliteDialect, type SqliteDatabase } from 'kysely';
import { namingPool } from './named-statements.ts';
import type { Database } from './schema.ts';
import { DEFAULT_GROUP_COMMIT_LIMITS, GroupCommitSqliteDialect, GroupCommitSqliteDriver, type GroupCommitLimits } from './group-commit.ts';

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
function statementCache(sqlite: SQLite.Database): (sqlText: string) => SQLite.Statement {
  const statements = new Map<string, SQLite.Statement>();
  return (sqlText: string) => {
    let statement = statements.get(sqlText);
    if (!statement) {
      if (statements.size >= STATEMENT_CACHE_SIZE) statements.delete(statements.keys().next().value!);
      statement = sqlite.prepare(sqlText);
      statements.set(sqlText, statement);
    }
    return statement;
  };
}

function withStatementCache(sqlite: SQLite.Database): SqliteDatabase {
  return { close: () => sqlite.close(), prepare: statementCache(sqlite) };
}

/**
 * A file database: one writing connection with group commit (see group-commit.ts) and one
 * read-only connection for reads outside transactions.
 */
function openSqliteFile(path: string, limits: Partial<GroupCommitLimits> = {}): Database {
  const writer = new SQLite(path);
  writer.pragma('journal_mode = WAL');
  // Stated, not left to the build's default: the WAL is fsynced at every commit, so a change
  // answered 2xx survives a process crash (NORMAL would too) and a power cut (NORMAL would not).
  writer.pragma('synchronous = FULL');
  writer.pragma('foreign_keys = ON');
  // Several processes (server and support command) may share one file. Waiting for the write lock
  // is the driver's (asynchronously, group-commit.ts): SQLite's busy handler would block the event loop.
  writer.pragma('busy_timeout = 0');
  const reader = new SQLite(path);
  reader.pragma('busy_timeout = 5000');
  reader.pragma('query_only = ON');
  const driver = new GroupCommitSqliteDriver(writer, statementCache(writer), reader, statementCache(reader), { ...DEFAULT_GROUP_COMMIT_LIMITS, ...limits });
  return new Kysely<any>({ dialect: new GroupCommitSqliteDialect(driver) }) as Database;
}

export interface StorageOptions {
  /** Most PostgreSQL connections this process opens (pg.Pool `max`); SQLite has one connection. */
  poolSize?: number;
  /** SQLite file databases: how many transactions, and how long, one shared commit may gather. */
  groupCommit?: Partial<GroupCommitLimits>;
}

export function openStorage(databaseURL: string, onIdleError?: (error: Error) => void, options: StorageOptions = {}): Storage {
  if (databaseURL.startsWith('sqlite:')) {
    const path = databaseURL.slice('sqlite:'.length);
    if (path !== ':memory:') {
      mkdirSync(dirname(path), { recursive: true });
      const db = openSqliteFile(path, options.groupCommit);
      return { db, dialect: 'sqlite', close: () => db.destroy() };
    }
    // In memory (a throw-away server): one connection, nothing to make durable.
    const sqlite = new SQLite(path);
    sqlite.pragma('foreign_keys = ON');
    const db = new Kysely<any>({ dialect: new SqliteDialect({ database: withStatementCache(sqlite) }) }) as Database;
    return { db, dialect: 'sqlite', close: () => db.destroy() };
  }
  // pg is loaded only for a PostgreSQL URL (issue #18: a server on SQLite never needs it), with
  // require() so opening stays synchronous; the compiled build leaves it out of the bundle.
  const { Pool, types } = createRequire(import.meta.url)('pg') as typeof pg;
  const pool = new Pool({
    connectionString: databaseURL,
    max: options.poolSize ?? DEFAULT_POOL_SIZE,
    // bigint columns hold millisecond times and counts, all well inside Number's exact range.
    types: { getTypeParser: (oid: number, format?: any) => (oid === PG_INT8 ? (v: string) => Number(v) : types.getTypeParser(oid, format)) },
  });
  // An idle connection the server closes (a restart, a failover) must not crash the process:
  // the pool drops it and opens a new one on the next query.
  pool.on('error', (error) => onIdleError?.(error));
  // pg-pool listens for a client's errors only while the client is idle. One the server ends while
  // it is checked out but between queries (inside a transaction, while JavaScript runs; or in the
  // same packet as the ready-for-query that finished its connecting) would emit 'error' with no
  // listener and crash the process. Listening from the moment it connects, the client is only
  // marked unusable: its next query fails (that request gets its error answer) and the pool drops
  // it when it is released.
  pool.on('connect', (client) => client.on('error', (error) => onIdleError?.(error)));
  // The hot reads go out as named prepared statements (named-statements.ts).
  const db = new Kysely<any>({ dialect: new PostgresDialect({ pool: namingPool(pool) }) }) as Database;
  return { db, dialect: 'postgres', close: () => db.destroy() };
}

/** What the operator can check, by the codes pg and Node give for a connection that fails. */
const POSTGRES_CONNECTION_FAILURES: Record<string, string> = {
  ECONNREFUSED: 'nothing accepts connections there: is PostgreSQL running, and are the host and port right?',
  ENOTFOUND: 'the host name does not resolve',
  EAI_AGAIN: 'the host name cannot be resolved right now',
  ETIMEDOUT: 'the connection timed out',
  EHOSTUNREACH: 'the host cannot be reached',
  ECONNRESET: 'the server closed the connection (does it expect TLS? try ?sslmode=verify-full)',
  '3D000': 'the database does not exist (create it: createdb -h <host> -U <admin user> --owner <role> <database>)',
  '28000': 'the role does not exist or may not connect (create it: createuser -h <host> -U <admin user> --pwprompt <role>)',
  '28P01': 'the password is wrong',
  '42501': 'the role lacks a privilege on the database',
  '57P03': 'the server is starting up or shutting down',
};

/** The PostgreSQL target without its password, to be named in an error. */
function describePostgresTarget(databaseURL: string): string {
  try {
    const url = new URL(databaseURL);
    return `${url.username ? `${decodeURIComponent(url.username)}@` : ''}${url.host}${url.pathname}`;
  } catch {
    return 'the PostgreSQL server';
  }
}

/**
 * One line naming DATABASE_URL when `error` says the database cannot be reached or opened at all
 * (as opposed to a failing query), so a start-up refusal says which setting to fix; null otherwise.
 * Never includes the password.
 */
export function databaseUnavailableReason(error: unknown, databaseURL: string): string | null {
  if (!(error instanceof Error)) return null;
  const code = String((error as { code?: unknown }).code ?? '');
  if (databaseURL.startsWith('sqlite:')) {
    if (!/^(EACCES|EPERM|EROFS|ENOENT|ENOTDIR|EEXIST|SQLITE_CANTOPEN|SQLITE_READONLY|SQLITE_PERM)/.test(code)) return null;
    return `DATABASE_URL: cannot open the SQLite database ${databaseURL.slice('sqlite:'.length)} (${error.message}); point it at a file in a folder Twofold can write`;
  }
  const target = describePostgresTarget(databaseURL);
  const explanation = POSTGRES_CONNECTION_FAILURES[code];
  if (explanation) return `DATABASE_URL: cannot connect to PostgreSQL at ${target}: ${explanation} (${error.message})`;
  if (/SSL|TLS|CERT|certificate/i.test(`${code} ${error.message}`)) return `DATABASE_URL: TLS to PostgreSQL at ${target} failed (${error.message}); check sslmode and sslrootcert`;
  return null;
}
