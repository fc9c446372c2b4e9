import type { Kysely } from 'kysely';

/**
 * Security keys and passkeys (issue 15, PRODUCT.md §2.9, SECURITY.md K): one row per registered
 * credential, and the server-side challenges of registrations and assertions. A user with at
 * least one key also has a `factors` row of kind `webauthn` (no secret), so every place that
 * counts methods (sessions, enforcement, the Users page) sees the method without knowing keys.
 * Also the account's allowed-methods policy (below). Numbered 009: other branches add 005–008.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('webauthn_credentials')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('user_id', 'text', (c) => c.notNull().references('users.id'))
    // base64url credential ID: registered once across all users (rule 35).
    .addColumn('credential_id', 'text', (c) => c.notNull().unique())
    // base64url COSE public key; public, so not encrypted.
    .addColumn('public_key', 'text', (c) => c.notNull())
    .addColumn('counter', 'bigint', (c) => c.notNull())
    .addColumn('transports', 'text', (c) => c.notNull())
    .addColumn('aaguid', 'text', (c) => c.notNull())
    .addColumn('backup_eligible', 'integer', (c) => c.notNull())
    .addColumn('backed_up', 'integer', (c) => c.notNull())
    .addColumn('user_verified', 'integer', (c) => c.notNull())
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addColumn('last_used_at', 'bigint')
    .execute();
  await db.schema.createIndex('webauthn_credentials_user').on('webauthn_credentials').column('user_id').execute();

  await db.schema
    .createTable('webauthn_challenges')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('user_id', 'text', (c) => c.notNull().references('users.id'))
    // registration, login or reauthenticate: a challenge answers for its purpose only.
    .addColumn('purpose', 'text', (c) => c.notNull())
    // At login the pending login it belongs to; null otherwise.
    .addColumn('subject_id', 'text')
    // SHA-256 of the base64url challenge.
    .addColumn('challenge_hash', 'text', (c) => c.notNull())
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addColumn('expires_at', 'bigint', (c) => c.notNull())
    .addColumn('consumed_at', 'bigint')
    .execute();
  // One open challenge per user and purpose: asking again replaces it, so rows never pile up.
  await db.schema.createIndex('webauthn_challenges_user_purpose').on('webauthn_challenges').columns(['user_id', 'purpose']).unique().execute();
  await createAccountPolicies(db);
}

/**
 * The account's allowed-methods policy (PRODUCT.md §2.9 last paragraph, §3 /account/policy). No
 * row means the defaults: every method allowed, phishing-resistant not required. The later
 * fields of that policy (enforce from, for whom, trusted-browser days) are not here: the issue
 * that brings them adds their columns.
 */
async function createAccountPolicies(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('account_policies')
    .addColumn('account_id', 'text', (c) => c.primaryKey().references('accounts.id'))
    // Comma-separated method kinds ('totp,sms,webauthn'); never empty.
    .addColumn('allowed_methods', 'text', (c) => c.notNull())
    .addColumn('require_phishing_resistant', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('updated_at', 'bigint', (c) => c.notNull())
    .execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('account_policies').execute();
  await db.schema.dropTable('webauthn_challenges').execute();
  await db.schema.dropTable('webauthn_credentials').execute();
}
