/**
 * Migration 013 on a database that already has sessions: each existing session gets its own
 * public id (the sessions list names sessions by it), on SQLite and PostgreSQL; and it reverts.
 */
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { openStorage } from '../../src/storage/database.ts';
import { migrateToLatest } from '../../src/storage/migrate.ts';
import * as migration013 from '../../src/storage/migrations/013_reports_and_sessions.ts';
import { createTestDatabase, databaseTargets } from '../helpers/databases.ts';

for (const target of await databaseTargets()) {
  describe(`migration 013 [${target.kind}]`, { skip: target.skip }, () => {
    const cleanups: Array<() => Promise<void>> = [];
    after(async () => {
      for (const cleanup of cleanups.reverse()) await cleanup();
    });

    it('gives every session that existed before it a distinct public id, and reverts', async () => {
      const database = await createTestDatabase(target.kind);
      cleanups.push(() => database.drop());
      const storage = openStorage(database.url);
      cleanups.push(() => storage.close());
      const { db } = storage;
      await migrateToLatest(db);
      await migration013.down(db);
      const now = Date.now();
      await db.insertInto('accounts').values({ id: 'a1', name: 'Acme', enforce_2fa: 0, created_at: now }).execute();
      await db.insertInto('users' as never).values({ id: 'u1', account_id: 'a1', email: 'old@example.com', name: 'Old', role: 'user', active: 1, password_hash: null, created_at: now, last_login_at: null } as never).execute();
      for (const hash of ['h1', 'h2', 'h3']) {
        await db.insertInto('sessions' as never).values({ token_hash: hash, user_id: 'u1', state: 'complete', created_at: now, last_seen_at: now, authenticated_at: now, auth_methods: 'password', ip: '127.0.0.1', user_agent: '' } as never).execute();
      }
      await migration013.up(db);
      const ids = (await db.selectFrom('sessions').select('public_id').execute()).map((row) => row.public_id);
      assert.equal(ids.length, 3);
      assert.ok(ids.every((id) => typeof id === 'string' && /^[0-9a-f-]{36}$/.test(id)));
      assert.equal(new Set(ids).size, 3, 'distinct');
      const user = await db.selectFrom('users').select('password_login_blocked').where('id', '=', 'u1').executeTakeFirstOrThrow();
      assert.equal(Number(user.password_login_blocked), 0, 'nobody starts blocked');
      await migration013.down(db);
      await migration013.up(db);
    });
  });
}
