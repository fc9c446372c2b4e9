/**
 * Trusted browsers through the pages and OpenID Connect (PRODUCT.md §2.11, §2.13; SECURITY.md
 * rules 39 and 42), on SQLite and PostgreSQL: the checkbox shows the account's days; a trusted
 * login is password-level only, so an application that asks for a second factor gets the code
 * asked for, and one that does not is told acr pwd — never mfa.
 */
import assert from 'node:assert/strict';
import { it } from 'node:test';
import { FormSession } from '../helpers/browser.ts';
import { PASSWORD, signUp } from '../helpers/fixtures.ts';
import { authorizationRequest, callbackOf, exchange, registerClient, signInThroughPages, submit } from '../helpers/oidc.ts';
import type { TestServer } from '../helpers/server.ts';
import { forEachDatabase } from '../helpers/suites.ts';
import { enrollAuthenticatorApp, nextStepCode } from '../helpers/two-factor.ts';
import type { APIClient } from '../helpers/http.ts';

const TRUST_COOKIE = 'twofold_trusted_browser';

/** A user with the app, and a browser that logged in through the pages with "Trust this browser" ticked, then logged out. */
async function trustingBrowser(server: TestServer, api: APIClient): Promise<{ email: string; secret: string; browser: FormSession }> {
  const user = await signUp(api);
  const { secret } = await enrollAuthenticatorApp(server, api, user.token);
  const browser = new FormSession(server);
  const afterPassword = await browser.post('/login', { email: user.email, password: PASSWORD });
  assert.equal(afterPassword.location, '/login/verify');
  const page = await browser.get('/login/verify');
  assert.match(page.text, /Trust this browser for 30 days/);
  const verified = await browser.post('/login/verify', { method: 'totp', code: nextStepCode(server, secret), trustBrowser: 'on' });
  assert.equal(verified.status, 303, verified.text);
  assert.ok(browser.cookie(TRUST_COOKIE), 'the trusted-browser cookie is set');
  assert.equal((await browser.post('/logout', {}, { formPage: '/user' })).status, 303);
  return { email: user.email, secret, browser };
}

forEachDatabase('trusted browsers through the pages and OpenID Connect', (context) => {
  it('after logging out, the trusted browser logs in with the password only; the recovery-code form offers no trust', async () => {
    const { server, api } = context();
    const { email, browser } = await trustingBrowser(server, api);
    const again = await browser.post('/login', { email, password: PASSWORD });
    assert.equal(again.location, '/user', 'no Verification Code step');
    const user = await browser.get('/user');
    assert.match(user.text, /Trusted browsers/);
    assert.match(user.text, /Remove all/);

    const fresh = new FormSession(server);
    await fresh.post('/login', { email, password: PASSWORD });
    assert.doesNotMatch((await fresh.get('/login/verify?method=recovery')).text, /Trust this browser/);
  });

  it('"Remove all" on User Details: the next login from that browser asks for the code again', async () => {
    const { server, api } = context();
    const { email, secret, browser } = await trustingBrowser(server, api);
    assert.equal((await browser.post('/login', { email, password: PASSWORD })).location, '/user');
    assert.equal((await browser.post('/user/trusted-browsers/remove-all', {}, { formPage: '/user' })).status, 303);
    assert.match((await browser.get('/user')).text, /No browser is trusted/);
    await browser.post('/logout', {}, { formPage: '/user' });
    assert.equal((await browser.post('/login', { email, password: PASSWORD })).location, '/login/verify');
    assert.equal((await browser.post('/login/verify', { method: 'totp', code: nextStepCode(server, secret) })).status, 303);
  });

  it('with the account set to 0 days the checkbox is not shown', async () => {
    const { server, api } = context();
    const user = await signUp(api);
    const { token } = await enrollAuthenticatorApp(server, api, user.token);
    assert.equal((await api.patch('/account/policy', { trustedBrowserDays: 0 }, { token })).status, 200);
    const browser = new FormSession(server);
    await browser.post('/login', { email: user.email, password: PASSWORD });
    assert.doesNotMatch((await browser.get('/login/verify')).text, /Trust this browser/);
  });

  it('a trusted login reaches an application as acr pwd / amr pwd, never mfa (rule 39)', async () => {
    const { server, api } = context();
    const { email, browser } = await trustingBrowser(server, api);
    const client = await registerClient(server);
    const attempt = await authorizationRequest(client);
    const callback = callbackOf(await signInThroughPages(server, browser, attempt, email, PASSWORD));
    const claims = (await exchange(client, attempt, callback)).claims()!;
    assert.equal(claims.acr, 'pwd');
    assert.deepEqual(claims.amr, ['pwd']);
  });

  it('a --require-2fa application is never satisfied by the trust: the login asks for the code, then the token says mfa', async () => {
    const { server, api } = context();
    const { email, secret, browser } = await trustingBrowser(server, api);
    const client = await registerClient(server, { require2FA: true });
    const attempt = await authorizationRequest(client);
    const afterTrust = await signInThroughPages(server, browser, attempt, email, PASSWORD);
    assert.equal(afterTrust.kind, 'page', 'no code for the application yet');
    const page = afterTrust as { path: string; text: string };
    assert.match(page.text, /log in again with your second factor/);
    const action = /<form method="post" action="([^"]+)"/.exec(page.text)![1]!.replace(/&amp;/g, '&');
    assert.match(action, /secondFactor=required/);
    const atVerify = await submit(server, browser, action, { email, password: PASSWORD, _csrf: /name="_csrf" value="([^"]+)"/.exec(page.text)![1]! });
    assert.equal(atVerify.kind, 'page');
    assert.match((atVerify as { path: string }).path, /^\/login\/verify/, 'the code is asked although the browser is trusted');
    const callback = callbackOf(await submit(server, browser, (atVerify as { path: string }).path, { method: 'totp', code: nextStepCode(server, secret) }));
    const claims = (await exchange(client, attempt, callback)).claims()!;
    assert.equal(claims.acr, 'mfa');
    assert.ok((claims.amr as string[]).includes('mfa'));
  });

  it('acr_values=mfa is not satisfied by the trust either', async () => {
    const { server, api } = context();
    const { email, browser } = await trustingBrowser(server, api);
    const client = await registerClient(server);
    const attempt = await authorizationRequest(client, { acr_values: 'mfa' });
    const stop = await signInThroughPages(server, browser, attempt, email, PASSWORD);
    assert.equal(stop.kind, 'page');
    assert.match((stop as { text: string }).text, /log in again with your second factor/);
  });

  it('an admin sets the days on Account Information; a value outside 0–90 is a 400 with a clear message and changes nothing', async () => {
    const { server, api } = context();
    const admin = await signUp(api);
    const browser = new FormSession(server);
    assert.equal((await browser.post('/login', { email: admin.email, password: PASSWORD })).location, '/user');
    const page = await browser.get('/settings/account');
    assert.match(page.text, /Days a trusted browser skips the code/);
    for (const bad of ['91', '-1', 'ten', '']) {
      const refused = await browser.post('/settings/account/trusted-browsers', { trustedBrowserDays: bad }, { formPage: '/settings/account' });
      assert.equal(refused.status, 400, bad);
      assert.match(refused.text, /Enter a whole number of days from 0 to 90/);
    }
    const saved = await browser.post('/settings/account/trusted-browsers', { trustedBrowserDays: '14' }, { formPage: '/settings/account' });
    assert.equal(saved.status, 200);
    assert.match(saved.text, /Trusted browsers saved: 14 days/);
    assert.equal((await api.get('/account/policy', { token: admin.token })).body.trustedBrowserDays, 14);
  });
});
