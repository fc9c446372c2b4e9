/**
 * Turning on SMS Message and logging in with a texted code, in a real browser (PRODUCT.md §2.2,
 * §2.3 SMS Message; SECURITY.md rule 19): the phone number and "Verify", the code from the
 * development outbox in "Confirm", the recovery codes and "Continue" back to User Details, and
 * the Verification Code page for SMS-only users and for users with both methods.
 */
import assert from 'node:assert/strict';
import { it } from 'node:test';
import { apiClient } from '../helpers/http.ts';
import { PASSWORD, signUp, uniqueEmail } from '../helpers/fixtures.ts';
import { browserSuite, logInInBrowser, signUpInBrowser, submitForm } from '../helpers/browser.ts';
import { enrollAuthenticatorApp } from '../helpers/two-factor.ts';
import { enrollSMS, latestSMSCode, textsTo, uniqueMobile } from '../helpers/sms.ts';
import { recoveryCodesOnPage } from './two-factor-helpers.ts';

browserSuite(
  'SMS Message two-factor authentication in a browser',
  (context) => {
    it('enables SMS Message from User Details, shows recovery codes, and logs in with the texted code', async () => {
      const { server } = context();
      const page = await context().newPage();
      const email = uniqueEmail('grace');
      await signUpInBrowser(page, { accountName: 'Acme', name: 'Grace Hopper', email, password: PASSWORD });
      await page.waitForURL('**/user');

      const section = page.locator('#two-factor-enrollment');
      assert.match(await section.innerText(), /weaker method/, 'SMS is offered with the note that the app is recommended (rule 19)');
      await section.getByRole('button', { name: 'SMS Message' }).click();
      await page.getByRole('heading', { name: 'SMS Message', level: 1 }).waitFor();
      await page.getByLabel('Phone number', { exact: true }).fill('+1 415 555 0123');
      const started = page.waitForResponse((response) => response.request().method() === 'POST');
      await page.getByRole('button', { name: 'Verify' }).click();
      const startAnswer = await started;
      assert.equal(startAnswer.status(), 200);
      assert.equal(startAnswer.headers()['cache-control'], 'no-store');
      await page.waitForLoadState();
      assert.match(await page.locator('main').innerText(), /We texted a six-digit code to \+1 •••• ••• 0123/);
      assert.equal(textsTo(server, '+14155550123').length, 1);

      await page.getByLabel('Confirm', { exact: true }).fill(latestSMSCode(server, '+14155550123'));
      assert.equal(await submitForm(page, 'Confirm'), 200);
      const codes = await recoveryCodesOnPage(page);
      assert.equal(codes.length, 10);
      await page.getByRole('link', { name: 'Continue' }).click();
      await page.waitForURL('**/user');
      const details = await page.locator('section', { has: page.getByRole('heading', { name: 'Two-Factor Authentication' }) }).innerText();
      assert.match(details, /Status: SMS Message/);
      assert.match(details, /\+1 •••• ••• 0123/);
      assert.doesNotMatch(details, /4155550123|555 0123/, 'only the masked number is shown');

      await page.getByRole('button', { name: 'Log out' }).click();
      await page.waitForURL('**/login');
      assert.equal(await logInInBrowser(page, email), 303);
      await page.waitForURL('**/login/verify');
      await page.getByRole('heading', { name: 'Verification Code' }).waitFor();
      assert.match(await page.locator('main').innerText(), /We texted a six-digit code to \+1 •••• ••• 0123/);
      assert.equal(textsTo(server, '+14155550123').length, 2, 'the password step texted the login code');
      const loginCode = latestSMSCode(server, '+14155550123');

      // Asking again within the cooldown: a clear message and Retry-After, no new text.
      const resend = page.waitForResponse((response) => response.request().method() === 'POST');
      await page.getByRole('button', { name: 'Send another text' }).click();
      const resendAnswer = await resend;
      assert.equal(resendAnswer.status(), 429);
      assert.match(resendAnswer.headers()['retry-after'] ?? '', /^\d+$/);
      await page.waitForLoadState();
      assert.match(await page.getByRole('alert').innerText(), /A code was texted a moment ago\. Wait \d+ seconds? before asking for another\./);
      assert.equal(textsTo(server, '+14155550123').length, 2);

      await page.getByLabel('Verification code', { exact: true }).fill(loginCode);
      assert.equal(await submitForm(page, 'Continue'), 303);
      await page.waitForURL('**/user');
      await page.getByRole('heading', { name: 'User Details' }).waitFor();
    });

    it('refuses an invalid phone number with the reason', async () => {
      const { server } = context();
      const page = await context().newPage();
      await signUpInBrowser(page, { accountName: 'Acme', name: 'Alan Turing', email: uniqueEmail('alan'), password: PASSWORD });
      await page.waitForURL('**/user');
      const texted = server.outbox.list().filter((message) => message.channel === 'sms').length;
      await page.locator('#two-factor-enrollment').getByRole('button', { name: 'SMS Message' }).click();
      await page.getByLabel('Phone number', { exact: true }).fill('+44 7700 900123');
      assert.equal(await submitForm(page, 'Verify'), 400);
      assert.match(await page.getByRole('alert').innerText(), /not a valid phone number/);
      assert.equal(await page.getByLabel('Phone number', { exact: true }).getAttribute('aria-invalid'), 'true');
      assert.equal(server.outbox.list().filter((message) => message.channel === 'sms').length, texted, 'nothing was texted');
    });

    it('lets a user with both methods switch to a text message and log in with the texted code', async () => {
      const { server } = context();
      const api = apiClient(server.url);
      const admin = await signUp(api, uniqueEmail('both'));
      await enrollAuthenticatorApp(server, api, admin.token);
      const { phone } = await enrollSMS(server, api, admin.token, uniqueMobile());
      const page = await context().newPage();

      assert.equal(await logInInBrowser(page, admin.email), 303);
      await page.waitForURL('**/login/verify');
      await page.getByRole('heading', { name: 'Verification Code' }).waitFor();
      assert.match(await page.locator('main').innerText(), /authenticator app/);
      const before = textsTo(server, phone).length;
      assert.equal(await submitForm(page, 'Send a text message instead'), 303);
      await page.waitForURL('**/login/verify?method=sms');
      assert.equal(textsTo(server, phone).length, before + 1);
      assert.match(await page.locator('main').innerText(), /We texted a six-digit code to \+44 •+/);
      await page.getByRole('link', { name: 'Use the authenticator app' }).waitFor();

      await page.getByLabel('Verification code', { exact: true }).fill(latestSMSCode(server, phone));
      assert.equal(await submitForm(page, 'Continue'), 303);
      await page.waitForURL('**/user');
      await page.getByRole('heading', { name: 'User Details' }).waitFor();
    });
  },
  { env: { SMS_PER_IP_PER_HOUR: '1000000' } },
);
