/**
 * Migration 014 on both databases: users who exist when it runs count as verified only where the
 * security log shows they proved the address — an invited user with a password (they accepted,
 * or reset it) or anyone who completed a password reset; the admins who signed up, and invited
 * users who never accepted, start unverified.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { down, up } from '../../src/storage/migrations/014_email_verification.ts';
import { openStorage, type Storage } from '../../src/storage/database.ts';
import { createMigratedTestDatabase, databaseTargets, type TestDatabase } from '../helpers/databases.ts';

for (const target of await databaseTargets()) {
  describe(`migration 014: e-mail verification of existing users [${target.kind}]`, { skip: target.skip }, () => {
    let database: TestDatabase;
    let storage: Storage;
    before(async () => {
      database = await createMigratedTestDatabase(target.kind);
      storage = openStorage(database.url);
    });
    after(async () => {
      await storage?.close();
      await database?.drop();
    });

    it('marks verified the users the log shows proved their address, and no one else', async () => {
      const db = storage.db;
      await db.insertInto('accounts').values({ id: 'acc', name: 'Acme', enforce_2fa: 0, created_at: 1 }).execute();
      const user = (id: string, passwordHash: string | null) => ({ id, account_id: 'acc', email: `${id}@example.com`, name: id, role: 'user' as const, active: 1, password_hash: passwordHash, created_at: 1000, last_login_at: null, email_verified_at: null });
      await db.insertInto('users').values([user('signedup', 'hash'), user('accepted', 'hash'), user('pending', null), user('resetter', 'hash')]).execute();
      const event = (id: string, type: string, subject: string) => ({ id, account_id: 'acc', type, at: 2, actor_user_id: null, actor_kind: 'user', subject_user_id: subject, ip: null, user_agent: null, detail: '{}' });
      await db.insertInto('security_events').values([event('e1', 'user_invited', 'accepted'), event('e2', 'user_invited', 'pending'), event('e3', 'password_reset', 'resetter')]).execute();

      await down(db as never);
      await up(db as never);

      const rows = await db.selectFrom('users').select(['id', 'email_verified_at']).orderBy('id').execute();
      const verified = Object.fromEntries(rows.map((row) => [row.id, row.email_verified_at === null ? null : Number(row.email_verified_at)]));
      assert.deepEqual(verified, { accepted: 1000, pending: null, resetter: 1000, signedup: null });
      assert.deepEqual(await db.selectFrom('revoked_sessions').selectAll().execute(), [], 'the revocation table is back, empty');
    });
  });
}
