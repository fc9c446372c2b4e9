/**
 * Migrations started at the same moment on one fresh PostgreSQL database (issue 7): every
 * caller succeeds and each migration is applied exactly once, because migrateToLatest holds a
 * PostgreSQL advisory lock around all of it — including the creation of Kysely's own
 * bookkeeping tables, which otherwise race ("duplicate key value violates unique constraint
 * pg_type_typname_nsp_index").
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import pg from 'pg';
import { createTestDatabase, databaseTargets, type TestDatabase } from '../../helpers/databases.ts';
import { waitFor } from '../../helpers/fixtures.ts';
import { openStorage, type Storage } from '../../../src/storage/database.ts';
import { MIGRATION_LOCK_KEY, migrateToLatest } from '../../../src/storage/migrate.ts';

const postgres = (await databaseTargets()).find((target) => target.kind === 'postgres')!;
const CALLERS = 6;

describe('migrations run concurrently on one PostgreSQL database', { skip: postgres.skip }, () => {
  const databases: TestDatabase[] = [];
  const storages: Storage[] = [];
  before(async () => {
    databases.push(...(await Promise.all(Array.from({ length: 4 }, () => createTestDatabase('postgres')))));
  });
  after(async () => {
    await Promise.all(storages.map((storage) => storage.close()));
    await Promise.all(databases.map((database) => database.drop()));
  });

  for (const [round, label] of ['first', 'second', 'third'].entries()) {
    it(`lets ${CALLERS} separate pools migrate a brand-new database at once, applying each migration once (${label} fresh database)`, async () => {
      const database = databases[round]!;
      const callers = Array.from({ length: CALLERS }, () => openStorage(database.url));
      storages.push(...callers);
      const reports = await Promise.all(callers.map((storage) => migrateToLatest(storage.db)));
      const appliedByAll = reports.flatMap((report) => report.applied);
      const rows = await callers[0]!.db.selectFrom('kysely_migration' as any).select('name').orderBy('name').execute();
      const names = rows.map((row) => (row as { name: string }).name);
      assert.ok(names.length > 0);
      assert.deepEqual([...appliedByAll].sort(), names, 'every migration applied by exactly one caller');
      assert.equal(reports.filter((report) => report.applied.length > 0).length, 1, 'one caller migrated, the others found the database up to date');
      // Afterwards the schema is usable from every pool.
      for (const storage of callers) assert.deepEqual(await migrateToLatest(storage.db), { applied: [] });
    });
  }

  it('waits for the migration advisory lock before touching the schema, even before Kysely creates its own tables', async () => {
    const database = databases[3]!;
    const holder = new pg.Client({ connectionString: database.url });
    await holder.connect();
    try {
      await holder.query('select pg_advisory_lock($1::bigint)', [MIGRATION_LOCK_KEY]);
      const storage = openStorage(database.url);
      storages.push(storage);
      const migrating = migrateToLatest(storage.db);
      // PostgreSQL itself reports the migrating connection queued behind the held lock.
      await waitFor(async () => (await holder.query("select 1 from pg_locks where locktype = 'advisory' and not granted and database = (select oid from pg_database where datname = current_database())")).rowCount === 1);
      const tables = await holder.query("select table_name from information_schema.tables where table_schema = 'public'");
      assert.deepEqual(tables.rows, [], 'nothing created while another migrator holds the lock');
      await holder.query('select pg_advisory_unlock($1::bigint)', [MIGRATION_LOCK_KEY]);
      assert.ok((await migrating).applied.length > 0);
      const held = await holder.query("select 1 from pg_locks where locktype = 'advisory' and database = (select oid from pg_database where datname = current_database())");
      assert.equal(held.rowCount, 0, 'the lock is released after migrating');
    } finally {
      await holder.end();
    }
  });
});
