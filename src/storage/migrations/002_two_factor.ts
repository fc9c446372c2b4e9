import type { Kysely } from 'kysely';

/**
 * Second factors (issue 3): confirmed factors, the pending authenticator-app enrollment, the
 * pending login (challenge) and recovery codes. Times are integer milliseconds, as in 001.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('factors')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('user_id', 'text', (c) => c.notNull().references('users.id'))
    .addColumn('kind', 'text', (c) => c.notNull())
    // AES-256-GCM, associated data binds it to its user and factor id (SECURITY.md rule 29).
    .addColumn('secret_encrypted', 'text', (c) => c.notNull())
    // Highest TOTP time step accepted so far: a step at or before it is a replay (rule 5).
    .addColumn('last_used_step', 'bigint')
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addColumn('confirmed_at', 'bigint', (c) => c.notNull())
    .execute();
  // One factor of each kind per user: a replacement swaps the row inside one transaction.
  await db.schema.createIndex('factors_user_kind').on('factors').columns(['user_id', 'kind']).unique().execute();

  await db.schema
    .createTable('totp_enrollments')
    .addColumn('id', 'text', (c) => c.primaryKey())
    // One pending enrollment per user: starting a new one overwrites the row under a new id,
    // so the old id can never be confirmed again (rule 13) and nothing piles up.
    .addColumn('user_id', 'text', (c) => c.notNull().unique().references('users.id'))
    .addColumn('secret_encrypted', 'text', (c) => c.notNull())
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addColumn('expires_at', 'bigint', (c) => c.notNull())
    .execute();

  await db.schema
    .createTable('login_challenges')
    .addColumn('id', 'text', (c) => c.primaryKey())
    // The half-authenticated session this challenge belongs to (SHA-256 of its token).
    .addColumn('session_token_hash', 'text', (c) => c.notNull().unique())
    .addColumn('user_id', 'text', (c) => c.notNull().references('users.id'))
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addColumn('expires_at', 'bigint', (c) => c.notNull())
    // Charged before each code is checked, so it counts attempts in flight too (rule 1)…
    .addColumn('attempts', 'integer', (c) => c.notNull().defaultTo(0))
    // …and the attempts that came back wrong: the challenge ends when these reach the limit.
    .addColumn('failed_attempts', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('consumed_at', 'bigint')
    .execute();
  await db.schema.createIndex('login_challenges_user').on('login_challenges').column('user_id').execute();

  await db.schema
    .createTable('recovery_codes')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('user_id', 'text', (c) => c.notNull().references('users.id'))
    // HMAC-SHA256 under the server's hashing key (rule 16); the code itself is never stored.
    .addColumn('code_hash', 'text', (c) => c.notNull())
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addColumn('used_at', 'bigint')
    .execute();
  await db.schema.createIndex('recovery_codes_user_hash').on('recovery_codes').columns(['user_id', 'code_hash']).execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  for (const table of ['recovery_codes', 'login_challenges', 'totp_enrollments', 'factors']) {
    await db.schema.dropTable(table).execute();
  }
}
