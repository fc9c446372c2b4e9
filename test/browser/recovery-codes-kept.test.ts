/**
 * Adding a second method keeps the recovery codes, on the pages (issue 13; PRODUCT.md §2.7): a
 * user who saved ten codes at app enrolment adds SMS Message in a real browser; the page says the
 * saved codes still work and shows no new set, and a saved code still logs in.
 */
import assert from 'node:assert/strict';
import { it } from 'node:test';
import { apiClient } from '../helpers/http.ts';
import { PASSWORD, uniqueEmail } from '../helpers/fixtures.ts';
import { browserSuite, signUpInBrowser, submitForm } from '../helpers/browser.ts';
import { latestSMSCode } from '../helpers/sms.ts';
import { passwordStep } from '../helpers/two-factor.ts';
import { enrollInBrowser } from './two-factor-helpers.ts';

browserSuite('recovery codes kept when a second method is added, in a browser', (context) => {
  it('adds SMS Message beside the app, says the saved codes still work, shows no new set, and a saved code logs in', async () => {
    const { server } = context();
    const page = await context().newPage();
    const email = uniqueEmail('ada');
    await signUpInBrowser(page, { accountName: 'Acme', name: 'Ada Lovelace', email, password: PASSWORD });
    await page.waitForURL('**/user');
    const saved = await enrollInBrowser(page, server);
    assert.equal(saved.recoveryCodes.length, 10);

    await page.goto('/user');
    await page.locator('#two-factor-enrollment').getByRole('button', { name: 'SMS Message' }).click();
    await page.getByRole('heading', { name: 'SMS Message', level: 1 }).waitFor();
    await page.getByLabel('Phone number', { exact: true }).fill('+1 415 555 0199');
    await page.getByRole('button', { name: 'Verify' }).click();
    await page.getByLabel('Confirm', { exact: true }).waitFor();
    await page.getByLabel('Confirm', { exact: true }).fill(latestSMSCode(server, '+14155550199'));
    assert.equal(await submitForm(page, 'Confirm'), 200);
    const main = await page.locator('main').innerText();
    assert.match(main, /Your recovery codes have not changed: the codes you saved still work/);
    assert.equal(await page.locator('ol.recovery-codes').count(), 0, 'no new set is shown');

    const api = apiClient(server.url);
    const login = await api.post('/login/verify', { method: 'recovery', code: saved.recoveryCodes[0] }, { token: await passwordStep(api, email) });
    assert.equal(login.status, 200, login.text);
  });
});
