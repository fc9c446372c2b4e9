/**
 * Staged enforcement in Chromium (PRODUCT.md §2.10): the admin chooses "Enforce from" and sees who
 * it affects before saving; until the date the user without 2FA gets in and sees the banner on every
 * page; once the (moved) clock reaches the date, the same open session is sent to setup.
 */
import assert from 'node:assert/strict';
import { it } from 'node:test';
import { DAY_MS, formatDay } from '../../src/enforcement/staged-enforcement.ts';
import { browserSuite, logInInBrowser, submitForm } from '../helpers/browser.ts';
import { adminWithAppAndUser, logInWithAppCode } from './two-factor-helpers.ts';

browserSuite('staged enforcement', (context) => {
  it('shows the banner during the grace period on every page, and forces setup from the date on', async () => {
    const { server } = context();
    const { admin, adminApp, user } = await adminWithAppAndUser(server);
    const day = formatDay(Math.floor(server.clock.now() / DAY_MS) * DAY_MS + 2 * DAY_MS);

    // The admin: Account Settings shows who enforcement would affect, then saves it with a date.
    const adminPage = await context().newPage();
    await logInWithAppCode(adminPage, server, admin.email, adminApp.secret);
    await adminPage.goto('/settings/account');
    const affected = await adminPage.locator('#users-without-2fa').innerText();
    assert.match(affected, /1 user does not have two-factor authentication yet/);
    assert.match(affected, new RegExp(user.email.replace(/[.+]/g, '\\$&')));
    assert.equal(await adminPage.getByRole('link', { name: 'Download CSV' }).getAttribute('href'), '/settings/users.csv?twoFactor=missing');
    await adminPage.getByLabel('Enforce Two-Factor Authentication (2FA)').check();
    await adminPage.getByLabel('Enforce from').fill(day);
    await adminPage.getByLabel('Apply to').selectOption('everyone');
    assert.equal(await submitForm(adminPage, 'Save Changes'), 200);
    assert.match(await adminPage.getByRole('status').first().innerText(), new RegExp(`required for everyone in this account from ${day}`));
    assert.equal(await adminPage.getByLabel('Enforce from').inputValue(), day);

    // The user, a minute before the date: in, with the banner on every page.
    server.clock.set(Date.parse(`${day}T00:00:00Z`) - 60_000);
    const userPage = await context().newPage();
    assert.equal(await logInInBrowser(userPage, user.email), 303);
    await userPage.waitForURL('**/user');
    const banner = userPage.locator('#two-factor-banner');
    assert.equal(await banner.innerText(), `Your account requires two-factor authentication from ${day}. Set it up now.`);
    assert.equal(await banner.getByRole('link', { name: 'Set it up now.' }).getAttribute('href'), '/user');
    await userPage.goto('/user/two-factor/app');
    assert.equal(await userPage.locator('#two-factor-banner').count(), 1, 'on another page too');

    // The date comes: the same open session is sent to setup at its next request.
    server.clock.set(Date.parse(`${day}T00:00:00Z`) + 1000);
    await userPage.goto('/settings/users');
    await userPage.waitForURL('**/user');
    await userPage.getByText('Your account administrator requires two-factor authentication').waitFor();
    assert.equal(await userPage.locator('#two-factor-banner').count(), 0, 'no banner: setup is no longer optional');
  });
});
