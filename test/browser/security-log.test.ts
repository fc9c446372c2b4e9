/**
 * Settings > Security log in a real browser (PRODUCT.md §2.8): the admin's own actions show up,
 * newest first; the filters narrow the table and travel with the "Download CSV" link.
 */
import assert from 'node:assert/strict';
import { it } from 'node:test';
import { browserSuite, signUpInBrowser, submitForm } from '../helpers/browser.ts';
import { PASSWORD, uniqueEmail } from '../helpers/fixtures.ts';

browserSuite('security log page in a browser', (context) => {
  it('lists the invitation and the role change, filters by type and by user, and downloads the filtered CSV', async () => {
    const { server } = context();
    const page = await context().newPage();
    const adminEmail = uniqueEmail('admin');
    await signUpInBrowser(page, { accountName: 'Acme', name: 'Ada Admin', email: adminEmail, password: PASSWORD });
    await page.waitForURL('**/user');

    await page.goto('/settings/users');
    const invitee = uniqueEmail('ivy');
    await page.getByLabel('Email', { exact: true }).fill(invitee);
    await page.getByLabel('Name', { exact: true }).fill('Ivy Invited');
    assert.equal(await submitForm(page, 'Invite'), 200);
    server.clock.advance(1000); // events of one millisecond would be ordered by id alone
    await page.getByRole('link', { name: invitee }).click();
    await page.getByLabel('Role', { exact: true }).selectOption('admin');
    assert.equal(await submitForm(page, 'Change role'), 200);

    await page.locator('summary', { hasText: 'Settings' }).click();
    await page.getByRole('link', { name: 'Security log' }).click();
    await page.waitForURL('**/settings/security-log');
    await page.getByRole('heading', { name: 'Security log' }).waitFor();
    const rows = page.locator('table.log tbody tr');
    const texts = await rows.allInnerTexts();
    assert.match(texts[0]!, /Role changed/, 'newest first');
    assert.match(texts[1]!, /User invited/);
    const roleChange = rows.filter({ hasText: 'Role changed' });
    assert.match(await roleChange.innerText(), new RegExp(`${adminEmail.replace(/\./g, '\\.')}[\\s\\S]*${invitee.replace(/\./g, '\\.')}[\\s\\S]*from: user, to: admin`));
    assert.equal(await rows.filter({ hasText: 'User invited' }).filter({ hasText: invitee }).count(), 1);

    await page.getByLabel('Event type', { exact: true }).selectOption('role_changed');
    await page.getByRole('button', { name: 'Filter' }).click();
    await page.waitForURL('**/settings/security-log?type=role_changed*');
    const filtered = await rows.allInnerTexts();
    assert.equal(filtered.length, 1);
    assert.match(filtered[0]!, /Role changed/);

    await page.getByLabel('Event type', { exact: true }).selectOption('');
    await page.getByLabel('User email', { exact: true }).fill(invitee);
    await page.getByRole('button', { name: 'Filter' }).click();
    await page.waitForURL('**/settings/security-log?*email=*');
    const byUser = await rows.allInnerTexts();
    assert.ok(byUser.length >= 2, byUser.join('\n'));
    for (const text of byUser) assert.ok(text.includes(invitee), text);

    const download = page.getByRole('link', { name: 'Download CSV' });
    const href = await download.getAttribute('href');
    assert.match(href ?? '', /^\/api\/v1\/account\/security-log\.csv\?userId=[0-9a-f-]{36}$/);
    // The API takes the page's session cookie for GET: the same browser can fetch the file.
    const csv = await page.request.get(href!);
    assert.equal(csv.status(), 200);
    assert.match(csv.headers()['content-type'] ?? '', /^text\/csv/);
    const lines = (await csv.text()).trim().split('\r\n');
    assert.equal(lines.length, 1 + byUser.length, 'header and the same events as the page');
    assert.ok(lines.slice(1).every((line) => line.includes(invitee)));
  });
});
