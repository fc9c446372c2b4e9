/** Turning 2FA off: self-service, the admin's disable link (PRODUCT.md §2.5, §2.6; SECURITY.md rules 20-24). */
import assert from 'node:assert/strict';
import { it } from 'node:test';
import { inviteAndAccept, linkFromOutbox, logIn, PASSWORD, signUp, waitFor } from '../helpers/fixtures.ts';
import { forEachDatabase, type SuiteContext } from '../helpers/suites.ts';
import { currentCode, enrollAuthenticatorApp, nextStepCode, securityEvents } from '../helpers/two-factor.ts';

async function countSecondFactorRows(context: SuiteContext, userId: string): Promise<number> {
  const db = context.server.deps.db;
  const factors = await db.selectFrom('factors').select('id').where('user_id', '=', userId).execute();
  const codes = await db.selectFrom('recovery_codes').select('id').where('user_id', '=', userId).execute();
  return factors.length + codes.length;
}

/** An admin, and a user of the same account with the authenticator app on. */
async function adminAndEnrolledUser(context: SuiteContext) {
  const { api, server } = context;
  const admin = await signUp(api);
  const user = await inviteAndAccept(server, api, admin.token);
  const login = await logIn(api, user.email);
  const enrolled = await enrollAuthenticatorApp(server, api, login.token);
  return { admin, user, token: enrolled.token, secret: enrolled.secret };
}

async function disableLinkFor(context: SuiteContext, adminToken: string, userId: string, email: string): Promise<string> {
  const before = context.server.outbox.list().length;
  const sent = await context.api.post(`/account/users/${userId}/2fa-disable-link`, undefined, { token: adminToken });
  assert.equal(sent.status, 202, sent.text);
  await waitFor(() => context.server.outbox.list().length > before);
  const token = linkFromOutbox(context.server, email, '/2fa/disable/');
  assert.ok(!sent.text.includes(token) && !JSON.stringify([...sent.headers]).includes(token), 'the admin never sees the token');
  return token;
}

forEachDatabase('turning 2FA off', (context) => {
  it('lets a user turn 2FA off with their password: every factor and recovery code gone, every other session out, this one kept (PRODUCT.md §2.5), logged and e-mailed', async () => {
    const { api, server } = context();
    const { user, token, secret } = await adminAndEnrolledUser(context());
    const elsewhere = await api.post('/login/verify', { method: 'totp', code: nextStepCode(server, secret) }, { token: (await api.post('/login', { email: user.email, password: PASSWORD })).body.token });
    assert.equal(elsewhere.status, 200, elsewhere.text);
    assert.ok((await countSecondFactorRows(context(), user.userId)) > 0);
    const off = await api.delete('/me/2fa', { password: PASSWORD }, { token });
    assert.equal(off.status, 204, off.text);
    assert.equal(await countSecondFactorRows(context(), user.userId), 0);
    const me = await api.get('/me', { token });
    assert.equal(me.status, 200, 'the session that disabled stays signed in');
    assert.equal(me.body.twoFactor.enabled, false);
    assert.equal((await api.get('/me', { token: elsewhere.body.token })).status, 401, 'every other session is signed out');
    assert.equal((await securityEvents(server, user.userId, 'factor_removed')).length, 1);
    await waitFor(() => server.outbox.list().some((m) => m.to === user.email && /turned off/.test(m.subject ?? '')));
    assert.equal((await logIn(api, user.email)).state, 'authenticated', 'the next login asks for no code');
  });

  it('accepts a current code instead of the password, and refuses a wrong one with 401 counted as a guess', async () => {
    const { api, server } = context();
    const { user, token, secret } = await adminAndEnrolledUser(context());
    const wrong = await api.delete('/me/2fa', { code: currentCode(server, secret) === '000000' ? '111111' : '000000' }, { token });
    assert.equal(wrong.status, 401);
    assert.equal((await securityEvents(server, user.userId, 'second_factor_failed')).length, 1);
    const right = await api.delete('/me/2fa', { code: nextStepCode(server, secret) }, { token });
    assert.equal(right.status, 204, right.text);
  });

  it('refuses a wrong password and bad bodies and changes nothing', async () => {
    const { api } = context();
    const { user, token } = await adminAndEnrolledUser(context());
    const before = await countSecondFactorRows(context(), user.userId);
    assert.equal((await api.delete('/me/2fa', { password: 'not my password' }, { token })).status, 401);
    assert.equal((await api.delete('/me/2fa', { password: PASSWORD, code: '123456' }, { token })).status, 400);
    assert.equal((await api.delete('/me/2fa', {}, { token })).status, 400);
    assert.equal((await api.delete('/me/2fa', { password: PASSWORD, extra: 1 }, { token })).status, 400);
    assert.equal(await countSecondFactorRows(context(), user.userId), before);
  });

  it('refuses self-disable with 403 2fa_enforced while the account enforces 2FA', async () => {
    const { api, server } = context();
    const { admin, user, token } = await adminAndEnrolledUser(context());
    await server.deps.db.updateTable('accounts').set({ enforce_2fa: 1 }).where('id', '=', admin.accountId).execute();
    const refused = await api.delete('/me/2fa', { password: PASSWORD }, { token });
    assert.equal(refused.status, 403);
    assert.equal(refused.body.error, '2fa_enforced');
    assert.ok((await countSecondFactorRows(context(), user.userId)) > 0);
  });

  it('e-mails the user a disable link that works once with their password, revokes sessions and sets none', async () => {
    const { api, server } = context();
    const { admin, user, token } = await adminAndEnrolledUser(context());
    const linkToken = await disableLinkFor(context(), admin.token, user.userId, user.email);
    const mail = server.outbox.list().find((m) => m.to === user.email && m.body.includes('/2fa/disable/'))!;
    assert.ok(mail.body.startsWith(`Hello`) && mail.body.includes(`${server.url}/2fa/disable/`));
    assert.ok(!server.outbox.list().some((m) => m.to === admin.email && m.body.includes(linkToken)), 'the admin is not e-mailed the link');
    const log = await api.get('/account/security-log', { token: admin.token });
    assert.ok(!log.text.includes(linkToken), 'the token is not in the security log');
    assert.ok(!server.logLines.filter((l) => !l.includes('"outbox":true')).some((l) => l.includes(linkToken)), 'nor in the server log');

    const wrong = await api.post(`/2fa/disable-links/${linkToken}`, { password: 'not my password' });
    assert.equal(wrong.status, 401, 'a wrong password does not use the link up');
    const used = await api.post(`/2fa/disable-links/${linkToken}`, { password: PASSWORD });
    assert.equal(used.status, 204);
    assert.equal(used.headers.get('set-cookie'), null, 'no session is created');
    assert.equal(await countSecondFactorRows(context(), user.userId), 0);
    assert.equal((await api.get('/me', { token })).status, 401);
    assert.equal((await securityEvents(server, user.userId, 'disable_link_used')).length, 1);
    const again = await api.post(`/2fa/disable-links/${linkToken}`, { password: PASSWORD });
    assert.equal(again.status, 410);
    assert.equal(again.body.error, 'link_expired');
  });

  it('sends a user of an enforcing account back to setup at the next login after the link, and never lets another user\'s password use it', async () => {
    const { api, server } = context();
    const { admin, user } = await adminAndEnrolledUser(context());
    const other = await inviteAndAccept(server, api, admin.token);
    const adminEnrolled = await enrollAuthenticatorApp(server, api, admin.token);
    assert.equal((await api.patch('/account', { enforce2fa: true }, { token: adminEnrolled.token })).status, 200);
    const linkToken = await disableLinkFor(context(), adminEnrolled.token, user.userId, user.email);
    const otherPassword = await server.deps.hasher.hashPassword('the other user password');
    assert.ok(otherPassword.ok);
    await server.deps.db.updateTable('users').set({ password_hash: otherPassword.value }).where('id', '=', other.userId).execute();
    assert.equal((await api.post(`/2fa/disable-links/${linkToken}`, { password: 'the other user password' })).status, 401, 'only the password of the user the link was sent to works');
    assert.equal((await api.post(`/2fa/disable-links/${linkToken}`, { password: PASSWORD })).status, 204);
    const login = await api.post('/login', { email: user.email, password: PASSWORD });
    assert.equal(login.body.state, 'enrollment_required');
  });

  it('uses a disable link exactly once when it is posted ten times at once', async () => {
    const { api, server } = context();
    const { admin, user } = await adminAndEnrolledUser(context());
    const linkToken = await disableLinkFor(context(), admin.token, user.userId, user.email);
    const answers = await Promise.all(Array.from({ length: 10 }, () => api.post(`/2fa/disable-links/${linkToken}`, { password: PASSWORD })));
    assert.equal(answers.filter((a) => a.status === 204).length, 1);
    assert.ok(answers.every((a) => a.status === 204 || a.status === 410));
    assert.equal((await securityEvents(server, user.userId, 'disable_link_used')).length, 1);
  });

  it('answers expired, used, superseded and unknown links identically with 410', async () => {
    const { api, server } = context();
    const { admin, user } = await adminAndEnrolledUser(context());
    const first = await disableLinkFor(context(), admin.token, user.userId, user.email);
    server.clock.advance(1000);
    const second = await disableLinkFor(context(), admin.token, user.userId, user.email);
    assert.notEqual(first, second);
    const superseded = await api.post(`/2fa/disable-links/${first}`, { password: PASSWORD });
    const unknown = await api.post(`/2fa/disable-links/${'B'.repeat(43)}`, { password: PASSWORD });
    server.clock.advance(24 * 3_600_000);
    const expired = await api.post(`/2fa/disable-links/${second}`, { password: PASSWORD });
    for (const answer of [superseded, unknown, expired]) {
      assert.equal(answer.status, 410);
      assert.equal(answer.text, unknown.text);
    }
    assert.ok((await countSecondFactorRows(context(), user.userId)) > 0);
  });

  it('voids an outstanding disable link when the user enrols again', async () => {
    const { api, server } = context();
    const { admin, user, token } = await adminAndEnrolledUser(context());
    const linkToken = await disableLinkFor(context(), admin.token, user.userId, user.email);
    server.clock.advance(60_000);
    const replaced = await enrollAuthenticatorApp(server, api, token);
    assert.ok(replaced.secret);
    assert.equal((await api.post(`/2fa/disable-links/${linkToken}`, { password: PASSWORD })).status, 410);
  });

  it('sends links only for users of the admin\'s own account who have 2FA, with a recent login, at most 3 an hour', async () => {
    const { api, server } = context();
    const { admin, user } = await adminAndEnrolledUser(context());
    const other = await signUp(api);
    assert.equal((await api.post(`/account/users/${other.userId}/2fa-disable-link`, undefined, { token: admin.token })).status, 404);
    const plain = await inviteAndAccept(server, api, admin.token);
    const noFactor = await api.post(`/account/users/${plain.userId}/2fa-disable-link`, undefined, { token: admin.token });
    assert.equal(noFactor.status, 409);
    assert.equal(noFactor.body.error, 'two_factor_not_enabled');
    const userLogin = await api.post('/login', { email: user.email, password: PASSWORD });
    assert.equal((await api.post(`/account/users/${admin.userId}/2fa-disable-link`, undefined, { token: userLogin.body.token })).status, 401, 'a half-logged-in user reaches nothing');
    for (let i = 0; i < 3; i += 1) assert.equal((await api.post(`/account/users/${user.userId}/2fa-disable-link`, undefined, { token: admin.token })).status, 202);
    const fourth = await api.post(`/account/users/${user.userId}/2fa-disable-link`, undefined, { token: admin.token });
    assert.equal(fourth.status, 429);
    assert.ok(Number(fourth.headers.get('retry-after')) > 0);
    server.clock.advance(15 * 60_000 + 1);
    server.clock.advance(3_600_000);
    const stale = await api.post(`/account/users/${user.userId}/2fa-disable-link`, undefined, { token: admin.token });
    assert.equal(stale.status, 403);
    assert.equal(stale.body.error, 'reauthentication_required');
  });

  it('lets a user with two methods remove one and keep the other, but not the last one that way', async () => {
    const { api, server } = context();
    const { user, token } = await adminAndEnrolledUser(context());
    const last = await api.delete('/me/2fa/methods/totp', { password: PASSWORD }, { token });
    assert.equal(last.status, 409);
    assert.equal(last.body.error, 'last_method');
    assert.equal((await api.delete('/me/2fa/methods/sms', { password: PASSWORD }, { token })).status, 409);
    assert.ok((await countSecondFactorRows(context(), user.userId)) > 0);
    assert.equal((await api.delete('/me/2fa/methods/fax', { password: PASSWORD }, { token })).status, 400);
    void server;
  });
});
