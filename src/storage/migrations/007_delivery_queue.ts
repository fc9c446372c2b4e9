import type { Kysely } from 'kysely';

/**
 * The delivery queue (issue 13, "Nothing lost"): a transactional outbox. A message is written
 * in the same transaction as the event that causes it, and a worker delivers it with retries,
 * so a crash, a restart or an unreachable SMTP server loses nothing. Any number of instances
 * share the table: a message is claimed by one conditional write, and a claim that outlives
 * its worker (a crash mid-send) is taken back once its lease has run out.
 *
 * Also the key-check value (issue 13): a known text encrypted under ENCRYPTION_KEY at first start,
 * so that a server started with the wrong key refuses to start instead of failing at a login.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('delivery_queue')
    .addColumn('id', 'text', (c) => c.primaryKey())
    // How it travels: 'email', 'sms'; later 'logout_token' (OIDC back-channel) and 'webhook'.
    .addColumn('channel', 'text', (c) => c.notNull())
    // What it is ('invitation', 'password_reset', 'factor_enrolled' …): for pages and investigation.
    .addColumn('kind', 'text', (c) => c.notNull())
    // Whom it is about, when a user; no foreign key so that any future channel fits.
    .addColumn('user_id', 'text')
    // Recipient and body, AES-256-GCM under ENCRYPTION_KEY (rule 29: links and codes inside);
    // null once sent or given up, and never written for a message sent at once (a login text).
    .addColumn('payload_encrypted', 'text')
    // 'queued', 'sending' (claimed), 'sent', 'failed' (gave up after the last try).
    .addColumn('status', 'text', (c) => c.notNull())
    .addColumn('attempts', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    // When a queued message may next be tried (backoff after a failure).
    .addColumn('next_attempt_at', 'bigint', (c) => c.notNull())
    // The instance that wrote it tries first; the others wait a moment (see queue-store.ts).
    .addColumn('enqueued_by', 'text')
    // The current claim: who holds it and until when (a crashed holder's claim lapses).
    .addColumn('claim_id', 'text')
    .addColumn('lease_until', 'bigint')
    .addColumn('sent_at', 'bigint')
    // The provider's refusal, without the message (it never holds the body or a token).
    .addColumn('last_error', 'text')
    .execute();
  await db.schema.createIndex('delivery_queue_due').on('delivery_queue').columns(['status', 'next_attempt_at']).execute();
  await db.schema.createIndex('delivery_queue_user').on('delivery_queue').column('user_id').execute();

  await db.schema
    .createTable('key_checks')
    // 'encryption': one row per purpose.
    .addColumn('name', 'text', (c) => c.primaryKey())
    .addColumn('value_encrypted', 'text', (c) => c.notNull())
    .addColumn('written_at', 'bigint', (c) => c.notNull())
    .execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('key_checks').execute();
  await db.schema.dropTable('delivery_queue').execute();
}
