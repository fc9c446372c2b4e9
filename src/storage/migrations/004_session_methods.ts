import type { Kysely } from 'kysely';

/**
 * Sessions record how they authenticated (issue 12): the methods used, in order, as OpenID
 * Connect's `amr` and trusted browsers need them. Sessions that exist at migration time get
 * 'password' (whether they also used a second factor was not recorded before).
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('sessions').addColumn('auth_methods', 'text', (c) => c.notNull().defaultTo('password')).execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('sessions').dropColumn('auth_methods').execute();
}
