/**
 * Issue 17 in Chromium: the session cookie outlives the browser (a persistent cookie with the
 * session's lifetime); changing the password in one browser, or signing the other browser's
 * session out from the list of sessions, signs the other out, whose next page says why; the banner asks to verify the e-mail address until the link's button is pressed.
 */
import assert from 'node:assert/strict';
import { it } from 'node:test';
import { browserSuite, linkFromOutboxPage, logInInBrowser, oneUserInTwoBrowsers, submitForm } from '../helpers/browser.ts';
import { PASSWORD, signUp } from '../helpers/fixtures.ts';
import { apiClient } from '../helpers/http.ts';

browserSuite('sessions that last and say why they ended', (context) => {
  it('keeps the session in a persistent cookie; a password changed elsewhere signs this browser out and says why', async () => {
    const { server } = context();
    const { email } = await signUp(apiClient(server.url));
    const first = await context().newPage();
    const second = await context().newPage();
    assert.equal(await logInInBrowser(first, email), 303);
    assert.equal(await logInInBrowser(second, email), 303);

    const [cookie] = (await second.context().cookies()).filter((c) => c.name === 'twofold_session');
    assert.ok(cookie);
    const lifetimeSeconds = cookie.expires - Date.now() / 1000;
    assert.ok(lifetimeSeconds > 7 * 24 * 3600 - 120 && lifetimeSeconds <= 7 * 24 * 3600 + 120, `a persistent cookie for 7 days, not a browser-session one (expires in ${lifetimeSeconds} s)`);

    await first.goto('/user');
    await first.getByRole('link', { name: 'Change password' }).click();
    await first.getByLabel('Current password', { exact: true }).fill(PASSWORD);
    await first.getByLabel('New password', { exact: true }).fill('a changed passphrase');
    assert.equal(await submitForm(first, 'Change password'), 303);
    await first.getByText('Your password was changed. Your other sessions were signed out.').waitFor();

    await second.goto('/user');
    await second.waitForURL('**/login?next=%2Fuser');
    assert.equal(await second.getByRole('status').innerText(), 'You were signed out because your password was changed.');
    await second.reload();
    assert.equal(await second.getByRole('status').count(), 0, 'said once');

    await first.goto('/user');
    await first.getByRole('heading', { name: 'User Details' }).waitFor();
  });

  it('a session signed out from the list of sessions says why on its next page', async () => {
    const { first, second } = await oneUserInTwoBrowsers(context);

    await first.goto('/user');
    const other = first.getByRole('region', { name: 'Your sessions' }).locator('tbody tr').filter({ hasNotText: '(this browser)' });
    await other.getByRole('button', { name: /^Sign out / }).click();
    await first.waitForURL('**/user#sessions');

    await second.goto('/user');
    await second.waitForURL('**/login?next=%2Fuser');
    assert.equal(await second.getByRole('status').innerText(), 'You were signed out because this session was signed out from your list of sessions.');
    await first.goto('/user');
    await first.getByRole('heading', { name: 'User Details' }).waitFor();
  });

  it('shows the verification banner until the button behind the e-mailed link is pressed', async () => {
    const { server } = context();
    const { email } = await signUp(apiClient(server.url));
    const page = await context().newPage();
    assert.equal(await logInInBrowser(page, email), 303);
    await page.getByText('Please verify your email address').waitFor();
    assert.equal(await submitForm(page, 'Resend verification e-mail'), 303);
    await page.getByText('We sent a new link.').waitFor();

    const link = await linkFromOutboxPage(page, server, email, '/email/verify/');
    await page.goto(link);
    await page.getByRole('heading', { name: 'Verify your email address' }).waitFor();
    assert.equal(await submitForm(page, 'Verify email address'), 200);
    await page.getByRole('heading', { name: 'Email address verified' }).waitFor();
    await page.goto('/user');
    await page.getByRole('heading', { name: 'User Details' }).waitFor();
    assert.equal(await page.getByText('Please verify your email address').count(), 0);
  });
});
