import assert from 'node:assert/strict';
import { it } from 'node:test';
import { inviteAndAccept, linkFromOutbox, logIn, PASSWORD, signUp, uniqueEmail, waitFor } from '../helpers/fixtures.ts';
import { forEachDatabase } from '../helpers/suites.ts';

forEachDatabase('invitations and password resets', (context) => {
  it('lets an invited user set a password once and then log in as a plain user', async () => {
    const { api, server } = context();
    const admin = await signUp(api);
    const invited = await inviteAndAccept(server, api, admin.token);
    const login = await logIn(api, invited.email);
    assert.equal(login.state, 'authenticated');
    const me = await api.get('/me', { token: login.token });
    assert.equal(me.body.user.role, 'user');
    assert.equal(me.body.account.id, admin.accountId);
  });

  it('accepts an invitation link exactly once when used concurrently', async () => {
    const { api, server } = context();
    const admin = await signUp(api);
    const email = uniqueEmail('invitee');
    assert.equal((await api.post('/account/users', { email, name: 'Ivy', role: 'user' }, { token: admin.token })).status, 201);
    await waitFor(() => server.outbox.list().some((m) => m.to === email));
    const token = linkFromOutbox(server, email, '/invitations/');
    const answers = await Promise.all(Array.from({ length: 10 }, (_, i) => api.post(`/invitations/${token}`, { password: `password number ${i}` })));
    assert.equal(answers.filter((a) => a.status === 204).length, 1);
    assert.deepEqual(new Set(answers.filter((a) => a.status !== 204).map((a) => a.body.error)), new Set(['link_expired']));
  });

  it('refuses to invite an email that is already a user', async () => {
    const { api } = context();
    const admin = await signUp(api);
    const again = await api.post('/account/users', { email: admin.email, name: 'Dup', role: 'user' }, { token: admin.token });
    assert.equal(again.status, 409);
    assert.equal(again.body.error, 'email_taken');
  });

  it('does not let a plain user invite anyone', async () => {
    const { api, server } = context();
    const admin = await signUp(api);
    const user = await inviteAndAccept(server, api, admin.token);
    const login = await logIn(api, user.email);
    const attempt = await api.post('/account/users', { email: uniqueEmail(), name: 'X', role: 'admin' }, { token: login.token });
    assert.equal(attempt.status, 403);
    assert.equal(attempt.body.error, 'forbidden');
  });

  it('answers forgot-password the same for known and unknown emails and e-mails only the known one', async () => {
    const { api, server } = context();
    const admin = await signUp(api);
    const unknownEmail = uniqueEmail('nobody');
    const known = await api.post('/password/forgot', { email: admin.email });
    const unknown = await api.post('/password/forgot', { email: unknownEmail });
    assert.equal(known.status, 202);
    assert.equal(unknown.status, known.status);
    assert.equal(unknown.text, known.text);
    await waitFor(() => server.outbox.list().some((m) => m.to === admin.email && m.body.includes('/password/reset/')));
    assert.ok(!server.outbox.list().some((m) => m.to === unknownEmail));
  });

  it('resets a password with a single-use link, revokes every session and still requires logging in', async () => {
    const { api, server } = context();
    const admin = await signUp(api);
    const other = await logIn(api, admin.email);
    await api.post('/password/forgot', { email: admin.email });
    await waitFor(() => server.outbox.list().some((m) => m.to === admin.email && m.body.includes('/password/reset/')));
    const token = linkFromOutbox(server, admin.email, '/password/reset/');
    const reset = await api.post('/password/reset', { token, password: 'another good password' });
    assert.equal(reset.status, 204);
    assert.equal(reset.text, '', 'a reset answers no token: it never logs in');
    assert.equal((await api.get('/me', { token: admin.token })).status, 401);
    assert.equal((await api.get('/me', { token: other.token })).status, 401);
    const reuse = await api.post('/password/reset', { token, password: 'yet another password' });
    assert.equal(reuse.status, 410);
    assert.equal(reuse.body.error, 'link_expired');
    assert.equal((await api.post('/login', { email: admin.email, password: 'another good password' })).status, 200);
  });

  it('voids an older reset link when a newer one is sent, and expires links after 24 hours', async () => {
    const { api, server } = context();
    const admin = await signUp(api);
    await api.post('/password/forgot', { email: admin.email });
    await waitFor(() => server.outbox.list().some((m) => m.to === admin.email && m.body.includes('/password/reset/')));
    const first = linkFromOutbox(server, admin.email, '/password/reset/');
    server.clock.advance(1000);
    await api.post('/password/forgot', { email: admin.email });
    await waitFor(() => linkFromOutbox(server, admin.email, '/password/reset/') !== first);
    const second = linkFromOutbox(server, admin.email, '/password/reset/');
    assert.equal((await api.post('/password/reset', { token: first, password: 'another good password' })).status, 410);
    server.clock.advance(24 * 3_600_000);
    const late = await api.post('/password/reset', { token: second, password: 'another good password' });
    assert.equal(late.status, 410);
    assert.equal((await api.post('/login', { email: admin.email, password: PASSWORD })).status, 200);
  });

  it('answers unknown, malformed and expired link tokens identically', async () => {
    const { api } = context();
    const unknown = await api.post('/password/reset', { token: 'A'.repeat(43), password: 'another good password' });
    const malformed = await api.post('/password/reset', { token: 'short', password: 'another good password' });
    assert.equal(unknown.status, 410);
    assert.equal(malformed.text, unknown.text);
  });
});
