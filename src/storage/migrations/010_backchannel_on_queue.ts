import type { Kysely } from 'kysely';

/**
 * Back-channel logout on the delivery queue: logout notices are now `delivery_queue` messages of
 * channel `backchannel_logout` (written in the transaction that ends the sessions, sent by the
 * queue's worker), so 008's own notices table goes. A notice still waiting in it when this runs
 * is dropped with the table: the old sender gave each notice about a minute of retries, and the
 * migration cannot move them into the queue, whose payloads are sealed under ENCRYPTION_KEY.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropIndex('oidc_logout_notices_due').ifExists().execute();
  await db.schema.dropTable('oidc_logout_notices').execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('oidc_logout_notices')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('client_id', 'text', (c) => c.notNull())
    .addColumn('user_id', 'text', (c) => c.notNull())
    .addColumn('sid', 'text')
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addColumn('attempts', 'integer', (c) => c.notNull())
    .addColumn('next_attempt_at', 'bigint', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('oidc_logout_notices_due').on('oidc_logout_notices').column('next_attempt_at').execute();
}
