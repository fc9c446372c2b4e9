import { randomUUID } from 'node:crypto';
import type { Kysely } from 'kysely';

/**
 * Issue 16 part C: the sessions list, "This wasn't me" and the new-browser notice.
 * - `sessions.public_id`: the id the sessions list and `DELETE /me/sessions/{id}` name a session
 *   by. Never the token or its hash (a hash is as good as a token to the session read); it stays
 *   the same when the session's token is replaced after the second factor. Sessions that exist at
 *   migration time get one each here.
 * - `users.password_login_blocked`: set by a "This wasn't me" report; the password step refuses
 *   the user until a password reset clears it.
 * - `security_reports`: the single-use report links of security notices (hash at rest, 7 days),
 *   bound to the user and to the factor the notice announced as added, if any.
 * - `known_browsers`: per user, the hash of each browser's long-lived random cookie: a completed
 *   login from a browser not in it e-mails the user.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('sessions').addColumn('public_id', 'text').execute();
  const existing = await db.selectFrom('sessions').select('token_hash').execute();
  for (const row of existing) await db.updateTable('sessions').set({ public_id: randomUUID() }).where('token_hash', '=', row.token_hash).execute();
  await db.schema.createIndex('sessions_public_id').on('sessions').column('public_id').unique().execute();

  await db.schema.alterTable('users').addColumn('password_login_blocked', 'integer', (c) => c.notNull().defaultTo(0)).execute();

  await db.schema
    .createTable('security_reports')
    .addColumn('token_hash', 'text', (c) => c.primaryKey())
    .addColumn('user_id', 'text', (c) => c.notNull().references('users.id'))
    // The factor the notice announced as added (its kind, and the id of its factors or
    // webauthn_credentials row), or null for notices that added none.
    .addColumn('factor_kind', 'text')
    .addColumn('factor_id', 'text')
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addColumn('expires_at', 'bigint', (c) => c.notNull())
    .addColumn('consumed_at', 'bigint')
    .execute();
  await db.schema.createIndex('security_reports_user').on('security_reports').column('user_id').execute();

  await db.schema
    .createTable('known_browsers')
    .addColumn('user_id', 'text', (c) => c.notNull().references('users.id'))
    // SHA-256 of the browser cookie's random value.
    .addColumn('browser_hash', 'text', (c) => c.notNull())
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addColumn('last_login_at', 'bigint', (c) => c.notNull())
    .addPrimaryKeyConstraint('known_browsers_pk', ['user_id', 'browser_hash'])
    .execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('known_browsers').execute();
  await db.schema.dropTable('security_reports').execute();
  await db.schema.alterTable('users').dropColumn('password_login_blocked').execute();
  await db.schema.dropIndex('sessions_public_id').execute();
  await db.schema.alterTable('sessions').dropColumn('public_id').execute();
}
