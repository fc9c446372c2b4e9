/**
 * Statements the server sends again go out as named prepared statements on PostgreSQL (parsed and
 * planned once per connection), within bounds that keep a connection's set small and migrations safe.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { sql, type Kysely } from 'kysely';
import { openStorage, type Storage } from '../../src/storage/database.ts';
import { MAX_AUTOMATIC_NAMES } from '../../src/storage/named-statements.ts';
import { createTestDatabase, databaseTargets, type TestDatabase } from '../helpers/databases.ts';

const postgres = (await databaseTargets()).find((target) => target.kind === 'postgres')!;

describe('named prepared statements on PostgreSQL', { skip: postgres.skip }, () => {
  let database: TestDatabase;
  let storage: Storage;
  // One connection: pg_prepared_statements shows that connection's statements.
  before(async () => {
    database = await createTestDatabase('postgres');
    storage = openStorage(database.url, undefined, { poolSize: 1 });
    await sql`create table named_probe (id integer primary key, label text not null)`.execute(storage.db);
    await sql`insert into named_probe (id, label) values (1, 'one'), (2, 'two')`.execute(storage.db);
  });
  after(async () => {
    await storage.close();
    await database.drop();
  });

  // The probe table is not in the app's schema type.
  const probe = () => storage.db as unknown as Kysely<any>;
  // The pattern is a parameter: this read's own text (named too, once it repeats) must not match it.
  const prepared = async (): Promise<string[]> =>
    (await sql<{ statement: string }>`select statement from pg_prepared_statements where statement like ${'%named_probe%'}`.execute(storage.db)).rows.map((row) => row.statement);

  it('prepares a statement text the second time it runs, not the first, and answers the same', async () => {
    const read = (id: number) => probe().selectFrom('named_probe').select(['label']).where('id', '=', id).executeTakeFirst();
    assert.deepEqual(await read(1), { label: 'one' });
    assert.equal((await prepared()).length, 0, 'a text seen once stays unnamed');
    assert.deepEqual(await read(2), { label: 'two' });
    assert.deepEqual(await read(1), { label: 'one' });
    const statements = await prepared();
    assert.equal(statements.length, 1, 'the second use named it, once');
    assert.match(statements[0]!, /select "label" from "named_probe" where "id" = \$1/);
  });

  it('never names select * : a column added by a migration does not break a running server', async () => {
    const readAll = () => probe().selectFrom('named_probe').selectAll().where('id', '=', 1).executeTakeFirst();
    await readAll();
    await readAll();
    assert.equal((await prepared()).filter((text) => text.includes('*')).length, 0);
    await sql`alter table named_probe add column added_later text`.execute(storage.db);
    assert.deepEqual(await readAll(), { id: 1, label: 'one', added_later: null });
  });

  it(`names at most ${MAX_AUTOMATIC_NAMES} texts, however many distinct statements run twice`, async () => {
    for (let length = 1; length <= MAX_AUTOMATIC_NAMES + 50; length += 1) {
      const ids = Array.from({ length }, (_, index) => index + 1);
      for (let run = 0; run < 2; run += 1) await probe().selectFrom('named_probe').select(['id']).where('id', 'in', ids).execute();
    }
    const all = (await sql<{ count: string }>`select count(*) as count from pg_prepared_statements`.execute(storage.db)).rows[0]!;
    assert.ok(Number(all.count) <= MAX_AUTOMATIC_NAMES, `${all.count} statements prepared on one connection`);
    assert.ok(Number(all.count) >= MAX_AUTOMATIC_NAMES - 5, 'texts used twice were named up to the cap (a pool counts its own)');
  });
});
