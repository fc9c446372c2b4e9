/**
 * Enrollment paths beyond the first happy one, in a real browser: a user whose account enforces
 * 2FA is held on User Details until the app is confirmed and then lands fully logged in under a
 * new session token (PRODUCT.md §2.2 step 3, SECURITY.md rule 9); without JavaScript an
 * expired QR code is refused with a clear message and a fresh one (§2.3 step 3); replacing the
 * app on a new phone asks for the password again when the login is not recent (rule 28).
 */
import assert from 'node:assert/strict';
import { it } from 'node:test';
import { apiClient } from '../helpers/http.ts';
import { PASSWORD, signUp } from '../helpers/fixtures.ts';
import { browserSuite, logInInBrowser, submitForm } from '../helpers/browser.ts';
import { currentCode, enrollAuthenticatorApp, nextStepCode } from '../helpers/two-factor.ts';
import { confirmWithCode, decodeQRCodeOnPage, openAppEnrollment, recoveryCodesOnPage, secretOnPage, sessionCookie } from './two-factor-helpers.ts';

browserSuite('Mobile App enrollment paths in a browser', (context) => {
  it('sends a user whose account enforces 2FA to User Details, and confirming the app completes the login', async () => {
    const { server } = context();
    const admin = await signUp(apiClient(server.url));
    // Set directly: the Account Settings page rightly refuses an admin without 2FA of their
    // own, and this test is about the admin who has to set it up.
    await server.deps.db.updateTable('accounts').set({ enforce_2fa: 1 }).where('id', '=', admin.accountId).execute();
    const page = await context().newPage();

    assert.equal(await logInInBrowser(page, admin.email), 303);
    await page.waitForURL('**/user');
    await page.getByText('Your account administrator requires two-factor authentication').waitFor();
    await page.goto('/settings/account');
    await page.waitForURL('**/user');
    const enrolling = await sessionCookie(page);

    await page.locator('#two-factor-enrollment').getByRole('button', { name: 'Mobile App' }).click();
    await page.getByRole('button', { name: 'Android' }).click();
    const apps = await page.getByRole('list').filter({ hasText: 'Aegis' }).getByRole('listitem').allInnerTexts();
    assert.deepEqual(apps, ['Google Authenticator', 'Microsoft Authenticator', 'Aegis', 'FreeOTP']);
    assert.equal(await submitForm(page, 'Continue'), 200);
    const secret = await secretOnPage(page);
    assert.equal(await confirmWithCode(page, server, secret), 200);
    assert.equal((await recoveryCodesOnPage(page)).length, 10);
    const complete = await sessionCookie(page);
    assert.ok(complete && enrolling && complete !== enrolling, 'a new session token once the login is complete');

    await page.getByRole('link', { name: 'Continue' }).click();
    await page.waitForURL('**/user');
    await page.goto('/settings/account');
    await page.getByRole('heading', { name: 'Account Information' }).waitFor();
    const sessions = await server.deps.db.selectFrom('sessions').select('state').where('user_id', '=', admin.userId).execute();
    assert.deepEqual(sessions.map((session) => session.state), ['complete']);
  });

  it('without JavaScript, confirming an expired QR code says so and shows a fresh one that works', async () => {
    const { server } = context();
    const { email } = await signUp(apiClient(server.url));
    const browserContext = await context().browser.newContext({ baseURL: server.url, javaScriptEnabled: false });
    try {
      const page = await browserContext.newPage();
      assert.equal(await logInInBrowser(page, email), 303);
      await openAppEnrollment(page, 'iPhone');
      const oldSecret = await secretOnPage(page);
      server.clock.advance(server.config.policy.totpEnrollmentMs + 1000);

      assert.equal(await confirmWithCode(page, server, oldSecret), 410);
      assert.equal(await page.getByRole('alert').innerText(), 'This QR code has expired. Scan the new one.');
      const newSecret = await secretOnPage(page);
      assert.notEqual(newSecret, oldSecret);
      assert.match(await decodeQRCodeOnPage(page), new RegExp(`[?&]secret=${newSecret}&`));
      assert.equal(await page.getByLabel('Confirm', { exact: true }).inputValue(), '');

      assert.equal(await confirmWithCode(page, server, newSecret), 200);
      assert.equal((await recoveryCodesOnPage(page)).length, 10);
    } finally {
      await browserContext.close();
    }
  });

  it('a wrong code keeps the pending enrollment: typing the right one next still confirms it', async () => {
    const { server } = context();
    const { email } = await signUp(apiClient(server.url));
    const page = await context().newPage();
    assert.equal(await logInInBrowser(page, email), 303);
    await openAppEnrollment(page, 'iPhone');
    const secret = await secretOnPage(page);
    await page.getByLabel('Confirm', { exact: true }).fill('000000' === currentCode(server, secret) ? '111111' : '000000');
    assert.equal(await submitForm(page, 'Confirm'), 401);
    assert.equal(await page.getByRole('alert').innerText(), 'The code is not valid. Check it and try again.');
    // The QR code and key stay in view (issue 17): the person may not have scanned it yet.
    await page.getByRole('img', { name: 'QR code' }).waitFor();
    assert.equal(await secretOnPage(page), secret);
    await page.getByLabel('Confirm', { exact: true }).fill('12 34');
    assert.equal(await submitForm(page, 'Confirm'), 400);
    assert.equal(await page.getByRole('alert').innerText(), 'Enter the six-digit code your authenticator app shows.');
    assert.equal(await confirmWithCode(page, server, secret), 200);
    await recoveryCodesOnPage(page);
  });

  it('setting up a new phone asks for the password when the login is not recent, and the old app works until the new one is confirmed', async () => {
    const { server } = context();
    const api = apiClient(server.url);
    const { email, token } = await signUp(api);
    const { secret: oldSecret } = await enrollAuthenticatorApp(server, api, token);
    const page = await context().newPage();
    assert.equal(await logInInBrowser(page, email), 303);
    await page.getByLabel('Verification code', { exact: true }).fill(nextStepCode(server, oldSecret));
    assert.equal(await submitForm(page, 'Continue'), 303);
    await page.waitForURL('**/user');

    server.clock.advance(server.config.policy.recentAuthenticationMs + 60_000);
    await page.getByRole('button', { name: 'Set up on a new phone' }).click();
    await page.getByRole('button', { name: 'iPhone' }).click();
    assert.equal(await page.getByRole('button', { name: 'Continue' }).count(), 0, 'the password comes first');
    await page.getByLabel('Password', { exact: true }).fill(PASSWORD);
    assert.equal(await submitForm(page, 'Confirm'), 303);
    await page.waitForURL('**/user/two-factor/app?os=iphone');
    assert.equal(await submitForm(page, 'Continue'), 200);
    const newSecret = await secretOnPage(page);

    const loginWithOld = await api.post('/login/verify', { method: 'totp', code: nextStepCode(server, oldSecret) }, { token: (await api.post('/login', { email, password: PASSWORD })).body.token });
    assert.equal(loginWithOld.status, 200, 'the current app keeps working while the new one is pending');
    assert.equal(await confirmWithCode(page, server, newSecret), 200);
    await recoveryCodesOnPage(page);
    const loginWithNew = await api.post('/login/verify', { method: 'totp', code: nextStepCode(server, newSecret) }, { token: (await api.post('/login', { email, password: PASSWORD })).body.token });
    assert.equal(loginWithNew.status, 200, loginWithNew.text);
  });
});
