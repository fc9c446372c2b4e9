/**
 * "Trust this browser" in Chromium (PRODUCT.md §2.11; issue 16): a login with the box ticked, a
 * log out, and the next login asks only for the password; "Remove all" on User Details, and the
 * code is asked again.
 */
import assert from 'node:assert/strict';
import { it } from 'node:test';
import { browserSuite, logInInBrowser, submitForm } from '../helpers/browser.ts';
import { signUp } from '../helpers/fixtures.ts';
import { apiClient } from '../helpers/http.ts';
import { enrollAuthenticatorApp, nextStepCode } from '../helpers/two-factor.ts';

browserSuite('trusted browsers in a browser', (context) => {
  it('trust this browser, log out, log in again with the password only; "Remove all" and the code is asked again', async () => {
    const { server } = context();
    const api = apiClient(server.url);
    const { email, token } = await signUp(api);
    const { secret } = await enrollAuthenticatorApp(server, api, token);
    const page = await context().newPage();

    assert.equal(await logInInBrowser(page, email), 303);
    await page.waitForURL('**/login/verify');
    await page.getByLabel('Verification code', { exact: true }).fill(nextStepCode(server, secret));
    await page.getByLabel('Trust this browser for 30 days', { exact: true }).check();
    assert.equal(await submitForm(page, 'Continue'), 303);
    await page.waitForURL('**/user');
    const trustCookie = (await page.context().cookies()).find((cookie) => cookie.name === 'twofold_trusted_browser');
    assert.ok(trustCookie, 'the trusted-browser cookie is set');
    assert.equal(trustCookie.httpOnly, true);
    assert.equal(trustCookie.sameSite, 'Lax');

    const section = page.locator('section', { has: page.getByRole('heading', { name: 'Trusted browsers' }) });
    assert.match(await section.innerText(), /HeadlessChrome|Chrome/);

    await page.getByRole('button', { name: 'Log out' }).click();
    await page.waitForURL('**/login');
    assert.equal(await logInInBrowser(page, email), 303);
    await page.waitForURL('**/user');
    await page.getByRole('heading', { name: 'User Details' }).waitFor();

    assert.equal(await submitForm(page, 'Remove all'), 303);
    await page.waitForURL('**/user');
    assert.match(await section.innerText(), /No browser is trusted/);
    await page.getByRole('button', { name: 'Log out' }).click();
    await page.waitForURL('**/login');
    assert.equal(await logInInBrowser(page, email), 303);
    await page.waitForURL('**/login/verify');
    await page.getByRole('heading', { name: 'Verification Code' }).waitFor();
  });
});
