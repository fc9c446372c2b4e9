/** The lost-phone flow in a browser: the admin sends a disable link, the user uses it (PRODUCT.md §2.6). */
import assert from 'node:assert/strict';
import { it } from 'node:test';
import { inviteAndAccept, logIn, PASSWORD, uniqueEmail } from '../helpers/fixtures.ts';
import { apiClient } from '../helpers/http.ts';
import { browserSuite, linkFromOutboxPage, logInInBrowser, signUpInBrowser, submitForm } from '../helpers/browser.ts';
import { enrollAuthenticatorApp } from '../helpers/two-factor.ts';

browserSuite('the admin\'s disable link in a browser', (context) => {
  it('an admin sends the link from the user\'s page; the user turns 2FA off with their password and logs in without a code', async () => {
    const { server } = context();
    const api = apiClient(server.url);
    const admin = await context().newPage();
    const adminEmail = uniqueEmail('admin');
    await signUpInBrowser(admin, { accountName: 'Acme', name: 'Ada Admin', email: adminEmail, password: PASSWORD });
    const adminToken = (await logIn(api, adminEmail)).token;
    const user = await inviteAndAccept(server, api, adminToken);
    await enrollAuthenticatorApp(server, api, (await logIn(api, user.email)).token);

    await admin.goto('/settings/users');
    await admin.getByRole('link', { name: user.email }).click();
    await admin.getByRole('heading', { name: 'Two-Factor Authentication' }).waitFor();
    assert.equal(await submitForm(admin, 'Send link to disable 2FA'), 202);
    assert.match(await admin.getByRole('status').innerText(), new RegExp(`e-mailed ${user.email.replace('.', '\\.')}`));
    assert.doesNotMatch(await admin.content(), /\/2fa\/disable\/[A-Za-z0-9_-]{43}/, 'the admin never sees the link');

    const person = await context().newPage();
    const link = await linkFromOutboxPage(person, server, user.email, '/2fa/disable/');
    await person.goto(link);
    assert.equal(await person.evaluate(() => document.referrer), '');
    await person.getByLabel('Password', { exact: true }).fill('not my password');
    assert.equal(await submitForm(person, 'Disable Two Factor'), 401);
    await person.getByLabel('Password', { exact: true }).fill(PASSWORD);
    assert.equal(await submitForm(person, 'Disable Two Factor'), 200);
    await person.getByRole('heading', { name: 'Two-factor authentication is off' }).waitFor();

    assert.equal(await logInInBrowser(person, user.email), 303);
    await person.waitForURL('**/user', { timeout: 10_000 });
    await person.goto(link);
    await person.getByRole('heading', { name: 'This link cannot be used' }).waitFor();
  });

  it('asks an admin whose login is older than 15 minutes for the password before sending', async () => {
    const { server } = context();
    const api = apiClient(server.url);
    const admin = await context().newPage();
    const adminEmail = uniqueEmail('admin');
    await signUpInBrowser(admin, { accountName: 'Acme', name: 'Ada Admin', email: adminEmail, password: PASSWORD });
    const user = await inviteAndAccept(server, api, (await logIn(api, adminEmail)).token);
    await enrollAuthenticatorApp(server, api, (await logIn(api, user.email)).token);
    server.clock.advance(16 * 60_000);
    await admin.goto('/settings/users');
    await admin.getByRole('link', { name: user.email }).click();
    assert.equal(await admin.getByRole('button', { name: 'Send link to disable 2FA' }).count(), 0);
    await admin.getByLabel('Password', { exact: true }).fill(PASSWORD);
    await submitForm(admin, 'Confirm');
    await admin.getByRole('button', { name: 'Send link to disable 2FA' }).waitFor();
  });
});
