/**
 * One query for many one-row reads by key that arrive together (issue #18, the session check on
 * PostgreSQL). Every request still reads the database — nothing is remembered between batches, so
 * a revocation committed before the batch's query runs is seen by every request in it — but the
 * cost PostgreSQL and the pg pool charge per query (a pool checkout, a round trip, an executor
 * start) is paid once per batch instead of once per request.
 *
 * A read joins the batch being gathered; the batch's query runs in the event loop's check phase
 * (`setImmediate`), after the poll phase has handed over every request that arrived with it.
 * While that query is out, newer reads gather into the next batch, so under load each query
 * carries what arrived during the previous one's round trip, and an idle server waits for
 * nothing but the current turn of the loop.
 */

/** Most keys in one query: a bounded parameter, a bounded answer. */
const MAX_BATCH = 256;

interface Waiter<Row> {
  resolve: (row: Row | undefined) => void;
  reject: (error: unknown) => void;
}

/**
 * `readMany(keys)` returns the rows found for any of the keys (distinct keys, at most MAX_BATCH);
 * `keyOf(row)` says which key a row answers. The returned function reads one key: its row, or
 * undefined when there is none.
 */
export function coalescedRead<Row>(readMany: (keys: string[]) => Promise<Row[]>, keyOf: (row: Row) => string): (key: string) => Promise<Row | undefined> {
  let gathering = new Map<string, Array<Waiter<Row>>>();
  let scheduled = false;

  async function runBatch(batch: Map<string, Array<Waiter<Row>>>): Promise<void> {
    try {
      const rows = await readMany([...batch.keys()]);
      const found = new Map(rows.map((row) => [keyOf(row), row]));
      for (const [key, waiters] of batch) for (const waiter of waiters) waiter.resolve(found.get(key));
    } catch (error) {
      for (const waiters of batch.values()) for (const waiter of waiters) waiter.reject(error);
    }
  }

  function flush(): void {
    scheduled = false;
    if (gathering.size === 0) return;
    const batch = gathering;
    gathering = new Map();
    void runBatch(batch);
  }

  return (key) =>
    new Promise<Row | undefined>((resolve, reject) => {
      const waiters = gathering.get(key);
      if (waiters) waiters.push({ resolve, reject });
      else gathering.set(key, [{ resolve, reject }]);
      if (gathering.size >= MAX_BATCH) {
        // Full: it goes now; a flush already scheduled finds the next batch (or nothing).
        const batch = gathering;
        gathering = new Map();
        void runBatch(batch);
      } else if (!scheduled) {
        scheduled = true;
        setImmediate(flush);
      }
    });
}
