/**
 * Group commit for SQLite (issue 18). With `synchronous = FULL` every commit is an fsync of the
 * WAL (~2.4 ms here), and better-sqlite3 runs it on the event loop: one commit per login step
 * capped the second step at ~400/s and made every other request wait behind the fsyncs.
 *
 * Here concurrent transactions share one durable commit:
 * - There is one writing connection, and one transaction body runs on it at a time (a FIFO lock,
 *   as Kysely's own driver holds a mutex for a whole transaction): a step's reads and writes stay
 *   atomic with respect to every other step, as before.
 * - The first transaction opens a batch (`BEGIN IMMEDIATE`); each transaction runs inside its own
 *   SAVEPOINT of it. A transaction that commits releases its savepoint, hands the lock to the next
 *   one and waits; one that fails rolls back to its savepoint alone.
 * - When no transaction waits for the lock (checked once the event loop has taken in the requests
 *   that arrived meanwhile), or the batch is full or old, the batch commits — one fsync — and only
 *   then do its transactions return. A caller never sees success before its writes are on disk;
 *   if the shared commit fails, every transaction in the batch fails.
 * - Anything a transaction read was possibly written by an earlier, not yet durable member of the
 *   batch, so a transaction that rolled back also returns only once the batch has settled.
 * - Reads outside a transaction go to a second, read-only connection, which sees committed data
 *   only (WAL readers do not wait for the writer): a session check neither waits for a batch nor
 *   sees what is not yet durable. Writes outside a transaction join the open batch, or open one,
 *   and wait for its commit.
 * - Another connection to the file (a second app instance, the support command) may hold the write
 *   lock. The writer has no busy timeout: SQLite's busy handler would wait synchronously, holding
 *   the event loop, and if the other connection lives in this process (two instances in one test
 *   process) it could then never reach its COMMIT. Where this driver takes the write lock (a new
 *   batch, a lone write) it retries on SQLITE_BUSY after a timer instead, up to BUSY_BUDGET_MS.
 *   Once the batch holds the lock (WAL mode), its statements and its COMMIT cannot be busy: the
 *   checkpoint after a commit is passive and its failure is not the commit's.
 */
import SQLite from 'better-sqlite3';
import { SqliteDialect, type DatabaseConnection, type Driver, type QueryResult, type CompiledQuery } from 'kysely';

/** Transactions one shared commit may take in, and how long the first of them may wait for it. */
export interface GroupCommitLimits {
  maxMembers: number;
  maxWaitMs: number;
}

/**
 * A batch of 256 second steps is ~80 ms of statements at ~0.3 ms each; 20 ms bounds how long the
 * first member's answer waits for stragglers when the load is steady.
 */
export const DEFAULT_GROUP_COMMIT_LIMITS: GroupCommitLimits = { maxMembers: 256, maxWaitMs: 20 };

type Prepare = (sqlText: string) => SQLite.Statement;

/** How long a batch or a lone write keeps trying for a write lock another connection holds (the former busy_timeout). */
export const BUSY_BUDGET_MS = 5000;
const BUSY_FIRST_DELAY_MS = 1;
const BUSY_MAX_DELAY_MS = 20;

/** SQLITE_BUSY and its extended codes (BUSY_SNAPSHOT for a lone write whose snapshot went stale). */
function isBusy(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' && code.startsWith('SQLITE_BUSY');
}

/**
 * Runs `attempt`, which takes the write lock and does nothing when it fails busy, until it gets
 * the lock: between tries the event loop runs, so a holder in this process can commit.
 */
async function whenWriteLockFree<T>(attempt: () => T): Promise<T> {
  const deadline = performance.now() + BUSY_BUDGET_MS;
  for (let delay = BUSY_FIRST_DELAY_MS; ; delay = Math.min(delay * 2, BUSY_MAX_DELAY_MS)) {
    try {
      return attempt();
    } catch (error) {
      if (!isBusy(error) || performance.now() >= deadline) throw error;
    }
    await new Promise((resolve) => setTimeout(resolve, delay));
  }
}

/** One shared transaction: its members wait for its commit. */
class Batch {
  readonly startedAt = performance.now();
  members = 0;
  #waiting: { resolve: () => void; reject: (error: unknown) => void }[] = [];

  /** Set once the batch is committed (null) or lost (the error). */
  #outcome: { failure: unknown } | null = null;

  durable(): Promise<void> {
    // A member can outlive its batch (SQLite aborted it mid-member): it learns the outcome at once.
    if (this.#outcome) return this.#outcome.failure === undefined ? Promise.resolve() : Promise.reject(this.#outcome.failure);
    return new Promise((resolve, reject) => this.#waiting.push({ resolve, reject }));
  }

  settle(failure?: unknown): void {
    this.#outcome = { failure };
    for (const waiter of this.#waiting) {
      if (failure === undefined) waiter.resolve();
      else waiter.reject(failure);
    }
    this.#waiting = [];
  }
}

/** What Kysely holds between acquireConnection and releaseConnection. */
class Handle implements DatabaseConnection {
  /** Set while this handle's transaction runs: it holds the writer lock. */
  batch: Batch | null = null;
  savepoint = '';
  constructor(private readonly driver: GroupCommitSqliteDriver) {}

  executeQuery<R>(query: CompiledQuery): Promise<QueryResult<R>> {
    return this.driver.execute<R>(this, query);
  }

  // eslint-disable-next-line require-yield
  async *streamQuery<R>(): AsyncIterableIterator<QueryResult<R>> {
    throw new Error('streaming queries are not supported on SQLite');
  }
}

function run<R>(statement: SQLite.Statement, parameters: readonly unknown[]): QueryResult<R> {
  if (statement.reader) return { rows: statement.all(parameters) as R[] };
  const { changes, lastInsertRowid } = statement.run(parameters);
  return { numAffectedRows: BigInt(changes), insertId: BigInt(lastInsertRowid), rows: [] };
}

const SELECT = /^\s*select\b/i;

export class GroupCommitSqliteDriver implements Driver {
  #locked = false;
  #waiters: (() => void)[] = [];
  #batch: Batch | null = null;
  #commitScheduled = false;
  #savepoints = 0;

  constructor(
    private readonly writer: SQLite.Database,
    private readonly prepareWriter: Prepare,
    private readonly reader: SQLite.Database,
    private readonly prepareReader: Prepare,
    private readonly limits: GroupCommitLimits,
  ) {}

  async init(): Promise<void> {}

  async acquireConnection(): Promise<DatabaseConnection> {
    return new Handle(this);
  }

  async beginTransaction(connection: DatabaseConnection): Promise<void> {
    const handle = connection as Handle;
    await this.#lock();
    try {
      const batch = await this.#openBatch();
      handle.savepoint = `member_${++this.#savepoints}`;
      this.writer.exec(`savepoint ${handle.savepoint}`);
      batch.members += 1;
      handle.batch = batch;
    } catch (error) {
      this.#unlock();
      throw error;
    }
  }

  async commitTransaction(connection: DatabaseConnection): Promise<void> {
    const handle = connection as Handle;
    const batch = this.#endMember(handle);
    if (this.#batch !== batch) {
      this.#unlock();
      throw new Error('the transaction was rolled back by SQLite after an earlier error');
    }
    try {
      this.writer.exec(`release ${handle.savepoint}`);
    } catch (error) {
      this.#failIfAborted(error);
      this.#unlock();
      throw error;
    }
    const durable = batch.durable();
    this.#unlock();
    await durable;
  }

  async rollbackTransaction(connection: DatabaseConnection): Promise<void> {
    const handle = connection as Handle;
    // Kysely also calls this after a failed commit: the member is over, its error stands.
    if (!handle.batch) return;
    const batch = this.#endMember(handle);
    try {
      if (this.#batch === batch && this.writer.inTransaction) {
        this.writer.exec(`rollback to ${handle.savepoint}`);
        this.writer.exec(`release ${handle.savepoint}`);
      }
    } catch (error) {
      this.#failIfAborted(error);
    }
    // What this transaction read may come from members not yet durable: its answer waits too.
    const settled = batch.durable().catch(() => undefined);
    this.#unlock();
    await settled;
  }

  async releaseConnection(): Promise<void> {}

  async destroy(): Promise<void> {
    await this.#lock();
    if (this.#batch) this.#commit();
    this.reader.close();
    this.writer.close();
  }

  /** Runs one statement for `handle`: in its transaction, on the reader, or as a lone write. */
  async execute<R>(handle: Handle, query: CompiledQuery): Promise<QueryResult<R>> {
    const { sql: sqlText, parameters } = query;
    if (handle.batch) {
      if (handle.batch !== this.#batch) throw new Error('the transaction was rolled back by SQLite after an earlier error');
      try {
        return run<R>(this.prepareWriter(sqlText), parameters);
      } catch (error) {
        this.#failIfAborted(error);
        throw error;
      }
    }
    if (SELECT.test(sqlText)) {
      const statement = this.prepareReader(sqlText);
      if (statement.readonly) return run<R>(statement, parameters);
    }
    await this.#lock();
    let batch: Batch;
    let result: QueryResult<R>;
    try {
      // A lone write opens a batch when none is open, like a transaction: concurrent lone writes
      // (the password step's limit counters) then share one fsync instead of one each on the
      // event loop (issue 18 #4).
      batch = await this.#openBatch();
      result = run<R>(this.prepareWriter(sqlText), parameters);
    } catch (error) {
      this.#failIfAborted(error);
      this.#unlock();
      throw error;
    }
    batch.members += 1;
    const durable = batch.durable();
    this.#unlock();
    await durable;
    return result;
  }

  /** Called while holding this driver's lock: no other member can open or commit a batch meanwhile. */
  async #openBatch(): Promise<Batch> {
    if (!this.#batch) {
      await whenWriteLockFree(() => this.writer.exec('begin immediate'));
      this.#batch = new Batch();
    }
    return this.#batch;
  }

  #endMember(handle: Handle): Batch {
    const batch = handle.batch;
    if (!batch) throw new Error('no transaction is open on this connection');
    handle.batch = null;
    return batch;
  }

  /** Some errors (I/O, full disk) make SQLite roll back the whole transaction: the batch is lost. */
  #failIfAborted(error: unknown): void {
    const batch = this.#batch;
    if (!batch || this.writer.inTransaction) return;
    this.#batch = null;
    batch.settle(error);
  }

  #lock(): Promise<void> {
    if (!this.#locked) {
      this.#locked = true;
      return Promise.resolve();
    }
    return new Promise((resolve) => this.#waiters.push(resolve));
  }

  #unlock(): void {
    const batch = this.#batch;
    if (batch && (batch.members >= this.limits.maxMembers || performance.now() - batch.startedAt >= this.limits.maxWaitMs)) this.#commit();
    const next = this.#waiters.shift();
    if (next) {
      next(); // the lock passes on; the next transaction joins the batch
      return;
    }
    this.#locked = false;
    if (this.#batch && !this.#commitScheduled) {
      this.#commitScheduled = true;
      // After the I/O phase: requests that arrived meanwhile have reached the lock by then.
      setImmediate(() => {
        this.#commitScheduled = false;
        if (!this.#locked && this.#batch) this.#commit();
      });
    }
  }

  /** The shared commit; called only while no transaction body is running. */
  #commit(): void {
    const batch = this.#batch;
    if (!batch) return;
    this.#batch = null;
    try {
      this.writer.exec('commit');
    } catch (error) {
      if (this.writer.inTransaction) {
        try {
          this.writer.exec('rollback');
        } catch {
          // The connection is unusable either way; the members are told below.
        }
      }
      batch.settle(error);
      return;
    }
    batch.settle();
  }
}

/** Kysely's SQLite dialect (adapter, compiler, introspector) on the group-commit driver. */
export class GroupCommitSqliteDialect extends SqliteDialect {
  constructor(private readonly driver: GroupCommitSqliteDriver) {
    super({ database: {} as never });
  }

  override createDriver(): Driver {
    return this.driver;
  }
}
