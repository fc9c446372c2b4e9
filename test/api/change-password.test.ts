/**
 * Change password (issue 17) on both databases, through the API and the page: the current password
 * is checked and counts toward the failed-password limit; the new one meets the policy and the
 * blocklist and is not the current one; other sessions end (with the reason kept for their
 * browsers) and this one stays; disable links sent under the old password are void; a security
 * notice is e-mailed; the security log says password_reset {change: true}. And the session cookie
 * lasts: Max-Age is what is left of the session's absolute lifetime.
 */
import assert from 'node:assert/strict';
import { it } from 'node:test';
import { FormSession } from '../helpers/browser.ts';
import { inviteAndAccept, logIn, PASSWORD, signUp, waitFor } from '../helpers/fixtures.ts';
import { forEachDatabase } from '../helpers/suites.ts';
import { enrollAuthenticatorApp, nextStepCode } from '../helpers/two-factor.ts';

const NEW_PASSWORD = 'a brand new passphrase';

function maxAgeOf(setCookie: string[]): number | null {
  const line = setCookie.find((cookie) => cookie.startsWith('twofold_session='));
  const match = line ? /;\s*Max-Age=(\d+)/i.exec(line) : null;
  return match ? Number(match[1]) : null;
}

forEachDatabase('Change password', (context) => {
  it('refuses a wrong current password (401 invalid_credentials), a weak, common or unchanged new one (400 weak_password), and changes nothing', async () => {
    const { api } = context();
    const admin = await signUp(api);
    const wrong = await api.post('/me/password', { currentPassword: 'not my password', newPassword: NEW_PASSWORD }, { token: admin.token });
    assert.equal(wrong.status, 401);
    assert.equal(wrong.body.error, 'invalid_credentials');
    const short = await api.post('/me/password', { currentPassword: PASSWORD, newPassword: 'short' }, { token: admin.token });
    assert.equal(short.status, 400);
    assert.equal(short.body.error, 'weak_password');
    const common = await api.post('/me/password', { currentPassword: PASSWORD, newPassword: 'password123' }, { token: admin.token });
    assert.equal(common.status, 400);
    assert.match(common.body.message, /too common/);
    const same = await api.post('/me/password', { currentPassword: PASSWORD, newPassword: PASSWORD }, { token: admin.token });
    assert.equal(same.status, 400);
    assert.equal(same.body.error, 'weak_password');
    assert.match(same.body.message, /same as the current one/);
    for (const body of [{}, { currentPassword: PASSWORD }, { currentPassword: PASSWORD, newPassword: NEW_PASSWORD, extra: 1 }, { currentPassword: 5, newPassword: NEW_PASSWORD }]) {
      const bad = await api.post('/me/password', body, { token: admin.token });
      assert.equal(bad.status, 400, JSON.stringify(body));
      assert.equal(bad.body.error, 'invalid_request');
    }
    assert.equal((await api.post('/me/password', { currentPassword: PASSWORD, newPassword: NEW_PASSWORD })).status, 401, 'needs a session');
    await logIn(api, admin.email, PASSWORD);
  });

  it('wrong current passwords count toward the failed-password limit: the 11th try is 429 even with the right one', async () => {
    const { api } = context();
    const admin = await signUp(api);
    for (let i = 0; i < 10; i += 1) assert.equal((await api.post('/me/password', { currentPassword: `wrong ${i}`, newPassword: NEW_PASSWORD }, { token: admin.token })).status, 401);
    const locked = await api.post('/me/password', { currentPassword: PASSWORD, newPassword: NEW_PASSWORD }, { token: admin.token });
    assert.equal(locked.status, 429);
    assert.ok(locked.headers.get('retry-after'));
    assert.equal((await api.post('/login', { email: admin.email, password: PASSWORD })).status, 429, 'the same lock as the login');
  });

  it('signs out every other session and keeps this one; the new password logs in; notice, log and disable links follow', async () => {
    const { server, api } = context();
    const admin = await signUp(api);
    const member = await inviteAndAccept(server, api, admin.token);
    const here = await logIn(api, member.email);
    const elsewhere = await logIn(api, member.email);
    const browser = new FormSession(server);
    await browser.post('/login', { email: member.email, password: PASSWORD });
    assert.equal((await browser.get('/user')).status, 200);

    const changed = await api.post('/me/password', { currentPassword: PASSWORD, newPassword: NEW_PASSWORD }, { token: here.token });
    assert.equal(changed.status, 204, changed.text);
    assert.equal((await api.get('/me', { token: here.token })).status, 200, 'this session stays');
    assert.equal((await api.get('/me', { token: elsewhere.token })).status, 401, 'another session ends');
    assert.equal((await api.post('/login', { email: member.email, password: PASSWORD })).status, 401, 'the old password no longer works');
    await logIn(api, member.email, NEW_PASSWORD);

    // The other browser's next page says why.
    const next = await browser.get('/user');
    assert.equal(next.status, 303);
    const login = await browser.get(next.location!);
    assert.match(login.text, /You were signed out because your password was changed\./);
    assert.doesNotMatch((await browser.get('/login')).text, /You were signed out/, 'said once: the dead cookie is cleared');

    await waitFor(() => server.outbox.list().some((m) => m.to === member.email && m.subject === 'The password of your Twofold account was changed'));
    const notice = server.outbox.list().find((m) => m.to === member.email && m.subject === 'The password of your Twofold account was changed')!;
    assert.doesNotMatch(notice.body, new RegExp(NEW_PASSWORD));
    const event = await server.deps.db.selectFrom('security_events').selectAll().where('subject_user_id', '=', member.userId).where('type', '=', 'password_reset').executeTakeFirstOrThrow();
    assert.deepEqual(JSON.parse(event.detail), { change: true });
    const user = await server.deps.db.selectFrom('users').select('password_version').where('id', '=', member.userId).executeTakeFirstOrThrow();
    assert.equal(Number(user.password_version), 2, 'invitation set version 1, the change version 2: disable links sent before are void');
  });

  it('two concurrent changes with the same current password: exactly one wins', async () => {
    const { api } = context();
    const admin = await signUp(api);
    const results = await Promise.all(
      ['first new passphrase', 'second new passphrase', 'third new passphrase'].map((newPassword) => api.post('/me/password', { currentPassword: PASSWORD, newPassword }, { token: admin.token })),
    );
    const statuses = results.map((result) => result.status).sort();
    assert.deepEqual(statuses, [204, 401, 401], JSON.stringify(results.map((r) => r.body)));
    const winner = ['first new passphrase', 'second new passphrase', 'third new passphrase'][results.findIndex((result) => result.status === 204)]!;
    await logIn(api, admin.email, winner);
  });

  it('the page: "Current password", "New password", "Change password"; a wrong one re-renders with 401; success returns to User Details', async () => {
    const { server, api } = context();
    const admin = await signUp(api);
    const browser = new FormSession(server);
    await browser.post('/login', { email: admin.email, password: PASSWORD });
    assert.match((await browser.get('/user')).text, /href="\/user\/password">Change password</);
    const form = await browser.get('/user/password');
    assert.match(form.text, /<label for="field-currentPassword">Current password<\/label>/);
    assert.match(form.text, /<label for="field-newPassword">New password<\/label>/);
    const wrong = await browser.post('/user/password', { currentPassword: 'nope nope nope', newPassword: NEW_PASSWORD });
    assert.equal(wrong.status, 401);
    assert.match(wrong.text, /The current password is incorrect/);
    const weak = await browser.post('/user/password', { currentPassword: PASSWORD, newPassword: 'short' });
    assert.equal(weak.status, 400);
    const done = await browser.post('/user/password', { currentPassword: PASSWORD, newPassword: NEW_PASSWORD });
    assert.equal(done.status, 303);
    assert.match((await browser.get(done.location!)).text, /Your password was changed/);
  });

  it('the session cookie has Max-Age = what is left of the absolute lifetime (7 days by default), also after the second step', async () => {
    const { server, api } = context();
    const admin = await signUp(api);
    const browser = new FormSession(server);
    const loggedIn = await browser.post('/login', { email: admin.email, password: PASSWORD });
    const maxAge = maxAgeOf(loggedIn.headers.getSetCookie());
    assert.equal(maxAge, server.config.policy.sessionAbsoluteMs / 1000);
    assert.equal(maxAge, 7 * 24 * 3600);
    const line = loggedIn.headers.getSetCookie().find((cookie) => cookie.startsWith('twofold_session='))!;
    assert.match(line, /HttpOnly/i);
    assert.match(line, /SameSite=Lax/i);

    const signup = await new FormSession(server).post('/signup', { accountName: 'Beta', name: 'Bea', email: `bea-${Date.now()}@example.com`, password: PASSWORD });
    assert.equal(maxAgeOf(signup.headers.getSetCookie()), 7 * 24 * 3600, 'sign-up too');

    // The second step swaps the token but not the session's start: the cookie lives as long as the session can.
    const { secret } = await enrollAuthenticatorApp(server, api, admin.token);
    const twoStep = new FormSession(server);
    const loginAt = server.clock.now();
    assert.equal((await twoStep.post('/login', { email: admin.email, password: PASSWORD })).location, '/login/verify');
    server.clock.advance(4 * 60_000);
    const verified = await twoStep.post('/login/verify', { method: 'totp', code: nextStepCode(server, secret) });
    assert.equal(verified.status, 303, verified.text);
    const elapsedSeconds = (server.clock.now() - loginAt) / 1000;
    assert.ok(elapsedSeconds >= 4 * 60);
    assert.equal(maxAgeOf(verified.headers.getSetCookie()), 7 * 24 * 3600 - elapsedSeconds);
  });
});
