/** Forgot password in a browser: the e-mailed link sets a new password and the old one stops working. */
import assert from 'node:assert/strict';
import { it } from 'node:test';
import { apiClient } from '../helpers/http.ts';
import { PASSWORD, signUp } from '../helpers/fixtures.ts';
import { browserSuite, linkFromOutboxPage, logInInBrowser } from '../helpers/browser.ts';

browserSuite('password reset in a browser', (context) => {
  it('forgot password e-mails a single-use link that sets a new password without logging in', async () => {
    const { server } = context();
    const { email } = await signUp(apiClient(server.url));
    const page = await context().newPage();

    await page.goto('/login');
    await page.getByRole('link', { name: 'Forgot password?' }).click();
    await page.waitForURL('**/password/forgot');
    await page.getByLabel('Email', { exact: true }).fill(email);
    await page.getByRole('button', { name: 'Send reset link' }).click();
    await page.getByRole('heading', { name: 'Check your e-mail' }).waitFor();

    const link = await linkFromOutboxPage(page, server, email, '/password/reset/');
    await page.goto(link);
    await page.getByLabel('New password', { exact: true }).fill('a brand new password');
    await page.getByRole('button', { name: 'Change password' }).click();
    await page.getByRole('heading', { name: 'Password changed' }).waitFor();
    await page.getByRole('link', { name: 'Log in' }).click();
    await page.waitForURL('**/login');

    assert.equal(await logInInBrowser(page, email, PASSWORD), 401);
    assert.equal(await page.getByRole('alert').innerText(), 'The email or password is incorrect.');

    assert.equal(await logInInBrowser(page, email, 'a brand new password'), 303);
    await page.waitForURL('**/user');
    await page.getByRole('heading', { name: 'User Details' }).waitFor();

    await page.goto(link);
    await page.getByRole('heading', { name: 'This link cannot be used' }).waitFor();
  });
});
