import { sql, type Kysely } from 'kysely';

/**
 * E-mail verification and the reason a session ended (issue 17).
 *
 * `users.email_verified_at`: when the user proved they read the address — a verification link,
 * an accepted invitation or a completed password reset (each is a link that only the mailbox
 * received). Users who exist at migration time count as verified only where the security log
 * already shows such a proof: an invited user who has a password (they accepted the invitation,
 * or reset it) or anyone who completed a password reset. Everyone else — the admins who signed up —
 * starts unverified and sees the banner; OpenID Connect said `email_verified: false` for all of
 * them before, so no application loses a claim it had.
 *
 * `revoked_sessions`: a session ended by someone or something other than its own holder leaves
 * its token hash and the reason, so the next page of that browser can say why it was signed out.
 * Kept until the session would have expired anyway (created_at + the absolute lifetime; the sweep
 * removes it). Only read when a cookie no longer names a session, never on the hot path.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('users').addColumn('email_verified_at', 'bigint').execute();
  await sql`update users set email_verified_at = created_at
    where (password_hash is not null and exists (select 1 from security_events e where e.subject_user_id = users.id and e.type = 'user_invited'))
       or exists (select 1 from security_events e where e.subject_user_id = users.id and e.type = 'password_reset')`.execute(db);

  await db.schema
    .createTable('revoked_sessions')
    .addColumn('token_hash', 'text', (c) => c.primaryKey())
    .addColumn('user_id', 'text', (c) => c.notNull())
    .addColumn('reason', 'text', (c) => c.notNull())
    .addColumn('session_created_at', 'bigint', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('revoked_sessions_created').on('revoked_sessions').column('session_created_at').execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('revoked_sessions').execute();
  await db.schema.alterTable('users').dropColumn('email_verified_at').execute();
}
