import type { Kysely } from 'kysely';

/**
 * Staged enforcement (issue 16, PRODUCT.md §2.10): when and for whom the account's enforcement
 * applies, on the policy row the session read already joins — so the guard still needs one read.
 * The two notice columns record how far the e-mails to the affected users got, so that the
 * periodic job sends each stage exactly once across instances (src/enforcement/staged-notices.ts).
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .alterTable('account_policies')
    // 00:00 UTC of the "Enforce from" date, in ms; null: at once.
    .addColumn('enforce_from', 'bigint')
    .execute();
  // 'everyone' or 'admins'.
  await db.schema.alterTable('account_policies').addColumn('enforce_for', 'text', (c) => c.notNull().defaultTo('everyone')).execute();
  // 0: nothing sent; 1: the notice sent when saved; 2: 7 days before; 3: 1 day before.
  await db.schema.alterTable('account_policies').addColumn('notice_stage', 'integer', (c) => c.notNull().defaultTo(0)).execute();
  // While a stage is being sent: the id of the last user it reached ('' before the first); null once the stage is done.
  await db.schema.alterTable('account_policies').addColumn('notice_cursor', 'text').execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  for (const column of ['notice_cursor', 'notice_stage', 'enforce_for', 'enforce_from']) {
    await db.schema.alterTable('account_policies').dropColumn(column).execute();
  }
}
