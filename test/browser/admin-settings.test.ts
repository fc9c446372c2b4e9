/**
 * The administrator's settings pages in a real browser (PRODUCT.md §2.4, §2.6): the account's
 * 2FA switch with its recent-authentication prompt, a user's page under Settings > Users, and
 * who may open these pages at all.
 */
import assert from 'node:assert/strict';
import { it } from 'node:test';
import type { Page } from 'playwright-core';
import { browserSuite, logInInBrowser, signUpInBrowser, submitForm } from '../helpers/browser.ts';
import { inviteAndAccept, PASSWORD, signUp, uniqueEmail } from '../helpers/fixtures.ts';
import { apiClient } from '../helpers/http.ts';

const ENFORCE = 'Enforce Two-Factor Authentication (2FA)';

browserSuite('administrator settings pages in a browser', (context) => {
  async function signedUpAdmin(): Promise<{ page: Page; email: string }> {
    const page = await context().newPage();
    const email = uniqueEmail('admin');
    await signUpInBrowser(page, { accountName: 'Acme', name: 'Ada Admin', email, password: PASSWORD });
    await page.waitForURL('**/user');
    return { page, email };
  }

  async function openSettings(page: Page, item: string): Promise<void> {
    await page.locator('summary', { hasText: 'Settings' }).click();
    await page.getByRole('link', { name: item, exact: true }).click();
  }

  it('tells an admin without 2FA to set it up first, and after 15 minutes asks for the password before saving', async () => {
    const { server } = context();
    const { page } = await signedUpAdmin();
    await openSettings(page, 'Account Settings');
    await page.waitForURL('**/settings/account');
    await page.getByRole('heading', { name: 'Security' }).waitFor();
    const checkbox = page.getByLabel(ENFORCE, { exact: true });
    assert.equal(await checkbox.isChecked(), false);

    await checkbox.check();
    assert.equal(await submitForm(page, 'Save Changes'), 409);
    const alert = page.getByRole('alert');
    assert.match(await alert.innerText(), /Turn on two-factor authentication for yourself before enforcing it\./);
    const setup = alert.getByRole('link', { name: 'Set up two-factor authentication for yourself first' });
    assert.equal(await setup.getAttribute('href'), '/user');
    assert.equal(await page.getByLabel(ENFORCE, { exact: true }).isChecked(), false, 'the switch shows what is saved: still off');

    // The login is now older than the recent-authentication window (PRODUCT.md §4).
    server.clock.advance(server.config.policy.recentAuthenticationMs + 1000);
    await page.reload();
    await page.getByRole('heading', { name: 'Confirm your password' }).waitFor();
    assert.equal(await page.getByLabel(ENFORCE, { exact: true }).count(), 0, 'no switch until the password is confirmed');
    await page.getByLabel('Password', { exact: true }).fill(PASSWORD);
    assert.equal(await submitForm(page, 'Confirm'), 303);
    await page.waitForURL('**/settings/account');

    await page.getByLabel(ENFORCE, { exact: true }).check();
    assert.equal(await submitForm(page, 'Save Changes'), 409, 'the save went through to the domain rule, which still refuses');
    await page.getByRole('link', { name: 'Set up two-factor authentication for yourself first' }).waitFor();

    // Turning it off when it is already off is no error, and says so.
    assert.equal(await page.getByLabel(ENFORCE, { exact: true }).isChecked(), false);
    assert.equal(await submitForm(page, 'Save Changes'), 200);
    assert.equal(await page.getByRole('status').innerText(), 'No change: two-factor authentication was already not required for this account.');
    assert.equal(await page.getByRole('alert').count(), 0);
  });

  it('lets an admin open a user from Settings > Users, promote and deactivate them, but not demote the last admin', async () => {
    const { page, email: adminEmail } = await signedUpAdmin();
    await openSettings(page, 'Users');
    await page.waitForURL('**/settings/users');
    const invitee = uniqueEmail('ivy');
    await page.getByLabel('Email', { exact: true }).fill(invitee);
    await page.getByLabel('Name', { exact: true }).fill('Ivy Invited');
    assert.equal(await submitForm(page, 'Invite'), 200);

    await page.getByRole('link', { name: invitee }).click();
    await page.waitForURL('**/settings/users/*');
    await page.getByRole('heading', { name: 'Ivy Invited', level: 1 }).waitFor();
    const details = await page.locator('dl.details').first().innerText();
    assert.match(details, new RegExp(invitee.replace(/[.]/g, '\\.')));
    assert.match(details, /Role\s+User/);
    assert.match(details, /Last login\s+Never/);
    const twoFactor = page.locator('section', { has: page.getByRole('heading', { name: 'Two-Factor Authentication' }) });
    assert.match(await twoFactor.innerText(), /Not enabled/);
    assert.equal(await page.locator('#admin-two-factor-actions').count(), 1, 'the place for the disable-link button is there');

    await page.getByLabel('Role', { exact: true }).selectOption('admin');
    assert.equal(await submitForm(page, 'Change role'), 200);
    assert.equal(await page.getByRole('status').innerText(), 'Ivy Invited now has the role Administrator.');
    assert.match(await page.locator('dl.details').first().innerText(), /Role\s+Administrator/);

    // "Deactivate user" asks first, on a page of its own (a GET); the same label there does it.
    await page.getByRole('button', { name: 'Deactivate user' }).click();
    await page.getByRole('heading', { name: 'Deactivate Ivy Invited?', level: 1 }).waitFor();
    assert.equal(await submitForm(page, 'Deactivate user'), 200);
    assert.equal(await page.getByRole('status').innerText(), 'Ivy Invited is deactivated and has been logged out everywhere.');
    assert.match(await page.locator('dl.details').first().innerText(), /Status\s+Deactivated/);
    assert.equal(await page.getByRole('button', { name: 'Deactivate user' }).count(), 0);

    // Ivy is deactivated, so the signed-in admin is the last active one.
    await openSettings(page, 'Users');
    await page.waitForURL('**/settings/users');
    await page.getByRole('link', { name: adminEmail }).click();
    await page.getByRole('heading', { name: 'Ada Admin', level: 1 }).waitFor();
    await page.getByLabel('Role', { exact: true }).selectOption('user');
    assert.equal(await submitForm(page, 'Change role'), 409);
    assert.match(await page.getByRole('alert').innerText(), /An account must keep at least one active administrator\./);
    assert.match(await page.locator('dl.details').first().innerText(), /Role\s+Administrator/);
  });

  it('answers a plain user with 403 on every settings page', async () => {
    const { server } = context();
    const api = apiClient(server.url);
    const admin = await signUp(api);
    const member = await inviteAndAccept(server, api, admin.token, 'user');
    const page = await context().newPage();
    assert.equal(await logInInBrowser(page, member.email), 303);
    await page.waitForURL('**/user');
    assert.equal(await page.locator('summary', { hasText: 'Settings' }).count(), 0);
    for (const path of ['/settings/account', '/settings/users', `/settings/users/${admin.userId}`, `/settings/users/${member.userId}`, '/settings/security-log']) {
      const response = await page.goto(path);
      assert.equal(response?.status(), 403, path);
      await page.getByText('You do not have permission to do that.').waitFor();
    }
  });

  it("answers an admin with 404 for a user of another account, as for one that does not exist", async () => {
    const { server } = context();
    const api = apiClient(server.url);
    const mine = await signUp(api, uniqueEmail('admin-a'), 'Account A');
    const theirs = await signUp(api, uniqueEmail('admin-b'), 'Account B');
    const theirMember = await inviteAndAccept(server, api, theirs.token, 'user');
    const page = await context().newPage();
    assert.equal(await logInInBrowser(page, mine.email), 303);
    await page.waitForURL('**/user');
    assert.equal((await page.goto(`/settings/users/${mine.userId}`))?.status(), 200);
    for (const id of [theirs.userId, theirMember.userId, '00000000-0000-4000-8000-000000000000']) {
      const response = await page.goto(`/settings/users/${id}`);
      assert.equal(response?.status(), 404, id);
      assert.doesNotMatch(await page.locator('main').innerText(), /admin-b|Account B|Ivy Invited/);
    }
  });
});
