/**
 * Coalesced reads (src/storage/coalesced-read.ts), the PostgreSQL session check's batching: reads
 * that arrive together share one query, each gets its own row, a failure reaches only its batch,
 * and nothing is remembered from one batch to the next (a change committed in between is seen).
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { coalescedRead } from '../../src/storage/coalesced-read.ts';

interface Row {
  key: string;
  value: number;
}

/** A table in memory standing for the database, and a log of the queries run against it. */
function fakeTable(initial: Record<string, number>) {
  const table = new Map(Object.entries(initial));
  const queries: string[][] = [];
  let failNext = false;
  const readMany = async (keys: string[]): Promise<Row[]> => {
    queries.push(keys);
    const failing = failNext;
    failNext = false;
    // What the query sees is fixed when it starts (its snapshot); the answer comes back later.
    const rows = keys.filter((key) => table.has(key)).map((key) => ({ key, value: table.get(key)! }));
    await new Promise((resolve) => setTimeout(resolve, 5));
    if (failing) throw new Error('connection lost');
    return rows;
  };
  return { table, queries, readMany, failOnce: () => (failNext = true) };
}

describe('coalesced reads', () => {
  it('reads that arrive together go out as one query and each gets its own row', async () => {
    const fake = fakeTable({ a: 1, b: 2, c: 3 });
    const read = coalescedRead(fake.readMany, (row) => row.key);
    const answers = await Promise.all(['a', 'b', 'c', 'missing', 'a'].map((key) => read(key)));
    assert.equal(fake.queries.length, 1);
    assert.deepEqual(fake.queries[0]!.sort(), ['a', 'b', 'c', 'missing'], 'a key asked twice is sent once');
    assert.deepEqual(answers.map((row) => row?.value), [1, 2, 3, undefined, 1]);
  });

  it('a read made while a query is out goes into the next query and sees what changed meanwhile', async () => {
    const fake = fakeTable({ a: 1 });
    const read = coalescedRead(fake.readMany, (row) => row.key);
    const first = read('a');
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal(fake.queries.length, 1, 'the first query is out');
    fake.table.delete('a'); // a revocation commits while the first query is on its way
    const second = read('a');
    assert.equal((await first)?.value, 1);
    assert.equal(await second, undefined, 'the later read is not answered from the earlier batch');
    assert.equal(fake.queries.length, 2);
  });

  it('a failed query rejects only the reads of its batch; the next batch reads again', async () => {
    const fake = fakeTable({ a: 1, b: 2 });
    const read = coalescedRead(fake.readMany, (row) => row.key);
    fake.failOnce();
    const failed = await Promise.allSettled([read('a'), read('b')]);
    assert.deepEqual(failed.map((outcome) => outcome.status), ['rejected', 'rejected']);
    assert.equal((await read('b'))?.value, 2);
  });

  it('a batch is bounded: 600 keys at once go out in queries of at most 256', async () => {
    const keys = Array.from({ length: 600 }, (_, index) => `k${index}`);
    const fake = fakeTable(Object.fromEntries(keys.map((key, index) => [key, index])));
    const read = coalescedRead(fake.readMany, (row) => row.key);
    const answers = await Promise.all(keys.map((key) => read(key)));
    assert.deepEqual(answers.map((row) => row?.value), keys.map((_, index) => index));
    assert.ok(fake.queries.every((query) => query.length <= 256 && query.length > 0), `query sizes ${fake.queries.map((query) => query.length)}`);
    assert.equal(fake.queries.length, 3);
  });
});
