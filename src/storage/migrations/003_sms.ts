import type { Kysely } from 'kysely';

/**
 * Text-message codes (issue 4): the phone number's keyed hash beside a confirmed SMS factor,
 * the pending phone verification, and the codes themselves. Times are integer milliseconds.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  // For an SMS factor `secret_encrypted` holds the E.164 number (AES-256-GCM, rule 29) and this
  // column its HMAC under the hashing key: per-number limits without decrypting anything.
  await db.schema.alterTable('factors').addColumn('phone_hash', 'text').execute();

  await db.schema
    .createTable('sms_enrollments')
    // Changes with every new number, so codes texted for an earlier one name nothing.
    .addColumn('id', 'text', (c) => c.primaryKey())
    // One pending phone per user; a new number overwrites the row (rule 13).
    .addColumn('user_id', 'text', (c) => c.notNull().unique().references('users.id'))
    .addColumn('phone_encrypted', 'text', (c) => c.notNull())
    .addColumn('phone_hash', 'text', (c) => c.notNull())
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .execute();

  await db.schema
    .createTable('sms_codes')
    // Changes with every text, so a failed send can be undone without touching a newer code.
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('user_id', 'text', (c) => c.notNull().references('users.id'))
    // 'enrollment' (subject: sms_enrollments.id) or 'login' (subject: login_challenges.id).
    .addColumn('purpose', 'text', (c) => c.notNull())
    .addColumn('subject_id', 'text', (c) => c.notNull())
    // HMAC-SHA256 of the code bound to user, purpose and subject; the code is never stored.
    .addColumn('code_hash', 'text', (c) => c.notNull())
    // When the last text for this subject went out (the resend cooldown runs from it); 0 after a failed send.
    .addColumn('sent_at', 'bigint', (c) => c.notNull())
    .addColumn('expires_at', 'bigint', (c) => c.notNull())
    // Tries so far, kept across resends: a new code never resets them (rule 7).
    .addColumn('attempts', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('consumed_at', 'bigint')
    .execute();
  // One live code per subject: a resend overwrites it, which voids the previous code.
  await db.schema.createIndex('sms_codes_subject').on('sms_codes').columns(['purpose', 'subject_id']).unique().execute();
  await db.schema.createIndex('sms_codes_user').on('sms_codes').column('user_id').execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('sms_codes').execute();
  await db.schema.dropTable('sms_enrollments').execute();
  await db.schema.alterTable('factors').dropColumn('phone_hash').execute();
}
