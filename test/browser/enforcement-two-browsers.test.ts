/**
 * Issue 5's story with two browsers: the admin turns enforcement on from Account Settings, the
 * user's open session is sent to setup on its next request, the user enrolls the app and
 * carries on, and the security log shows every step.
 */
import assert from 'node:assert/strict';
import { it } from 'node:test';
import { browserSuite, logInInBrowser, submitForm } from '../helpers/browser.ts';
import { adminWithAppAndUser, confirmWithCode, logInWithAppCode, openAppEnrollment, recoveryCodesOnPage, secretOnPage } from './two-factor-helpers.ts';

browserSuite('enforcement with two browsers', (context) => {
  it('the admin switches enforcement on and the user\'s open session goes to setup, enrolls and carries on', async () => {
    const { server } = context();
    const { admin, adminApp, user } = await adminWithAppAndUser(server);

    // The user's browser: logged in, no 2FA, on the Users-free part of the portal.
    const userPage = await context().newPage();
    assert.equal(await logInInBrowser(userPage, user.email), 303);
    await userPage.waitForURL('**/user');

    // The admin's browser: password, then a code, then Account Settings.
    const adminPage = await context().newPage();
    await logInWithAppCode(adminPage, server, admin.email, adminApp.secret);
    await adminPage.goto('/settings/account');
    await adminPage.getByLabel('Enforce Two-Factor Authentication (2FA)').check();
    assert.equal(await submitForm(adminPage, 'Save Changes'), 200);
    assert.match(await adminPage.getByRole('status').innerText(), /now required for everyone/);

    // The user's very next request lands on setup, wherever it was going.
    await userPage.goto('/settings/account');
    await userPage.waitForURL('**/user');
    await userPage.getByText('Your account administrator requires two-factor authentication').waitFor();
    await openAppEnrollment(userPage, 'iPhone');
    const secret = await secretOnPage(userPage);
    assert.equal(await confirmWithCode(userPage, server, secret), 200);
    assert.equal((await recoveryCodesOnPage(userPage)).length, 10);
    await userPage.getByRole('link', { name: 'Continue' }).click();
    await userPage.waitForURL('**/user');
    assert.match(await userPage.locator('main').innerText(), /Mobile App/);

    // The admin's log tells the story.
    await adminPage.goto('/settings/security-log');
    const log = await adminPage.locator('table').innerText();
    assert.match(log, /Enforcement changed\tadmin-[^\n]*Two-factor authentication required: yes/);
    assert.match(log, new RegExp(`Factor enrolled\\t${user.email}`));
    assert.match(log, /User invited/);
  });
});
