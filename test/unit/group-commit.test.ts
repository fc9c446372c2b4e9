/**
 * Group commit on SQLite (src/storage/group-commit.ts): concurrent transactions share one durable
 * commit, yet each stays atomic, fails alone, and returns only once its writes are on disk.
 * A second, independent better-sqlite3 connection stands for "what survives / what others see".
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import SQLite from 'better-sqlite3';
import { sql } from 'kysely';
import { openStorage, type Storage } from '../../src/storage/database.ts';

describe('SQLite group commit', () => {
  let folder: string;
  let file: string;
  let storage: Storage;
  let observer: SQLite.Database;
  const db = () => storage.db as any;

  before(async () => {
    folder = mkdtempSync(join(tmpdir(), 'twofold-group-commit-'));
    file = join(folder, 'g.db');
    // Generous limits: on the loaded test machine a batch may otherwise close by age mid-test.
    storage = openStorage(`sqlite:${file}`, undefined, { groupCommit: { maxWaitMs: 60_000 } });
    await sql`create table counters (name text primary key, value integer not null)`.execute(storage.db);
    await sql`create table items (id integer primary key, label text not null unique)`.execute(storage.db);
    await sql`create table children (id integer primary key, item_id integer not null references items (id) deferrable initially deferred)`.execute(storage.db);
    observer = new SQLite(file);
  });

  after(async () => {
    observer.close();
    await storage.close();
    rmSync(folder, { recursive: true, force: true });
  });

  const observed = (label: string) => observer.prepare('select count(*) as n from items where label = ?').get(label) as { n: number };

  it('a read-then-write transaction stays atomic when fifty run at once (no lost update)', async () => {
    await db().insertInto('counters').values({ name: 'atomic', value: 0 }).execute();
    await Promise.all(
      Array.from({ length: 50 }, () =>
        db().transaction().execute(async (trx: any) => {
          const { value } = await trx.selectFrom('counters').select('value').where('name', '=', 'atomic').executeTakeFirstOrThrow();
          await new Promise((resolve) => setImmediate(resolve)); // other requests get the event loop
          await trx.updateTable('counters').set({ value: value + 1 }).where('name', '=', 'atomic').execute();
        }),
      ),
    );
    assert.equal((observer.prepare(`select value from counters where name = 'atomic'`).get() as { value: number }).value, 50);
  });

  it('concurrent transactions are made durable by one shared commit, not one each', async () => {
    observer.pragma('wal_checkpoint(TRUNCATE)');
    await Promise.all(Array.from({ length: 40 }, (_, i) => db().transaction().execute((trx: any) => trx.insertInto('items').values({ label: `shared-${i}` }).execute())));
    // Each commit appends at least one WAL frame for the page it changed; forty commits would
    // leave forty or more.
    const { log } = (observer.pragma('wal_checkpoint(PASSIVE)') as { log: number }[])[0]!;
    assert.ok(log < 10, `${log} WAL frames for 40 concurrent transactions`);
    for (let i = 0; i < 40; i++) assert.equal(observed(`shared-${i}`).n, 1);
  });

  it('concurrent writes outside a transaction share one commit too, and each returns committed', async () => {
    observer.pragma('wal_checkpoint(TRUNCATE)');
    await Promise.all(Array.from({ length: 40 }, (_, i) => db().insertInto('items').values({ label: `lone-shared-${i}` }).execute()));
    const { log } = (observer.pragma('wal_checkpoint(PASSIVE)') as { log: number }[])[0]!;
    assert.ok(log < 10, `${log} WAL frames for 40 concurrent lone writes`);
    for (let i = 0; i < 40; i++) assert.equal(observed(`lone-shared-${i}`).n, 1);
  });

  it('a transaction returns only after its writes are committed, seen by another connection', async () => {
    let seenWhileOpen = -1;
    const first = db().transaction().execute(async (trx: any) => {
      await trx.insertInto('items').values({ label: 'held' }).execute();
    });
    const second = db().transaction().execute(async (trx: any) => {
      // The first transaction is done but its commit is shared with this one: not yet visible.
      seenWhileOpen = observed('held').n;
      await trx.insertInto('items').values({ label: 'held-2' }).execute();
    });
    await first;
    assert.equal(seenWhileOpen, 0, 'the first write was committed before the batch closed');
    assert.equal(observed('held').n, 1);
    assert.equal(observed('held-2').n, 1, 'the first transaction returned before the commit it shares');
    await second;
  });

  it('one failing transaction rolls back alone; the others in its batch commit', async () => {
    await db().insertInto('items').values({ label: 'taken' }).execute();
    const results = await Promise.allSettled([
      db().transaction().execute((trx: any) => trx.insertInto('items').values({ label: 'before-failure' }).execute()),
      db().transaction().execute(async (trx: any) => {
        await trx.insertInto('items').values({ label: 'half-of-failure' }).execute();
        await trx.insertInto('items').values({ label: 'taken' }).execute(); // unique violation
      }),
      db().transaction().execute((trx: any) => trx.insertInto('items').values({ label: 'after-failure' }).execute()),
    ]);
    assert.deepEqual(results.map((r) => r.status), ['fulfilled', 'rejected', 'fulfilled']);
    assert.equal(observed('before-failure').n, 1);
    assert.equal(observed('after-failure').n, 1);
    assert.equal(observed('half-of-failure').n, 0, 'the failing transaction left half of its writes');
  });

  it('reads outside a transaction neither wait for an open batch nor see its uncommitted writes', async () => {
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    let written!: () => void;
    const wroteRow = new Promise<void>((resolve) => (written = resolve));
    const open = db().transaction().execute(async (trx: any) => {
      await trx.insertInto('items').values({ label: 'uncommitted' }).execute();
      written();
      await gate; // holds the writer, the batch stays open
    });
    await wroteRow;
    const row = await db().selectFrom('items').select('id').where('label', '=', 'uncommitted').executeTakeFirst();
    assert.equal(row, undefined);
    release();
    await open;
    const after = await db().selectFrom('items').select('id').where('label', '=', 'uncommitted').executeTakeFirst();
    assert.ok(after);
  });

  it('a write outside a transaction joins an open batch and returns after its commit', async () => {
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    let lone: Promise<unknown> | null = null;
    const open = db().transaction().execute(async (trx: any) => {
      await trx.insertInto('items').values({ label: 'batch-head' }).execute();
      lone = db().insertInto('items').values({ label: 'lone-write' }).execute();
      await gate;
    });
    release();
    await open;
    await lone;
    assert.equal(observed('lone-write').n, 1);
    assert.equal(observed('batch-head').n, 1);
  });

  it('a shared commit that fails fails every transaction in it, and the next batch works', async () => {
    // A deferred foreign key is checked at COMMIT: the one way to make the shared commit fail here.
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const results = Promise.allSettled([
      db().transaction().execute(async (trx: any) => {
        await trx.insertInto('children').values({ item_id: 999_999 }).execute();
        await gate;
      }),
      db().transaction().execute((trx: any) => trx.insertInto('items').values({ label: 'in-failed-batch' }).execute()),
    ]);
    release();
    const settled = await results;
    assert.deepEqual(settled.map((r) => r.status), ['rejected', 'rejected']);
    assert.match(String((settled[1] as PromiseRejectedResult).reason), /FOREIGN KEY/);
    assert.equal(observed('in-failed-batch').n, 0);
    await db().transaction().execute((trx: any) => trx.insertInto('items').values({ label: 'after-failed-batch' }).execute());
    assert.equal(observed('after-failed-batch').n, 1);
  });

  it('a statement after which SQLite rolls back the whole transaction fails every member of the batch, and nothing hangs', async () => {
    await db().insertInto('items').values({ label: 'duplicate' }).execute();
    const settled = await Promise.allSettled([
      db().transaction().execute((trx: any) => trx.insertInto('items').values({ label: 'lost-with-its-batch' }).execute()),
      // OR ROLLBACK: a constraint failure ends the whole transaction, not just the statement.
      db().transaction().execute((trx: any) => sql`insert or rollback into items (label) values ('duplicate')`.execute(trx)),
    ]);
    assert.deepEqual(settled.map((r) => r.status), ['rejected', 'rejected']);
    assert.equal(observed('lost-with-its-batch').n, 0);
    await db().transaction().execute((trx: any) => trx.insertInto('items').values({ label: 'after-aborted-batch' }).execute());
    assert.equal(observed('after-aborted-batch').n, 1);
  });

  it('two drivers on one file (two app instances in one process) both write while the other holds the lock', async () => {
    // Each driver keeps its batch open across event-loop turns; a synchronous busy wait in one
    // would stop the other from ever reaching its COMMIT.
    const second = openStorage(`sqlite:${file}`, undefined, { groupCommit: { maxWaitMs: 60_000 } });
    try {
      const other = second.db as any;
      const write = (database: any, label: string) =>
        database.transaction().execute(async (trx: any) => {
          await trx.insertInto('items').values({ label }).execute();
          await new Promise((resolve) => setImmediate(resolve)); // the batch stays open meanwhile
          await trx.updateTable('counters').set({ value: sql`value + 1` }).where('name', '=', 'shared-file').execute();
        });
      await db().insertInto('counters').values({ name: 'shared-file', value: 0 }).execute();
      const started = performance.now();
      const settled = await Promise.allSettled(
        Array.from({ length: 20 }, (_, i) => [
          write(db(), `first-driver-${i}`),
          write(other, `second-driver-${i}`),
          other.insertInto('items').values({ label: `second-driver-lone-${i}` }).execute(),
        ]).flat(),
      );
      const failures = settled.filter((r): r is PromiseRejectedResult => r.status === 'rejected').map((r) => String(r.reason));
      assert.deepEqual(failures, []);
      assert.ok(performance.now() - started < 4_000, 'a driver waited for the other synchronously');
      assert.equal((observer.prepare(`select value from counters where name = 'shared-file'`).get() as { value: number }).value, 40);
      for (let i = 0; i < 20; i++) {
        assert.equal(observed(`first-driver-${i}`).n, 1);
        assert.equal(observed(`second-driver-${i}`).n, 1);
        assert.equal(observed(`second-driver-lone-${i}`).n, 1);
      }
    } finally {
      await second.close();
    }
  });
});
