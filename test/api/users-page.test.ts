/**
 * GET /account/users reads a page in one query: the shown columns with each user's confirmed
 * factor kinds aggregated per row (users/listing.ts, listAccountUsersWithFactors). These pin what
 * that query answers on SQLite and PostgreSQL: every user once, in email order, across pages;
 * the methods in the registry's order (recovery codes are not a method); the search and the
 * "Without 2FA" filter on the same read.
 */
import assert from 'node:assert/strict';
import { it } from 'node:test';
import { signUp } from '../helpers/fixtures.ts';
import { forEachDatabase } from '../helpers/suites.ts';
import { enrollAuthenticatorApp } from '../helpers/two-factor.ts';

interface ListedUser {
  id: string;
  email: string;
  twoFactor: { enabled: boolean; methods: string[] };
  lastLoginAt: string | null;
}

forEachDatabase('the Users page reads each page in one query', (context) => {
  it('pages through 56 users in email order, each once, with the methods each has confirmed', async () => {
    const { api, server } = context();
    const admin = await signUp(api);
    const enrolled = await enrollAuthenticatorApp(server, api, admin.token);
    const now = Date.now();
    const others = Array.from({ length: 55 }, (_, i) => ({
      id: `listed-${admin.accountId}-${i}`,
      account_id: admin.accountId,
      email: `listed-${String(i).padStart(2, '0')}-${admin.accountId}@example.com`.toLowerCase(),
      name: `Listed ${i}`,
      role: 'user' as const,
      active: 1,
      password_hash: null,
      created_at: now,
      last_login_at: i === 0 ? now : null,
    }));
    await server.deps.db.insertInto('users').values(others).execute();

    const first = await api.get('/account/users', { token: enrolled.token });
    assert.equal(first.status, 200, first.text);
    assert.equal(first.body.users.length, 50);
    assert.ok(first.body.nextCursor);
    const second = await api.get(`/account/users?cursor=${encodeURIComponent(first.body.nextCursor)}`, { token: enrolled.token });
    assert.equal(second.status, 200, second.text);
    assert.equal(second.body.nextCursor, null);
    const listed: ListedUser[] = [...first.body.users, ...second.body.users];

    const expected = [admin.email, ...others.map((user) => user.email)].sort();
    assert.deepEqual(listed.map((user) => user.email), expected, 'every user once, in email order, across the two pages');
    const adminListed = listed.find((user) => user.id === admin.userId);
    assert.deepEqual(adminListed?.twoFactor, { enabled: true, methods: ['totp'] }, 'the app is a method; its recovery codes are not');
    for (const user of listed.filter((user) => user.id !== admin.userId)) assert.deepEqual(user.twoFactor, { enabled: false, methods: [] }, user.email);
    assert.equal(listed.find((user) => user.email === others[0]!.email)?.lastLoginAt, new Date(now).toISOString());

    const searched = await api.get(`/account/users?email=${encodeURIComponent(admin.email)}`, { token: enrolled.token });
    assert.deepEqual(searched.body.users.map((user: ListedUser) => [user.email, user.twoFactor.methods]), [[admin.email, ['totp']]]);
    const lacking = await api.get('/account/users?twoFactor=missing', { token: enrolled.token });
    assert.equal(lacking.status, 200, lacking.text);
    assert.deepEqual(lacking.body.users.map((user: ListedUser) => user.email), others.map((user) => user.email).sort().slice(0, 50), 'the filter leaves out the admin with the app');
  });
});
