import assert from 'node:assert/strict';
import { it } from 'node:test';
import { inviteAndAccept, logIn, signUp } from '../helpers/fixtures.ts';
import { forEachDatabase } from '../helpers/suites.ts';

forEachDatabase('roles and the last admin', (context) => {
  it('promotes a user to admin and records it in the security log', async () => {
    const { api, server } = context();
    const admin = await signUp(api);
    const user = await inviteAndAccept(server, api, admin.token);
    const changed = await api.patch(`/account/users/${user.userId}`, { role: 'admin' }, { token: admin.token });
    assert.equal(changed.status, 200, changed.text);
    assert.equal(changed.body.user.role, 'admin');
    const events = await server.deps.db.selectFrom('security_events').select(['type', 'subject_user_id']).where('type', '=', 'role_changed').execute();
    assert.ok(events.some((e) => e.subject_user_id === user.userId));
  });

  it('refuses to demote or deactivate the only active admin', async () => {
    const { api } = context();
    const admin = await signUp(api);
    const demote = await api.patch(`/account/users/${admin.userId}`, { role: 'user' }, { token: admin.token });
    assert.equal(demote.status, 409);
    assert.equal(demote.body.error, 'last_admin');
    const deactivate = await api.patch(`/account/users/${admin.userId}`, { active: false }, { token: admin.token });
    assert.equal(deactivate.status, 409);
    assert.equal((await api.get('/me', { token: admin.token })).body.user.role, 'admin');
  });

  it('keeps one admin when two admins demote each other at the same moment', async () => {
    const { api, server } = context();
    const first = await signUp(api);
    const second = await inviteAndAccept(server, api, first.token, 'admin');
    const secondLogin = await logIn(api, second.email);
    const [a, b] = await Promise.all([
      api.patch(`/account/users/${second.userId}`, { role: 'user' }, { token: first.token }),
      api.patch(`/account/users/${first.userId}`, { role: 'user' }, { token: secondLogin.token }),
    ]);
    // The loser is refused either by the last-admin rule (409) or, if the winner committed
    // before its request was authorised, because it is no longer an admin (403).
    assert.equal([a, b].filter((r) => r.status === 200).length, 1);
    assert.ok([a, b].some((r) => r.status === 409 || r.status === 403));
    const admins = await server.deps.db.selectFrom('users').select('id').where('account_id', '=', first.accountId).where('role', '=', 'admin').execute();
    assert.equal(admins.length, 1);
  });

  it('deactivating a user ends their sessions at once and stops their logins', async () => {
    const { api, server } = context();
    const admin = await signUp(api);
    const user = await inviteAndAccept(server, api, admin.token);
    const login = await logIn(api, user.email);
    const changed = await api.patch(`/account/users/${user.userId}`, { active: false }, { token: admin.token });
    assert.equal(changed.status, 200);
    assert.equal((await api.get('/me', { token: login.token })).status, 401);
    assert.equal((await api.post('/login', { email: user.email, password: 'correct horse battery' })).status, 401);
  });

  it('answers 404 for a user of another account and changes nothing there', async () => {
    const { api } = context();
    const mine = await signUp(api);
    const theirs = await signUp(api);
    const attempt = await api.patch(`/account/users/${theirs.userId}`, { active: false }, { token: mine.token });
    assert.equal(attempt.status, 404);
    assert.equal((await api.get('/me', { token: theirs.token })).status, 200);
    const list = await api.get('/account/users', { token: mine.token });
    assert.ok(!list.body.users.some((u: { id: string }) => u.id === theirs.userId), 'the list shows only the own account');
  });

  it('pages through users with a cursor and filters by email prefix', async () => {
    const { api, server } = context();
    const admin = await signUp(api);
    for (let i = 0; i < 3; i += 1) await inviteAndAccept(server, api, admin.token);
    const all = await api.get('/account/users', { token: admin.token });
    assert.equal(all.body.users.length, 4);
    assert.equal(all.body.nextCursor, null);
    const filtered = await api.get(`/account/users?email=${encodeURIComponent(admin.email.slice(0, 8))}`, { token: admin.token });
    assert.deepEqual(filtered.body.users.map((u: { email: string }) => u.email), [admin.email]);
    const wildcard = await api.get('/account/users?email=%25', { token: admin.token });
    assert.equal(wildcard.body.users.length, 0, 'a % in the search is a literal, not a wildcard');
  });
});
