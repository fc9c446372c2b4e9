/**
 * Turning on the Mobile App and logging in with it, in a real browser (PRODUCT.md §2.2, §2.3,
 * §2.7; issue 3): the QR code on the page decodes to the otpauth URI of the secret shown beside
 * it, codes from oathtool confirm it, the recovery codes are shown once, and the next login
 * goes through the Verification Code page — with a code or with a recovery code.
 */
import assert from 'node:assert/strict';
import { it } from 'node:test';
import { apiClient } from '../helpers/http.ts';
import { logIn, PASSWORD, signUp, uniqueEmail } from '../helpers/fixtures.ts';
import { browserSuite, logInInBrowser, signUpInBrowser, submitForm } from '../helpers/browser.ts';
import { currentCode, enrollAuthenticatorApp, nextStepCode, wrongCode } from '../helpers/two-factor.ts';
import { decodeQRCodeOnPage, enrollInBrowser, openAppEnrollment, recoveryCodesOnPage, secretOnPage, sessionCookie } from './two-factor-helpers.ts';

const STEP_MS = 30_000;

browserSuite('Mobile App two-factor authentication in a browser', (context) => {
  it('enables the Mobile App from User Details with the QR code, shows recovery codes once, and logs in through the Verification Code page', async () => {
    const { server } = context();
    const page = await context().newPage();
    const email = uniqueEmail('ada');
    await signUpInBrowser(page, { accountName: 'Acme', name: 'Ada Lovelace', email, password: PASSWORD });
    await page.waitForURL('**/user');

    await page.locator('#two-factor-enrollment').getByRole('button', { name: 'Mobile App' }).click();
    await page.getByRole('button', { name: 'iPhone' }).click();
    const apps = await page.getByRole('list').filter({ hasText: 'Authenticator' }).getByRole('listitem').allInnerTexts();
    assert.deepEqual(apps, ['Google Authenticator', 'Microsoft Authenticator', '1Password', 'Authy']);
    const pageAnswer = page.waitForResponse((response) => response.request().method() === 'POST');
    await page.getByRole('button', { name: 'Continue' }).click();
    assert.equal((await pageAnswer).headers()['cache-control'], 'no-store', 'the page with the secret is never cached');

    const secret = await secretOnPage(page);
    assert.equal(secret.length, 32, '160 bits in base32');
    const uri = await decodeQRCodeOnPage(page);
    assert.equal(uri, `otpauth://totp/Twofold:${email}?secret=${secret}&issuer=Twofold&algorithm=SHA1&digits=6&period=30`);
    // The secret lives in the page's text only: no form field or cookie carries it (rule 12).
    for (const value of await page.locator('input').evaluateAll((inputs) => inputs.map((input) => (input as HTMLInputElement).value))) assert.ok(!value.includes(secret));
    assert.ok((await page.context().cookies()).every((cookie) => !cookie.value.includes(secret)));

    await page.getByLabel('Confirm', { exact: true }).fill(currentCode(server, secret));
    const confirmed = page.waitForResponse((response) => response.request().method() === 'POST');
    await page.getByRole('button', { name: 'Confirm' }).click();
    const answer = await confirmed;
    assert.equal(answer.status(), 200);
    assert.equal(answer.headers()['cache-control'], 'no-store');
    const codes = await recoveryCodesOnPage(page);
    assert.equal(codes.length, 10);
    for (const code of codes) assert.match(code, /^[a-z2-7]{5}-[a-z2-7]{5}$/);
    assert.match(await page.locator('main').innerText(), /Each code works once/);
    await page.getByRole('link', { name: 'Continue' }).click();
    await page.waitForURL('**/user');
    const section = await page.locator('section', { has: page.getByRole('heading', { name: 'Two-Factor Authentication' }) }).innerText();
    assert.match(section, /Status: Mobile App/);
    assert.match(section, /10 unused recovery codes left/);
    await page.getByRole('button', { name: 'Regenerate recovery codes' }).waitFor();

    await page.getByRole('button', { name: 'Log out' }).click();
    await page.waitForURL('**/login');
    assert.equal(await logInInBrowser(page, email), 303);
    await page.waitForURL('**/login/verify');
    await page.getByRole('heading', { name: 'Verification Code' }).waitFor();
    const halfway = await sessionCookie(page);
    // The half-authenticated session reaches nothing else: User Details sends it back here.
    await page.goto('/user');
    await page.waitForURL('**/login/verify');

    await page.getByLabel('Verification code', { exact: true }).fill(wrongCode(server, secret));
    assert.equal(await submitForm(page, 'Continue'), 401);
    assert.equal(await page.getByRole('alert').innerText(), 'The code is not valid. Check it and try again. 4 tries left before this login ends.');
    assert.equal(await page.getByLabel('Verification code', { exact: true }).inputValue(), '', 'the code is not echoed back');

    // The enrollment's own code cannot log in within its step (rule 5): use the next step's.
    await page.getByLabel('Verification code', { exact: true }).fill(nextStepCode(server, secret));
    assert.equal(await submitForm(page, 'Continue'), 303);
    await page.waitForURL('**/user');
    await page.getByRole('heading', { name: 'User Details' }).waitFor();
    const complete = await sessionCookie(page);
    assert.ok(complete && halfway && complete !== halfway, 'the session token is replaced when the login completes');
  });

  it('logs in with a recovery code through "Use a recovery code", once per code', async () => {
    const { server } = context();
    const api = apiClient(server.url);
    const { email, token } = await signUp(api);
    const { recoveryCodes } = await enrollAuthenticatorApp(server, api, token);
    const page = await context().newPage();

    assert.equal(await logInInBrowser(page, email), 303);
    await page.waitForURL('**/login/verify');
    await page.getByRole('link', { name: 'Use a recovery code' }).click();
    await page.waitForURL('**/login/verify?method=recovery');
    await page.getByLabel('Recovery code', { exact: true }).fill('aaaaa-aaaaa');
    assert.equal(await submitForm(page, 'Continue'), 401);
    assert.equal(await page.getByRole('alert').innerText(), 'The code is not valid. Check it and try again. 4 tries left before this login ends.');
    // Typed as people do: upper case, without the hyphen.
    await page.getByLabel('Recovery code', { exact: true }).fill(recoveryCodes[0]!.replace('-', '').toUpperCase());
    assert.equal(await submitForm(page, 'Continue'), 303);
    await page.waitForURL('**/user');
    assert.match(await page.locator('#two-factor-enrollment').innerText(), /9 unused recovery codes left/);

    await page.getByRole('button', { name: 'Log out' }).click();
    await page.waitForURL('**/login');
    await logInInBrowser(page, email);
    await page.goto('/login/verify?method=recovery');
    await page.getByLabel('Recovery code', { exact: true }).fill(recoveryCodes[0]!);
    assert.equal(await submitForm(page, 'Continue'), 401, 'a used recovery code does not work twice');
    await page.getByRole('link', { name: 'Use the authenticator app' }).click();
    await page.getByLabel('Verification code', { exact: true }).waitFor();
  });

  it('rotates the QR code before it expires without a reload, keeps what was typed, and refuses the old secret', async () => {
    const { server } = context();
    const api = apiClient(server.url);
    const { email } = await signUp(api);
    const page = await context().newPage();
    // The page's timers run on a clock the test moves, as the server's does.
    await page.clock.install();
    assert.equal(await logInInBrowser(page, email), 303);
    await openAppEnrollment(page, 'Android');

    const oldSecret = await secretOnPage(page);
    const oldEnrollmentId = await page.locator('input[name="enrollmentId"]').inputValue();
    const oldQR = await decodeQRCodeOnPage(page);
    await page.evaluate(() => Object.assign(window, { stillTheSamePage: true }));
    await page.getByLabel('Confirm', { exact: true }).fill('12');

    const lifetime = server.config.policy.totpEnrollmentMs;
    server.clock.advance(lifetime);
    const rotated = page.waitForResponse((response) => response.url().endsWith('/user/two-factor/app/rotate'));
    await page.clock.fastForward(lifetime);
    assert.equal((await rotated).status(), 201);
    await page.getByRole('status').filter({ hasText: 'a new one is shown' }).waitFor();

    const newSecret = await secretOnPage(page);
    assert.notEqual(newSecret, oldSecret);
    assert.notEqual(await page.locator('input[name="enrollmentId"]').inputValue(), oldEnrollmentId);
    const newQR = await decodeQRCodeOnPage(page);
    assert.notEqual(newQR, oldQR);
    assert.match(newQR, new RegExp(`[?&]secret=${newSecret}&`));
    assert.equal(await page.evaluate(() => (window as unknown as { stillTheSamePage?: boolean }).stillTheSamePage), true, 'no reload');
    assert.equal(await page.getByLabel('Confirm', { exact: true }).inputValue(), '12', 'what was typed is kept');

    // The old enrollment is void: through the API (410) and through the page, which says the
    // QR code changed since it was scanned (issue 17).
    const session = await sessionCookie(page);
    const viaAPI = await api.post('/me/2fa/totp/confirm', { enrollmentId: oldEnrollmentId, code: currentCode(server, oldSecret) }, { cookie: `twofold_session=${session}`, origin: server.origin });
    assert.equal(viaAPI.status, 410);
    assert.equal(viaAPI.body.error, 'enrollment_expired');
    await page.getByLabel('Confirm', { exact: true }).fill(currentCode(server, oldSecret));
    assert.equal(await submitForm(page, 'Confirm'), 401);
    assert.equal(await page.getByRole('alert').innerText(), 'The QR code changed after you scanned it. In your authenticator app, remove the Twofold entry you just added, then scan the new QR code.');
    assert.equal(await secretOnPage(page), newSecret, 'the new QR code stays in view');

    await page.getByLabel('Confirm', { exact: true }).fill(currentCode(server, newSecret));
    assert.equal(await submitForm(page, 'Confirm'), 200);
    assert.equal((await recoveryCodesOnPage(page)).length, 10);
  });

  it('hides an expiring QR code and says what to do when no new one can be had (the session ended meanwhile)', async () => {
    const { server } = context();
    const { email, userId } = await signUp(apiClient(server.url));
    const page = await context().newPage();
    await page.clock.install();
    assert.equal(await logInInBrowser(page, email), 303);
    await openAppEnrollment(page, 'iPhone');
    await server.deps.db.deleteFrom('sessions').where('user_id', '=', userId).execute();

    const lifetime = server.config.policy.totpEnrollmentMs;
    server.clock.advance(lifetime);
    await page.clock.fastForward(lifetime);
    await page.getByRole('status').filter({ hasText: 'This QR code has expired. Use "Start again" to get a new one.' }).waitFor();
    assert.equal(await page.getByRole('img', { name: 'QR code' }).isVisible(), false);
    assert.equal((await page.locator('.secret code').innerText()).trim(), '');
  });

  it('regenerates recovery codes after the password is entered again, and only the new set works', async () => {
    const { server } = context();
    const page = await context().newPage();
    const email = uniqueEmail('ada');
    await signUpInBrowser(page, { accountName: 'Acme', name: 'Ada Lovelace', email, password: PASSWORD });
    await page.waitForURL('**/user');
    const { recoveryCodes: first } = await enrollInBrowser(page, server);

    server.clock.advance(server.config.policy.recentAuthenticationMs + STEP_MS);
    await page.goto('/user');
    await page.getByRole('button', { name: 'Regenerate recovery codes' }).click();
    await page.getByRole('heading', { name: 'Regenerate recovery codes' }).waitFor();
    assert.equal(await page.getByRole('button', { name: 'Regenerate recovery codes' }).count(), 0, 'the password comes first');
    await page.getByLabel('Password', { exact: true }).fill(PASSWORD);
    assert.equal(await submitForm(page, 'Confirm'), 303);
    await page.waitForURL('**/user/two-factor/recovery-codes');
    const regenerated = page.waitForResponse((response) => response.request().method() === 'POST');
    await page.getByRole('button', { name: 'Regenerate recovery codes' }).click();
    assert.equal((await regenerated).headers()['cache-control'], 'no-store');
    const second = await recoveryCodesOnPage(page);
    assert.equal(second.length, 10);
    assert.equal(second.filter((code) => first.includes(code)).length, 0);

    const api = apiClient(server.url);
    const oldCode = await api.post('/login/verify', { method: 'recovery', code: first[1] }, { token: (await logIn(api, email)).token });
    assert.equal(oldCode.status, 401, 'the old set stopped working');
    const newCode = await api.post('/login/verify', { method: 'recovery', code: second[1] }, { token: (await logIn(api, email)).token });
    assert.equal(newCode.status, 200, newCode.text);
  });
});
