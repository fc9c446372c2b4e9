/**
 * DATABASE_POOL_SIZE bounds the PostgreSQL connections one instance opens: queries beyond it wait
 * for a free connection instead of opening more (the operator sizes instances × pool below the
 * server's max_connections, docs/operations.md).
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { sql } from 'kysely';
import { loadConfig } from '../../src/config.ts';
import { DEFAULT_POOL_SIZE, openStorage, type Storage } from '../../src/storage/database.ts';
import pg from 'pg';
import { createTestDatabase, databaseTargets, POSTGRES_ADMIN_URL, type TestDatabase } from '../helpers/databases.ts';

const KEY = Buffer.alloc(32, 1).toString('base64');
const postgres = (await databaseTargets()).find((target) => target.kind === 'postgres')!;

describe('DATABASE_POOL_SIZE', () => {
  it('defaults to 10 connections and reads a whole number from 1 to 1000', () => {
    assert.equal(loadConfig({ ENCRYPTION_KEY: KEY }).databasePoolSize, DEFAULT_POOL_SIZE);
    assert.equal(DEFAULT_POOL_SIZE, 10);
    assert.equal(loadConfig({ ENCRYPTION_KEY: KEY, DATABASE_POOL_SIZE: '25' }).databasePoolSize, 25);
  });
});

describe('DATABASE_POOL_SIZE on PostgreSQL', { skip: postgres.skip }, () => {
  let database: TestDatabase;
  let storage: Storage;
  before(async () => {
    database = await createTestDatabase('postgres');
    storage = openStorage(database.url, undefined, { poolSize: 2 });
  });
  after(async () => {
    await storage.close();
    await database.drop();
  });

  it('never opens more connections than the pool size, however many queries run at once', async () => {
    const backends = await Promise.all(
      Array.from({ length: 8 }, async () => {
        const result = await sql<{ pid: number }>`select pg_backend_pid() as pid, pg_sleep(0.05)`.execute(storage.db);
        return result.rows[0]!.pid;
      }),
    );
    assert.equal(new Set(backends).size, 2, `8 concurrent queries used ${new Set(backends).size} connections with DATABASE_POOL_SIZE=2`);
  });
});

describe('a PostgreSQL connection the server ends while it is checked out', { skip: postgres.skip }, () => {
  let database: TestDatabase;
  let storage: Storage;
  const reported: Error[] = [];
  before(async () => {
    database = await createTestDatabase('postgres');
    storage = openStorage(database.url, (error) => reported.push(error), { poolSize: 2 });
  });
  after(async () => {
    await storage.close();
    await database.drop();
  });

  it('fails only the transaction that held it, is reported, and leaves the pool serving queries', async () => {
    // Between two queries of a transaction the connection has no query running: pg emits the
    // server's "terminating connection" as an 'error' event, which crashed the process (an
    // uncaught exception fails this test) while only pg-pool's idle listener existed.
    const outcome = await storage.db
      .transaction()
      .execute(async (trx) => {
        const { pid } = (await sql<{ pid: number }>`select pg_backend_pid() as pid`.execute(trx)).rows[0]!;
        const admin = new pg.Client({ connectionString: POSTGRES_ADMIN_URL });
        await admin.connect();
        try {
          await admin.query('select pg_terminate_backend($1)', [pid]);
        } finally {
          await admin.end();
        }
        // Let the termination notice arrive while this connection runs no query.
        await new Promise((resolve) => setTimeout(resolve, 200));
        await sql`select 1`.execute(trx);
        return 'committed';
      })
      .catch((error: Error) => error);
    assert.ok(outcome instanceof Error, `the transaction on the ended connection should fail, got ${String(outcome)}`);
    assert.ok(reported.some((error) => (error as { code?: string }).code === '57P01'), 'the ended connection is reported to the server\'s handler');
    const after = await sql<{ one: number }>`select 1 as one`.execute(storage.db);
    assert.equal(after.rows[0]!.one, 1);
  });
});
