/** The front door in a real browser: sign up, log out, log in, and the top bar's user icon. */
import assert from 'node:assert/strict';
import { it } from 'node:test';
import { PASSWORD, uniqueEmail } from '../helpers/fixtures.ts';
import { browserSuite, logInInBrowser, signUpInBrowser } from '../helpers/browser.ts';

browserSuite('sign-up and login pages in a browser', (context) => {
  function newAccount() {
    return { accountName: 'Acme Rockets', name: 'Ada Lovelace', email: uniqueEmail('ada'), password: PASSWORD };
  }

  it('a visitor who signs up lands on User Details as the new account administrator', async () => {
    const page = await context().newPage();
    const account = newAccount();
    await signUpInBrowser(page, account);
    await page.waitForURL('**/user');
    await page.getByRole('heading', { name: 'User Details' }).waitFor();
    const details = await page.locator('dl.details').innerText();
    assert.match(details, /Ada Lovelace/);
    assert.match(details, new RegExp(account.email));
    assert.match(details, /Administrator/);
    assert.match(details, /Acme Rockets/);
    await page.getByRole('heading', { name: 'Two-Factor Authentication' }).waitFor();
    assert.match(await page.locator('section', { has: page.getByRole('heading', { name: 'Two-Factor Authentication' }) }).innerText(), /Not enabled/);
  });

  it('logging out ends the session, so User Details sends the browser back to the login page', async () => {
    const page = await context().newPage();
    await signUpInBrowser(page, newAccount());
    await page.waitForURL('**/user');
    await page.getByRole('button', { name: 'Log out' }).click();
    await page.waitForURL('**/login');
    await page.goto('/user');
    await page.waitForURL('**/login?next=%2Fuser');
    await page.getByRole('button', { name: 'Log in' }).waitFor();
  });

  it('logging in with email and password opens User Details, and the user icon leads back there', async () => {
    const page = await context().newPage();
    const account = newAccount();
    await signUpInBrowser(page, account);
    await page.waitForURL('**/user');
    await page.getByRole('button', { name: 'Log out' }).click();
    await page.waitForURL('**/login');

    assert.equal(await logInInBrowser(page, account.email, account.password), 303);
    await page.waitForURL('**/user');
    await page.locator('summary', { hasText: 'Settings' }).click();
    await page.getByRole('link', { name: 'Account Settings' }).click();
    await page.waitForURL('**/settings/account');
    await page.getByRole('heading', { name: 'Account Information' }).waitFor();
    await page.getByRole('link', { name: 'User Details' }).click();
    await page.waitForURL('**/user');
    await page.getByRole('heading', { name: 'User Details' }).waitFor();
  });

  it('a wrong password keeps the visitor on the login page with a message and an empty password field', async () => {
    const page = await context().newPage();
    const account = newAccount();
    await signUpInBrowser(page, account);
    await page.waitForURL('**/user');
    await page.getByRole('button', { name: 'Log out' }).click();
    await page.waitForURL('**/login');

    assert.equal(await logInInBrowser(page, account.email, 'not the password'), 401);
    const alert = page.getByRole('alert');
    assert.equal(await alert.innerText(), 'The email or password is incorrect.');
    assert.equal(await page.getByLabel('Email', { exact: true }).inputValue(), account.email);
    assert.equal(await page.getByLabel('Password', { exact: true }).inputValue(), '');
  });

  it('after logging in, the browser continues to the page it first asked for', async () => {
    const page = await context().newPage();
    const account = newAccount();
    await signUpInBrowser(page, account);
    await page.waitForURL('**/user');
    await page.getByRole('button', { name: 'Log out' }).click();
    await page.waitForURL('**/login');

    await page.goto('/settings/users');
    await page.waitForURL('**/login?next=%2Fsettings%2Fusers');
    await page.getByLabel('Email', { exact: true }).fill(account.email);
    await page.getByLabel('Password', { exact: true }).fill(account.password);
    await page.getByRole('button', { name: 'Log in' }).click();
    await page.waitForURL('**/settings/users');
    await page.getByRole('heading', { name: 'Users', exact: true }).waitFor();
  });
});
