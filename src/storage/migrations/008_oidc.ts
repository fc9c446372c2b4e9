import type { Kysely } from 'kysely';

/**
 * OpenID Connect provider state (issue 14). Everything oidc-provider keeps — authorization codes,
 * tokens, grants, its sessions and interactions — lives in the database, so several instances
 * serve one issuer: a code issued by one is exchanged at another.
 *
 * - oidc_payloads: one row per oidc-provider model instance, keyed by (model, id), with the
 *   columns its lookups need (grant, session uid, user) and its expiry for the periodic sweep.
 * - oidc_clients: the applications the operator registered; the secret only as a hash.
 * - oidc_signing_keys: ID-token signing keys, the private JWK encrypted under ENCRYPTION_KEY;
 *   `first_key` is 1 on the key generated at first start and unique, so instances starting
 *   together make one key (a conditional insert), never two.
 *
 * - oidc_logout_notices: back-channel logout tokens still to send, written in the same transaction
 *   that ends a user's sessions, so a notice is never lost and never blocks the request.
 *
 * Numbered 008: 005–007 are reserved for the branches merged before this one.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('oidc_payloads')
    .addColumn('model', 'text', (c) => c.notNull())
    .addColumn('id', 'text', (c) => c.notNull())
    .addColumn('payload', 'text', (c) => c.notNull())
    .addColumn('grant_id', 'text')
    .addColumn('uid', 'text')
    .addColumn('account_id', 'text')
    .addColumn('expires_at', 'bigint')
    .addColumn('consumed_at', 'bigint')
    .addPrimaryKeyConstraint('oidc_payloads_pk', ['model', 'id'])
    .execute();
  await db.schema.createIndex('oidc_payloads_grant').on('oidc_payloads').column('grant_id').execute();
  await db.schema.createIndex('oidc_payloads_uid').on('oidc_payloads').columns(['model', 'uid']).execute();
  await db.schema.createIndex('oidc_payloads_account').on('oidc_payloads').columns(['account_id', 'model']).execute();
  await db.schema.createIndex('oidc_payloads_expires').on('oidc_payloads').column('expires_at').execute();

  await db.schema
    .createTable('oidc_clients')
    .addColumn('client_id', 'text', (c) => c.primaryKey())
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('metadata', 'text', (c) => c.notNull())
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .execute();

  await db.schema
    .createTable('oidc_signing_keys')
    .addColumn('kid', 'text', (c) => c.primaryKey())
    .addColumn('private_jwk_encrypted', 'text', (c) => c.notNull())
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addColumn('retired_at', 'bigint')
    .addColumn('first_key', 'integer', (c) => c.unique())
    .execute();

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

export async function down(db: Kysely<unknown>): Promise<void> {
  for (const table of ['oidc_logout_notices', 'oidc_signing_keys', 'oidc_clients', 'oidc_payloads']) await db.schema.dropTable(table).execute();
}
