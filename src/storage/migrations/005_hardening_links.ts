import type { Kysely } from 'kysely';

/**
 * A disable link works only with a password that existed when it was sent (issue 13; SECURITY.md
 * rules 21, 44): every password change bumps `users.password_version`, and each link records the
 * version it was issued under. Times would not do — two changes in one millisecond, or an
 * injected clock, would compare equal. Rows that exist at migration time start at version 0 on
 * both sides, so outstanding links keep working until the password next changes.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('users').addColumn('password_version', 'integer', (c) => c.notNull().defaultTo(0)).execute();
  await db.schema.alterTable('links').addColumn('password_version', 'integer', (c) => c.notNull().defaultTo(0)).execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('links').dropColumn('password_version').execute();
  await db.schema.alterTable('users').dropColumn('password_version').execute();
}
