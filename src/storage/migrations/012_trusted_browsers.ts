import type { Kysely } from 'kysely';

/**
 * Trusted browsers (issue 16, PRODUCT.md §2.11, SECURITY.md rule 42): one row per browser a user
 * chose to trust after a right code. The browser holds a 256-bit secret in its own cookie; only
 * its SHA-256 is stored. `id` is the public handle (lists, DELETE), never the secret. The expiry is
 * fixed at grant time (granted_at + the account's days then); the login also checks granted_at
 * against the account's current days, so shortening the setting reaches trust already granted.
 * Also the account's days setting, a column of the policy row (no row or null: 30 days).
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('trusted_browsers')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('user_id', 'text', (c) => c.notNull().references('users.id'))
    .addColumn('secret_hash', 'text', (c) => c.notNull().unique())
    // The second factor the trust was granted after ('totp', 'sms', 'webauthn'): a policy that
    // no longer allows it, or the factor gone, and the trust skips nothing.
    .addColumn('factor_kind', 'text', (c) => c.notNull())
    .addColumn('granted_at', 'bigint', (c) => c.notNull())
    .addColumn('expires_at', 'bigint', (c) => c.notNull())
    .addColumn('last_used_at', 'bigint')
    .addColumn('user_agent', 'text', (c) => c.notNull())
    .addColumn('ip', 'text', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('trusted_browsers_user').on('trusted_browsers').column('user_id').execute();
  await db.schema.alterTable('account_policies').addColumn('trusted_browser_days', 'integer').execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('account_policies').dropColumn('trusted_browser_days').execute();
  await db.schema.dropTable('trusted_browsers').execute();
}
