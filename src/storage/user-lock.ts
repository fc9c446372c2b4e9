/**
 * Serialising writers on one user (issue 13; SECURITY.md rule 6). Some invariants span rows that
 * no single conditional write covers — "one method stays on", "one set of recovery codes",
 * "the newest link only" — and are kept by reading the user's rows and then writing. Under
 * PostgreSQL's READ COMMITTED two such transactions both read the old state and both write; so
 * each first takes this lock, and the second waits until the first commits, then reads (each
 * statement takes a new snapshot) what it wrote. Take it first in the transaction.
 */
import { PostgresAdapter, sql } from 'kysely';
import type { Database } from './schema.ts';

/**
 * The first key of PostgreSQL's two-key advisory locks for "a user's second-factor state"; the
 * second is the hash of the user id (a collision only makes two users wait for each other).
 */
const USER_LOCK_CLASS = 0x7466_7531;

export async function lockUser(trx: Database, userId: string): Promise<void> {
  if (!trx.isTransaction) throw new Error('lockUser needs a transaction: the lock lasts until it commits');
  if (trx.getExecutor().adapter instanceof PostgresAdapter) {
    // A transaction-scoped advisory lock rather than `select … for update` on the user's row: a
    // completing login updates that row (last_login_at) after writing its session, factor and
    // code rows, so a row lock taken here first would deadlock with it (we would wait for its
    // session or factor row while it waits for the user row). The advisory lock is taken only
    // by the writers that need each other serialised, always before any row.
    await sql`select pg_advisory_xact_lock(${USER_LOCK_CLASS}::integer, hashtext(${userId}))`.execute(trx);
    return;
  }
  // SQLite has one writer per database, and a transaction becomes the writer at its first write
  // (BEGIN is deferred). Writing first, a no-op on the user's row, makes the reads that follow
  // part of the writing transaction: another process (the support command) waits for it.
  await trx.updateTable('users').set((eb) => ({ active: eb.ref('active') })).where('id', '=', userId).execute();
}
