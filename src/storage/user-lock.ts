/**
 * Serialising writers on one user (issue 13; SECURITY.md rule 6). Some invariants span rows that
 * no single conditional write covers — "one method stays on", "one set of recovery codes",
 * "the newest link only" — and are kept by reading the user's rows and then writing. Under
 * PostgreSQL's READ COMMITTED two such transactions both read the old state and both write; so
 * each first takes this lock, and the second waits for the first to commit, then reads what it
 * wrote. Call it first in the transaction (the user before any other row), so that two
 * transactions never hold each other's rows: that is a deadlock on PostgreSQL.
 */
import { PostgresAdapter } from 'kysely';
import type { Database } from './schema.ts';

export async function lockUserForUpdate(trx: Database, userId: string): Promise<void> {
  if (!trx.isTransaction) throw new Error('lockUserForUpdate needs a transaction: the lock lasts until it commits');
  if (trx.getExecutor().adapter instanceof PostgresAdapter) {
    await trx.selectFrom('users').select('id').where('id', '=', userId).forUpdate().execute();
    return;
  }
  // SQLite has one writer per database, and a transaction becomes the writer at its first write
  // (BEGIN is deferred). Writing first, a no-op on the user's row, makes the reads that follow
  // part of the writing transaction: another process (the support command) waits for it.
  await trx.updateTable('users').set((eb) => ({ active: eb.ref('active') })).where('id', '=', userId).execute();
}
