/**
 * Issue 17's page fixes in Chromium, at desktop and phone width (390×844), with the keyboard
 * alone for the new buttons, and with JavaScript off where the page must work without it:
 * times in the reader's zone, "Open in authenticator app" and "Copy key" on the QR page, the
 * page's words without JavaScript, recovery codes' Download / Copy / Print, the Verification
 * Code page's focus, and "Remove" on User Details.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { it } from 'node:test';
import type { BrowserContext, BrowserContextOptions, Page } from 'playwright-core';
import { browserSuite, logInInBrowser, submitForm } from '../helpers/browser.ts';
import { PASSWORD, signUp } from '../helpers/fixtures.ts';
import { apiClient } from '../helpers/http.ts';
import { enrollSMS } from '../helpers/sms.ts';
import { currentCode, enrollAuthenticatorApp, wrongCode } from '../helpers/two-factor.ts';
import { confirmWithCode, openAppEnrollment, recoveryCodesOnPage, secretOnPage } from './two-factor-helpers.ts';

const PHONE = { width: 390, height: 844 };

browserSuite('Issue 17 pages in a browser', (context) => {
  async function withContext(options: BrowserContextOptions, body: (page: Page, browserContext: BrowserContext) => Promise<void>): Promise<void> {
    const browserContext = await context().browser.newContext({ baseURL: context().server.url, ...options });
    browserContext.setDefaultTimeout(10_000);
    try {
      await body(await browserContext.newPage(), browserContext);
    } finally {
      await browserContext.close();
    }
  }

  async function newUser(): Promise<{ email: string; token: string; userId: string }> {
    return signUp(apiClient(context().server.url));
  }

  it('shows times in the reader\'s time zone with JavaScript and in UTC without it', async () => {
    const { email } = await newUser();
    await withContext({ timezoneId: 'Asia/Tokyo', locale: 'en-GB' }, async (page) => {
      assert.equal(await logInInBrowser(page, email), 303);
      await page.goto('/settings/users');
      const time = page.locator('time[data-local]').first();
      const datetime = await time.getAttribute('datetime');
      assert.match(datetime ?? '', /Z$/);
      const tokyoHour = String((new Date(datetime!).getUTCHours() + 9) % 24).padStart(2, '0');
      const shown = await time.innerText();
      assert.doesNotMatch(shown, /UTC/);
      assert.ok(shown.includes(`${tokyoHour}:`), `Tokyo time shown: ${shown}`);
      assert.match(await time.getAttribute('title') ?? '', / UTC$/, 'the UTC text stays as the title');
    });
    await withContext({ timezoneId: 'Asia/Tokyo', javaScriptEnabled: false }, async (page) => {
      assert.equal(await logInInBrowser(page, email), 303);
      await page.goto('/settings/users');
      assert.match(await page.locator('time[data-local]').first().innerText(), /^\d{4}-\d\d-\d\d \d\d:\d\d UTC$/);
    });
  });

  it('offers "Open in authenticator app" on a phone and copies the key with the keyboard alone', async () => {
    const { email } = await newUser();
    await withContext({ viewport: PHONE, isMobile: true, hasTouch: true, permissions: ['clipboard-read', 'clipboard-write'] }, async (page) => {
      assert.equal(await logInInBrowser(page, email), 303);
      await openAppEnrollment(page, 'iPhone');
      const secret = await secretOnPage(page);
      const open = page.getByRole('link', { name: 'Open in authenticator app' });
      assert.match(await open.getAttribute('href') ?? '', new RegExp(`^otpauth://totp/.*[?&]secret=${secret}&`));
      const box = await open.boundingBox();
      assert.ok(box && box.x >= 0 && box.x + box.width <= PHONE.width, `the link fits the phone's width: ${JSON.stringify(box)}`);
      assert.ok(box.height >= 32, 'big enough to tap');
      assert.match(await page.locator('.secret code').innerText(), /^([A-Z2-7]{4} )+[A-Z2-7]{1,4}$/, 'the key in groups of four');
      assert.equal(await page.getByText('A new one appears here by itself when it expires.').count(), 1);

      const copy = page.getByRole('button', { name: 'Copy key' });
      await copy.waitFor();
      // Keyboard only: Tab until the button has focus, then Enter.
      for (let presses = 0; presses < 30 && !(await copy.evaluate((button) => button === document.activeElement)); presses += 1) await page.keyboard.press('Tab');
      assert.ok(await copy.evaluate((button) => button === document.activeElement), 'Copy key is reachable with Tab');
      await page.keyboard.press('Enter');
      await page.locator('[data-copy-status="enrollment-secret"]').filter({ hasText: 'Copied.' }).waitFor();
      assert.equal(await page.evaluate(() => navigator.clipboard.readText()), secret);
    });
  });

  it('without JavaScript, says to start again or reload, hides Copy, and keeps the QR code after a wrong code', async () => {
    const { email } = await newUser();
    const { server } = context();
    await withContext({ javaScriptEnabled: false }, async (page) => {
      assert.equal(await logInInBrowser(page, email), 303);
      await openAppEnrollment(page, 'Android');
      const main = await page.locator('main').innerText();
      assert.match(main, /When it expires, choose “Start again” \(or reload the page\) for a new one\./);
      assert.doesNotMatch(main, /appears here by itself/);
      assert.equal(await page.getByRole('button', { name: 'Copy key' }).isVisible(), false);
      const secret = await secretOnPage(page);
      await page.getByLabel('Confirm', { exact: true }).fill(wrongCode(server, secret));
      assert.equal(await submitForm(page, 'Confirm'), 401);
      assert.equal(await page.getByRole('alert').innerText(), 'The code is not valid. Check it and try again.');
      assert.equal(await secretOnPage(page), secret, 'the key is still shown');
      await page.getByRole('img', { name: 'QR code' }).waitFor();
      assert.equal(await confirmWithCode(page, server, secret), 200);

      // The download is a plain link: it works without JavaScript.
      const codes = await recoveryCodesOnPage(page);
      const [download] = await Promise.all([page.waitForEvent('download'), page.getByRole('link', { name: 'Download' }).click()]);
      assert.match(download.suggestedFilename(), /^twofold-recovery-codes-\d{4}-\d\d-\d\d\.txt$/);
      const file = readFileSync((await download.path())!, 'utf8');
      assert.ok(file.includes(email));
      assert.deepEqual(codes.filter((code) => file.includes(code)), codes);
      assert.equal(await page.getByRole('button', { name: 'Print' }).isVisible(), false, 'no Print button that cannot work');
    });
  });

  it('copies the recovery codes and offers Print with the keyboard, at desktop width', async () => {
    const { email } = await newUser();
    const { server } = context();
    await withContext({ viewport: { width: 1280, height: 800 }, permissions: ['clipboard-read', 'clipboard-write'] }, async (page) => {
      assert.equal(await logInInBrowser(page, email), 303);
      await openAppEnrollment(page, 'iPhone');
      assert.equal(await confirmWithCode(page, server, await secretOnPage(page)), 200);
      const codes = await recoveryCodesOnPage(page);
      await page.getByRole('button', { name: 'Print' }).waitFor();
      const copy = page.getByRole('button', { name: 'Copy', exact: true });
      await copy.focus();
      await page.keyboard.press('Enter');
      await page.locator('[data-copy-status="recovery-code-list"]').filter({ hasText: 'Copied.' }).waitFor();
      assert.equal(await page.evaluate(() => navigator.clipboard.readText()), codes.join('\n'));
      // Printing shows the codes and whose they are, not the buttons.
      await page.emulateMedia({ media: 'print' });
      assert.equal(await page.getByRole('button', { name: 'Print' }).isVisible(), false);
      assert.match(await page.locator('.print-only').innerText(), new RegExp(email.replace(/[.]/g, '\\.')));
      assert.equal(await page.getByRole('list', { name: 'Your recovery codes' }).isVisible(), true);
    });
  });

  it('puts the cursor in the code field of the Verification Code page, and removes one method with "Remove" at phone width', async () => {
    const { server } = context();
    const { email, token, userId } = await newUser();
    const { secret } = await enrollAuthenticatorApp(server, apiClient(server.url), token);
    await enrollSMS(server, apiClient(server.url), token);
    await withContext({ viewport: PHONE, isMobile: true, hasTouch: true }, async (page) => {
      assert.equal(await logInInBrowser(page, email), 303);
      await page.waitForURL('**/login/verify');
      assert.equal(await page.evaluate(() => document.activeElement?.id), 'field-code');
      server.clock.advance(30_000);
      await page.keyboard.type(currentCode(server, secret));
      await page.keyboard.press('Enter');
      await page.waitForURL('**/user');

      await page.getByRole('button', { name: 'Remove SMS Message' }).click();
      await page.getByRole('heading', { name: 'Remove SMS Message', level: 1 }).waitFor();
      await page.getByLabel('Password', { exact: true }).fill(PASSWORD);
      assert.equal(await submitForm(page, 'Remove SMS Message'), 200);
      await page.getByRole('heading', { name: 'SMS Message removed' }).waitFor();
      const kinds = await server.deps.db.selectFrom('factors').select('kind').where('user_id', '=', userId).execute();
      assert.deepEqual(kinds.map((row) => row.kind), ['totp']);
      await page.getByRole('link', { name: 'Back to User Details' }).click();
      await page.waitForURL('**/user');
      assert.equal(await page.getByRole('button', { name: /^Remove / }).count(), 0, 'the last method has no Remove');
    });
  });

  it('asks before deactivating and reactivates, with the keyboard alone at phone width', async () => {
    const { server } = context();
    const api = apiClient(server.url);
    const admin = await newUser();
    const invited = await api.post('/account/users', { email: `kim-${admin.userId.slice(0, 8)}@example.com`, name: 'Kim Keys', role: 'user' }, { token: admin.token });
    assert.equal(invited.status, 201, invited.text);
    await withContext({ viewport: PHONE, isMobile: true, hasTouch: true }, async (page) => {
      assert.equal(await logInInBrowser(page, admin.email), 303);
      await page.goto(`/settings/users/${invited.body.user.id}`);
      const press = async (name: string) => {
        const button = page.getByRole('button', { name, exact: true });
        await button.focus();
        await page.keyboard.press('Enter');
      };
      await press('Deactivate user');
      await page.getByRole('heading', { name: 'Deactivate Kim Keys?', level: 1 }).waitFor();
      assert.equal((await server.deps.db.selectFrom('users').select('active').where('id', '=', invited.body.user.id).executeTakeFirstOrThrow()).active, 1);
      await press('Deactivate user');
      await page.getByRole('status').filter({ hasText: 'Kim Keys is deactivated and has been logged out everywhere.' }).waitFor();
      await press('Reactivate user');
      await page.getByRole('status').filter({ hasText: 'Kim Keys is active again and can log in.' }).waitFor();
      assert.match(await page.locator('dl.details').first().innerText(), /Status\s+Invited/);
      // Her own page offers neither deactivation nor a disable link.
      await page.goto(`/settings/users/${admin.userId}`);
      assert.equal(await page.getByRole('button', { name: 'Deactivate user' }).count(), 0);
    });
  });
});
