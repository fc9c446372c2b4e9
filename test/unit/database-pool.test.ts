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
import { createTestDatabase, databaseTargets, type TestDatabase } from '../helpers/databases.ts';

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
