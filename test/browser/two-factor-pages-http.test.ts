/**
 * The two-factor pages over plain HTTP (FormSession), where exact statuses and headers matter:
 * the Verification Code page keeps the API's limits (five wrong codes end a login, ten per user
 * lock with 429 and Retry-After, a malformed code still counts — SECURITY.md rules 1, 33),
 * every new form refuses a post without its CSRF token (rule 26), the rotation endpoint answers
 * the new enrollment uncached and voids the previous one (rules 13, 14), and regenerating
 * recovery codes is refused to a session whose login is not recent (rule 28).
 */
import assert from 'node:assert/strict';
import { it } from 'node:test';
import { FormSession } from '../helpers/browser.ts';
import { PASSWORD, signUp } from '../helpers/fixtures.ts';
import type { TestServer } from '../helpers/server.ts';
import { forEachDatabase } from '../helpers/suites.ts';
import { enrollmentIdIn, logInOverHTTP, secretIn } from './two-factor-helpers.ts';
import { currentCode, enrollAuthenticatorApp, nextStepCode, securityEvents, wrongCode } from '../helpers/two-factor.ts';

async function passwordStep(server: TestServer, email: string): Promise<FormSession> {
  const browser = new FormSession(server);
  const login = await browser.post('/login', { email, password: PASSWORD });
  assert.equal(login.status, 303, login.text);
  assert.equal(login.location, '/login/verify');
  return browser;
}

forEachDatabase('two-factor pages over HTTP', (context) => {
  it('ends a login after five wrong codes with a way back to the login page, and locks the user after ten with 429 and Retry-After', async () => {
    const { server, api } = context();
    const { email, token, userId } = await signUp(api);
    const { secret } = await enrollAuthenticatorApp(server, api, token);

    for (let login = 0; login < 2; login += 1) {
      const browser = await passwordStep(server, email);
      for (let attempt = 1; attempt <= 5; attempt += 1) {
        const answer = await browser.post('/login/verify', { method: 'totp', code: wrongCode(server, secret) });
        assert.equal(answer.status, 401, `login ${login}, attempt ${attempt}`);
        if (attempt < 5) assert.match(answer.text, /role="alert">The code is not valid\. Check it and try again\./);
        else {
          assert.match(answer.text, /<h1>Log in again<\/h1>/);
          assert.match(answer.text, /href="\/login"/);
          assert.equal(browser.cookie('twofold_session'), undefined, 'the ended session\'s cookie is cleared');
        }
      }
    }
    const locked = await passwordStep(server, email);
    const refused = await locked.post('/login/verify', { method: 'totp', code: currentCode(server, secret) });
    assert.equal(refused.status, 429);
    assert.ok(Number(refused.headers.get('retry-after')) > 60, `Retry-After ${refused.headers.get('retry-after')}`);
    assert.match(refused.text, /role="alert">Too many wrong codes\. For your security, codes are not accepted for 15 minutes\./);
    assert.equal((await securityEvents(server, userId, 'second_factor_locked')).length, 1);
  });

  it('counts a malformed code as a guess and answers 400 with what to type, never the code itself', async () => {
    const { server, api } = context();
    const { email, token, userId } = await signUp(api);
    await enrollAuthenticatorApp(server, api, token);
    const browser = await passwordStep(server, email);
    for (const code of ['12345', '１２３４５６', '+12345', 'x'.repeat(65)]) {
      const answer = await browser.post('/login/verify', { method: 'totp', code });
      assert.equal(answer.status, 400, code);
      assert.doesNotMatch(answer.text, new RegExp(`value="${code}"`));
    }
    assert.equal((await securityEvents(server, userId, 'second_factor_failed')).length, 4);
    const recovery = await browser.post('/login/verify?method=recovery', { method: 'recovery', code: 'not a code!' });
    assert.equal(recovery.status, 401, 'the fifth wrong answer ends the login');
  });

  it('sends a finished login that opens the Verification Code page again on to User Details, and still refuses a code posted there', async () => {
    const { server, api } = context();
    const { email, token } = await signUp(api);
    const { secret } = await enrollAuthenticatorApp(server, api, token);
    const browser = await passwordStep(server, email);
    const done = await browser.post('/login/verify', { method: 'totp', code: nextStepCode(server, secret) });
    assert.equal(done.status, 303, done.text);
    const again = await browser.get('/login/verify');
    assert.equal(again.status, 303);
    assert.equal(again.location, '/user');
    const posted = await browser.post('/login/verify', { method: 'totp', code: '123456', _csrf: 'x' });
    assert.equal(posted.status, 403, 'a complete session has no code to give');
  });

  it('refuses every new form posted without its CSRF token', async () => {
    const { server, api } = context();
    const { email, token } = await signUp(api);
    const newcomer = await logInOverHTTP(server, (await signUp(api)).email);
    const forms: Array<[string, Record<string, string>]> = [
      ['/user/two-factor/app/enrollment', { os: 'iphone' }],
      ['/user/two-factor/app/rotate', {}],
      ['/user/two-factor/app/confirm', { enrollmentId: 'x', code: '123456' }],
    ];
    for (const [path, fields] of forms) assert.equal((await newcomer.post(path, { ...fields, _csrf: '' })).status, 403, path);

    const { secret } = await enrollAuthenticatorApp(server, api, token);
    const halfway = await passwordStep(server, email);
    assert.equal((await halfway.post('/login/verify', { method: 'totp', code: currentCode(server, secret), _csrf: 'forged' })).status, 403);
    const done = await halfway.post('/login/verify', { method: 'totp', code: currentCode(server, secret) }, { origin: 'http://evil.example', formPage: '/login/verify' });
    assert.equal(done.status, 403, 'a cross-origin post is refused even with the token');
  });

  it('rotates through the page endpoint: the new enrollment comes back uncached and the old one is void', async () => {
    const { server, api } = context();
    const browser = await logInOverHTTP(server, (await signUp(api)).email);
    const first = await browser.post('/user/two-factor/app/enrollment', { os: 'android' }, { formPage: '/user/two-factor/app?os=android' });
    assert.equal(first.status, 200);
    assert.equal(first.headers.get('cache-control'), 'no-store');
    assert.match(first.text, /<img data-qr src="data:image\/svg\+xml;base64,[A-Za-z0-9+/=]+" alt="QR code"/);
    assert.match(first.text, /<script src="\/assets\/two-factor-enrollment\.js" defer><\/script>/);
    const oldSecret = secretIn(first.text);
    const oldId = enrollmentIdIn(first.text);
    assert.doesNotMatch(first.text, new RegExp(`value="[^"]*${oldSecret}`), 'the secret is in no form field');

    const rotated = await browser.post('/user/two-factor/app/rotate', {}, { formPage: '/user' });
    assert.equal(rotated.status, 201, rotated.text);
    assert.equal(rotated.headers.get('cache-control'), 'no-store');
    const body = JSON.parse(rotated.text) as { enrollmentId: string; secret: string; qrCode: string; expiresInMs: number };
    assert.notEqual(body.enrollmentId, oldId);
    assert.notEqual(body.secret.replace(/ /g, ''), oldSecret);
    assert.equal(body.expiresInMs, server.config.policy.totpEnrollmentMs);

    const stale = await browser.post('/user/two-factor/app/confirm', { enrollmentId: oldId, code: currentCode(server, oldSecret), os: 'android' }, { formPage: '/user' });
    assert.equal(stale.status, 410);
    assert.match(stale.text, /role="alert">This QR code has expired\. Scan the new one\./);
    const fresh = await browser.post('/user/two-factor/app/confirm', { enrollmentId: enrollmentIdIn(stale.text), code: currentCode(server, secretIn(stale.text)) }, { formPage: '/user' });
    assert.equal(fresh.status, 200);
    assert.equal(fresh.headers.get('cache-control'), 'no-store');
    assert.equal((fresh.text.match(/<li><code>[a-z2-7]{5}-[a-z2-7]{5}<\/code><\/li>/g) ?? []).length, 10);
  });

  it('refuses to regenerate recovery codes for a login older than 15 minutes, and changes nothing', async () => {
    const { server, api } = context();
    const { email, token, userId } = await signUp(api);
    const { secret } = await enrollAuthenticatorApp(server, api, token);
    const browser = await passwordStep(server, email);
    server.clock.advance(30_000);
    assert.equal((await browser.post('/login/verify', { method: 'totp', code: currentCode(server, secret) })).status, 303);
    const before = await server.deps.db.selectFrom('recovery_codes').select('code_hash').where('user_id', '=', userId).execute();

    server.clock.advance(server.config.policy.recentAuthenticationMs + 1000);
    const refused = await browser.post('/user/two-factor/recovery-codes', {}, { formPage: '/user/two-factor/recovery-codes' });
    assert.equal(refused.status, 403);
    assert.match(refused.text, /Confirm your password/);
    assert.deepEqual(await server.deps.db.selectFrom('recovery_codes').select('code_hash').where('user_id', '=', userId).execute(), before);
  });
});

forEachDatabase('Disable Two Factor over HTTP', (context) => {
  it('keeps the session that disabled 2FA signed in and signs out every other session (PRODUCT.md §2.5)', async () => {
    const { api, server } = context();
    const admin = await signUp(api);
    const enrolled = await enrollAuthenticatorApp(server, api, admin.token);
    const browser = await passwordStep(server, admin.email);
    const verified = await browser.post('/login/verify', { method: 'totp', code: nextStepCode(server, enrolled.secret) });
    assert.equal(verified.status, 303, verified.text);
    const disabled = await browser.post('/user/two-factor/disable', { password: PASSWORD }, { formPage: '/user/two-factor/disable' });
    assert.equal(disabled.status, 200, disabled.text);
    assert.match(disabled.text, /Two-factor authentication is off/);
    assert.match(disabled.text, /Log out/, 'the answer is a signed-in page');
    const userPage = await browser.get('/user');
    assert.equal(userPage.status, 200, 'the browser that disabled 2FA is still signed in');
    assert.match(userPage.text, /Not enabled/);
    assert.equal((await api.get('/me', { token: enrolled.token })).status, 401, 'the other session is signed out');
  });
});
