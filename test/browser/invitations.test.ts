/** Inviting a user from Settings > Users, and the invited user joining through the e-mailed link. */
import assert from 'node:assert/strict';
import { it } from 'node:test';
import { PASSWORD, uniqueEmail } from '../helpers/fixtures.ts';
import { browserSuite, linkFromOutboxPage, logInInBrowser, signUpInBrowser } from '../helpers/browser.ts';

browserSuite('invitations in a browser', (context) => {
  it('an admin invites a user from Settings > Users; the user sets a password from the e-mailed link and logs in', async () => {
    const { server } = context();
    const admin = await context().newPage();
    await signUpInBrowser(admin, { accountName: 'Acme', name: 'Ada Admin', email: uniqueEmail('admin'), password: PASSWORD });
    await admin.waitForURL('**/user');

    await admin.locator('summary', { hasText: 'Settings' }).click();
    await admin.getByRole('link', { name: 'Users' }).click();
    await admin.waitForURL('**/settings/users');
    const invitee = uniqueEmail('ivy');
    await admin.getByLabel('Email', { exact: true }).fill(invitee);
    await admin.getByLabel('Name', { exact: true }).fill('Ivy Invited');
    await admin.getByLabel('Role', { exact: true }).selectOption('user');
    await admin.getByRole('button', { name: 'Invite' }).click();
    const confirmation = admin.getByRole('status');
    await confirmation.waitFor();
    assert.equal(await confirmation.innerText(), `Invitation sent to ${invitee}.`);
    const row = admin.getByRole('row').filter({ hasText: invitee });
    assert.match(await row.innerText(), /Ivy Invited[\s\S]*User[\s\S]*Not enabled[\s\S]*Never/);

    // The invited person, in their own browser.
    const ivy = await context().newPage();
    const link = await linkFromOutboxPage(ivy, server, invitee, '/invitations/');
    await ivy.goto(link);
    await ivy.getByLabel('Password', { exact: true }).fill('ivy has a long password');
    await ivy.getByRole('button', { name: 'Set password' }).click();
    await ivy.getByRole('heading', { name: 'Password set' }).waitFor();
    // Accepting does not log in: the second factor, once there, is never skipped.
    await ivy.goto('/user');
    await ivy.waitForURL('**/login?next=%2Fuser');

    assert.equal(await logInInBrowser(ivy, invitee, 'ivy has a long password'), 303);
    await ivy.waitForURL('**/user');
    const details = await ivy.locator('dl.details').innerText();
    assert.match(details, /Ivy Invited/);
    assert.match(details, /Acme/);
    assert.equal(await ivy.locator('summary', { hasText: 'Settings' }).count(), 0, 'a user without the admin role sees no Settings menu');

    // The link worked once.
    await ivy.goto(link);
    await ivy.getByRole('heading', { name: 'This link cannot be used' }).waitFor();
  });
});
