/**
 * Settings > Security log in a real browser (PRODUCT.md §2.8): the admin's own actions show up,
 * newest first; the filters narrow the table and travel with the "Download CSV" link.
 */
import assert from 'node:assert/strict';
import { it } from 'node:test';
import { browserSuite, signUpInBrowser, submitForm } from '../helpers/browser.ts';
import { PASSWORD, signUp, uniqueEmail } from '../helpers/fixtures.ts';
import { apiClient } from '../helpers/http.ts';

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
    assert.match(await roleChange.innerText(), new RegExp(`${adminEmail.replace(/\./g, '\\.')}[\\s\\S]*${invitee.replace(/\./g, '\\.')}[\\s\\S]*From: User; To: Administrator`));
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

  it('is readable at 1280 px: browser and system instead of the raw user agent, details as text, no e-mail broken mid-word, no clipped column, the table reachable by keyboard', async () => {
    const { server } = context();
    const api = apiClient(server.url);
    const longLocal = `someone-with-a-rather-long-mailbox-name-${Date.now()}`;
    const admin = await signUp(api, `${longLocal}@engineering.subsidiary-of-example-company.com`);
    const invited = await api.post('/account/users', { email: `${longLocal}-invited@another-rather-long-domain-name.example.org`, name: 'Ivy Invited', role: 'user' }, { token: admin.token });
    assert.equal(invited.status, 201, invited.text);
    await api.post('/login', { email: admin.email, password: 'wrong password' }, { headers: { 'user-agent': 'Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Safari/605.1.15' } });
    await api.post('/login', { email: admin.email, password: 'wrong password' }, { headers: { 'user-agent': 'x'.repeat(500) } });

    const page = await context().newPage();
    await page.setViewportSize({ width: 1280, height: 900 });
    await page.goto('/login');
    await page.getByLabel('Email', { exact: true }).fill(admin.email);
    await page.getByLabel('Password', { exact: true }).fill(PASSWORD);
    assert.equal(await submitForm(page, 'Log in'), 303);
    await page.goto('/settings/security-log');
    const table = page.locator('table.log');
    assert.match(await table.innerText(), /Safari on macOS/);
    assert.match(await table.innerText(), /Reason: wrong password/);
    assert.doesNotMatch(await table.innerText(), /Mozilla\/5\.0|xxxxxxxxxx|\{"/, 'no raw user agent and no JSON');

    const layout = await page.evaluate(() => {
      const wrap = document.querySelector('.table-wrap') as HTMLElement;
      const table = wrap.querySelector('table') as HTMLElement;
      const clippedCells = [...table.querySelectorAll('td, th')].filter((cell) => cell.scrollWidth > cell.clientWidth + 1).map((cell) => cell.textContent);
      const brokenParts = [...table.querySelectorAll('.keep')].filter((part) => part.getClientRects().length !== 1).map((part) => part.textContent);
      const emails = [...table.querySelectorAll('td')].map((cell) => cell.textContent ?? '').filter((text) => text.includes('@'));
      return { tableWidth: table.scrollWidth, wrapWidth: wrap.clientWidth, pageWidth: document.documentElement.scrollWidth, clippedCells, brokenParts, emails };
    });
    assert.ok(layout.tableWidth <= layout.wrapWidth + 1, `the table (${layout.tableWidth} px) fits its frame (${layout.wrapWidth} px): no column scrolled off`);
    assert.ok(layout.pageWidth <= 1280, `the page does not scroll sideways (${layout.pageWidth} px)`);
    assert.deepEqual(layout.clippedCells, [], 'no cell clips its content');
    assert.deepEqual(layout.brokenParts, [], 'no e-mail part wraps inside');
    assert.ok(layout.emails.some((text) => text.includes(admin.email)), 'the long address is shown whole');

    // The table is reachable by keyboard: a labelled region that takes focus by Tab.
    const region = page.getByRole('region', { name: 'Security events' });
    assert.equal(await region.getAttribute('tabindex'), '0');
    await page.locator('body').focus();
    let reached = false;
    for (let press = 0; press < 60 && !reached; press += 1) {
      await page.keyboard.press('Tab');
      reached = await region.evaluate((element) => element === document.activeElement);
    }
    assert.ok(reached, 'Tab reaches the table');
  });
});
