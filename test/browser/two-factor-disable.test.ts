/** "Disable Two Factor" on User Details (PRODUCT.md §2.5) in a browser. */
import assert from 'node:assert/strict';
import { it } from 'node:test';
import { inviteAndAccept, logIn, PASSWORD, uniqueEmail } from '../helpers/fixtures.ts';
import { apiClient } from '../helpers/http.ts';
import { browserSuite, logInInBrowser, signUpInBrowser, submitForm } from '../helpers/browser.ts';
import { enrollAuthenticatorApp, nextStepCode } from '../helpers/two-factor.ts';

browserSuite('disabling your own 2FA in a browser', (context) => {
  it('turns 2FA off with the password from User Details, stays signed in (PRODUCT.md §2.5), and the next login asks for no code', async () => {
    const { server } = context();
    const api = apiClient(server.url);
    const email = uniqueEmail('ada');
    const page = await context().newPage();
    await signUpInBrowser(page, { accountName: 'Acme', name: 'Ada', email, password: PASSWORD });
    const enrolled = await enrollAuthenticatorApp(server, api, (await logIn(api, email)).token);
    // The browser session predates the factor and was signed out by it: log in again with a code.
    assert.equal(await logInInBrowser(page, email), 303);
    await page.getByLabel('Verification code').fill(nextStepCode(server, enrolled.secret));
    await submitForm(page, 'Continue');
    await page.waitForURL('**/user');

    await page.getByRole('button', { name: 'Disable Two Factor' }).click();
    await page.getByRole('heading', { name: 'Disable Two Factor' }).waitFor();
    await page.getByLabel('Password', { exact: true }).fill('not my password');
    assert.equal(await submitForm(page, 'Disable Two Factor'), 401);
    await page.getByLabel('Password', { exact: true }).fill(PASSWORD);
    assert.equal(await submitForm(page, 'Disable Two Factor'), 200);
    await page.getByRole('heading', { name: 'Two-factor authentication is off' }).waitFor();
    await page.getByRole('link', { name: 'Back to User Details' }).click();
    await page.waitForURL('**/user');
    assert.match(await page.locator('main').innerText(), /Not enabled/, 'still signed in, on User Details');
    await page.getByRole('button', { name: 'Log out' }).click();
    await page.waitForURL('**/login**');
    assert.equal(await logInInBrowser(page, email), 303);
    await page.waitForURL('**/user');
    assert.match(await page.locator('main').innerText(), /Not enabled/);
  });

  it('explains who requires 2FA instead of offering to turn it off while the account enforces it', async () => {
    const { server } = context();
    const api = apiClient(server.url);
    const adminEmail = uniqueEmail('admin');
    const page = await context().newPage();
    await signUpInBrowser(page, { accountName: 'Strict Co', name: 'Ada', email: adminEmail, password: PASSWORD });
    const admin = await logIn(api, adminEmail);
    const user = await inviteAndAccept(server, api, admin.token);
    const enrolled = await enrollAuthenticatorApp(server, api, (await logIn(api, user.email)).token);
    const me = await api.get('/me', { token: enrolled.token });
    // Set directly: the switch is tested through the settings page and PATCH /account.
    await server.deps.db.updateTable('accounts').set({ enforce_2fa: 1 }).where('id', '=', me.body.account.id).execute();
    const userPage = await context().newPage();
    assert.equal(await logInInBrowser(userPage, user.email), 303);
    await userPage.getByLabel('Verification code').fill(nextStepCode(server, enrolled.secret));
    await submitForm(userPage, 'Continue');
    await userPage.waitForURL('**/user');
    await userPage.getByRole('button', { name: 'Disable Two Factor' }).click();
    assert.match(await userPage.getByRole('alert').innerText(), /administrators of Strict Co require two-factor authentication/);
    assert.equal(await userPage.getByLabel('Password', { exact: true }).count(), 0);
  });
});
