/**
 * "You were signed out because …" (issue 17) on both databases: each way a session is ended by
 * someone or something else leaves its reason for that browser's next page, said once; the
 * holder's own logout says nothing; and the reason is forgotten once the session would have
 * expired anyway.
 */
import assert from 'node:assert/strict';
import { it } from 'node:test';
import { FormSession } from '../helpers/browser.ts';
import { inviteAndAccept, logIn, PASSWORD, signUp } from '../helpers/fixtures.ts';
import type { TestServer } from '../helpers/server.ts';
import { forEachDatabase } from '../helpers/suites.ts';
import { enrollAuthenticatorApp } from '../helpers/two-factor.ts';

async function signedInBrowser(server: TestServer, email: string): Promise<FormSession> {
  const browser = new FormSession(server);
  const answer = await browser.post('/login', { email, password: PASSWORD });
  assert.equal(answer.status, 303, answer.text);
  assert.equal((await browser.get('/user')).status, 200);
  return browser;
}

/** The next page of a browser whose session ended: the login page, and what it says. */
async function nextPageSays(browser: FormSession): Promise<string | null> {
  const refused = await browser.get('/user');
  assert.equal(refused.status, 303);
  const login = await browser.get(refused.location!);
  return /<p class="notice" role="status">([^<]*)<\/p>/.exec(login.text)?.[1] ?? null;
}

forEachDatabase('Why a browser was signed out', (context) => {
  it('an administrator deactivating the user', async () => {
    const { server, api } = context();
    const admin = await signUp(api);
    const member = await inviteAndAccept(server, api, admin.token);
    const browser = await signedInBrowser(server, member.email);
    assert.equal((await api.patch(`/account/users/${member.userId}`, { active: false }, { token: admin.token })).status, 200);
    assert.equal(await nextPageSays(browser), 'You were signed out because an administrator deactivated your access.');
  });

  it('two-factor authentication turned off in another session; a new method added in another session', async () => {
    const { server, api } = context();
    const admin = await signUp(api);
    const browser = await signedInBrowser(server, admin.email);
    const enrolled = await enrollAuthenticatorApp(server, api, (await logIn(api, admin.email)).token);
    assert.equal(await nextPageSays(browser), 'You were signed out because a new two-factor method was added to your account.');

    const other = new FormSession(server);
    await other.post('/login', { email: admin.email, password: PASSWORD });
    assert.equal((await api.delete('/me/2fa', { password: PASSWORD }, { token: enrolled.token })).status, 204);
    const refused = await other.get('/login/verify');
    assert.equal(refused.status, 303);
    const login = await other.get('/login');
    assert.match(login.text, /You were signed out because two-factor authentication was turned off for your account\./);
  });

  it('says nothing after the holder logs out, and nothing once the session would have expired anyway', async () => {
    const { server, api } = context();
    const admin = await signUp(api);
    const browser = await signedInBrowser(server, admin.email);
    const cookie = browser.cookie('twofold_session')!;
    assert.equal((await browser.post('/logout', {}, { formPage: '/user' })).status, 303);
    browser.setCookie('twofold_session', cookie);
    assert.equal(await nextPageSays(browser), null, 'a logout is no surprise');

    const late = await signedInBrowser(server, admin.email);
    assert.equal((await api.post('/me/password', { currentPassword: PASSWORD, newPassword: 'yet another passphrase' }, { token: (await logIn(api, admin.email)).token })).status, 204);
    const week = server.config.policy.sessionAbsoluteMs;
    server.clock.advance(week);
    try {
      assert.equal(await nextPageSays(late), null);
    } finally {
      server.clock.advance(-week);
    }
  });
});
