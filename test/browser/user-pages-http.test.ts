/**
 * Issue 17's page fixes over plain HTTP (FormSession), on SQLite and PostgreSQL, where statuses
 * and stored state matter: "Remove" one method (the page form of DELETE /me/2fa/methods/{method},
 * same proof, the last method refused), the QR page (a wrong code keeps the QR code, a code from
 * the replaced QR code says so, a reloaded recovery-codes page is not "expired"), recovery codes'
 * Download, the Verification Code page's tries left and pause, the password lock's time, and the
 * admin pages (Deactivate asks first, Reactivate, one's own page, inviting a taken address).
 */
import assert from 'node:assert/strict';
import { it } from 'node:test';
import { FormSession } from '../helpers/browser.ts';
import { inviteAndAccept, PASSWORD, signUp, uniqueEmail } from '../helpers/fixtures.ts';
import type { TestServer } from '../helpers/server.ts';
import { enrollSMS } from '../helpers/sms.ts';
import { forEachDatabase } from '../helpers/suites.ts';
import { enrollmentIdIn, logInOverHTTP, secretIn } from './two-factor-helpers.ts';
import { currentCode, enrollAuthenticatorApp, securityEvents, wrongCode } from '../helpers/two-factor.ts';

async function methodsOf(server: TestServer, userId: string): Promise<string[]> {
  return (await server.deps.db.selectFrom('factors').select('kind').where('user_id', '=', userId).execute()).map((row) => row.kind).sort();
}

const decodeEntities = (text: string) => text.replace(/&amp;/g, '&').replace(/&quot;/g, '"').replace(/&#39;/g, "'").replace(/&lt;/g, '<').replace(/&gt;/g, '>');

forEachDatabase('Remove one method from User Details over HTTP', (context) => {
  it('removes SMS and keeps the app and recovery codes after the password, and refuses a wrong password without a change', async () => {
    const { server, api } = context();
    const { email, token, userId } = await signUp(api);
    const { secret } = await enrollAuthenticatorApp(server, api, token);
    await enrollSMS(server, api, token);
    const browser = await logInOverHTTP(server, email, secret);
    const details = await browser.get('/user');
    assert.match(details.text, /aria-label="Remove Mobile App"/);
    assert.match(details.text, /aria-label="Remove SMS Message"/);
    const codesBefore = await server.deps.db.selectFrom('recovery_codes').select('code_hash').where('user_id', '=', userId).execute();

    const path = '/user/two-factor/methods/sms/remove';
    const page = await browser.get(path);
    assert.equal(page.status, 200);
    assert.match(page.text, /<h1>Remove SMS Message<\/h1>/);
    assert.match(page.text, /You keep Mobile App and your recovery codes/);

    const wrong = await browser.post(path, { password: 'not the password' });
    assert.equal(wrong.status, 401);
    assert.match(wrong.text, /role="alert">That did not match\. Check it and try again\./);
    assert.deepEqual(await methodsOf(server, userId), ['sms', 'totp']);
    assert.equal((await browser.post(path, { password: PASSWORD }, { formPage: path, origin: 'https://evil.example' })).status, 403, 'another origin changes nothing');
    assert.equal((await browser.post(path, { password: PASSWORD, _csrf: 'forged' })).status, 403, 'a forged token changes nothing');
    assert.deepEqual(await methodsOf(server, userId), ['sms', 'totp']);

    const removed = await browser.post(path, { password: PASSWORD });
    assert.equal(removed.status, 200, removed.text);
    assert.match(removed.text, /<h1>SMS Message removed<\/h1>/);
    assert.deepEqual(await methodsOf(server, userId), ['totp']);
    assert.deepEqual(await server.deps.db.selectFrom('recovery_codes').select('code_hash').where('user_id', '=', userId).execute(), codesBefore, 'the recovery codes stay');
    assert.equal((await securityEvents(server, userId, 'factor_removed')).length, 1);

    // One method left: no "Remove" on User Details, and the page refuses before asking anything.
    const after = await browser.get('/user');
    assert.doesNotMatch(after.text, /aria-label="Remove /);
    const last = await browser.get('/user/two-factor/methods/totp/remove');
    assert.equal(last.status, 409);
    assert.match(last.text, /This is your only second factor\. Use &quot;Disable Two Factor&quot;/);
    assert.doesNotMatch(last.text, /name="password"/);
    const posted = await browser.post('/user/two-factor/methods/totp/remove', { password: PASSWORD }, { formPage: '/user' });
    assert.equal(posted.status, 409);
    assert.deepEqual(await methodsOf(server, userId), ['totp']);
  });

  it('removes the app with a current code from it, and under enforcement refuses the last method saying who requires it', async () => {
    const { server, api } = context();
    const { email, token, userId, accountId } = await signUp(api);
    const { secret } = await enrollAuthenticatorApp(server, api, token);
    await enrollSMS(server, api, token);
    const browser = await logInOverHTTP(server, email, secret);
    server.clock.advance(30_000);
    const removed = await browser.post('/user/two-factor/methods/totp/remove', { code: currentCode(server, secret) }, { formPage: '/user/two-factor/methods/totp/remove' });
    assert.equal(removed.status, 200, removed.text);
    assert.deepEqual(await methodsOf(server, userId), ['sms']);

    // SMS only now: the texts never mention an app, and no app code is offered.
    const disable = await browser.get('/user/two-factor/disable');
    assert.doesNotMatch(disable.text, /authenticator app/);
    assert.match(disable.text, /your text-message phone number and your recovery codes/);
    const details = await browser.get('/user');
    assert.match(details.text, /removes your text-message phone and your recovery codes/);

    await server.deps.db.updateTable('accounts').set({ enforce_2fa: 1 }).where('id', '=', accountId).execute();
    const refused = await browser.get('/user/two-factor/methods/sms/remove');
    assert.equal(refused.status, 409);
    assert.match(refused.text, /This is your only second factor, and the administrators of Acme require two-factor authentication\. Add another method first/);
    assert.deepEqual(await methodsOf(server, userId), ['sms']);
  });

  it('lets only one of two concurrent removals through, so the user keeps a method', async () => {
    const { server, api } = context();
    const { email, token, userId } = await signUp(api);
    const { secret } = await enrollAuthenticatorApp(server, api, token);
    await enrollSMS(server, api, token);
    const browser = await logInOverHTTP(server, email, secret);
    const answers = await Promise.all([
      browser.post('/user/two-factor/methods/totp/remove', { password: PASSWORD }, { formPage: '/user/two-factor/methods/totp/remove' }),
      browser.post('/user/two-factor/methods/sms/remove', { password: PASSWORD }, { formPage: '/user/two-factor/methods/sms/remove' }),
    ]);
    assert.deepEqual(answers.map((answer) => answer.status).sort(), [200, 409]);
    assert.equal((await methodsOf(server, userId)).length, 1);
  });
});

forEachDatabase('QR page and recovery codes over HTTP', (context) => {
  async function startEnrollment(server: TestServer, email: string): Promise<{ browser: FormSession; page: string }> {
    const browser = await logInOverHTTP(server, email);
    const started = await browser.post('/user/two-factor/app/enrollment', { os: 'android' }, { formPage: '/user/two-factor/app?os=android' });
    assert.equal(started.status, 200, started.text);
    return { browser, page: started.text };
  }

  it('keeps the QR code and key after a wrong code, and says a code from the replaced QR code means scanning the new one', async () => {
    const { server, api } = context();
    const { email, userId } = await signUp(api);
    const { browser, page } = await startEnrollment(server, email);
    const scanned = secretIn(page);
    const firstId = enrollmentIdIn(page);
    assert.match(page, /<a class="button" data-otpauth href="otpauth:\/\/totp\/[^"]+secret=[A-Z2-7]+/);
    assert.match(page, /When it expires, choose “Start again” \(or reload the page\) for a new one\./);

    const wrong = await browser.post('/user/two-factor/app/confirm', { enrollmentId: firstId, code: wrongCode(server, scanned), os: 'android' }, { formPage: '/user' });
    assert.equal(wrong.status, 401);
    assert.match(wrong.text, /role="alert">The code is not valid\. Check it and try again\./);
    assert.match(wrong.text, /alt="QR code"/, 'the QR code is still there');
    assert.equal(secretIn(wrong.text), scanned, 'the same key is shown');
    assert.equal(enrollmentIdIn(wrong.text), firstId);

    // The script rotates the QR code; the person typed a code from the one they scanned before.
    const rotated = await browser.post('/user/two-factor/app/rotate', {}, { formPage: '/user' });
    assert.equal(rotated.status, 201);
    const fresh = JSON.parse(rotated.text) as { enrollmentId: string; secret: string; otpauthURI: string };
    assert.match(fresh.otpauthURI, new RegExp(`secret=${fresh.secret.replace(/ /g, '')}`));
    const old = await browser.post('/user/two-factor/app/confirm', { enrollmentId: fresh.enrollmentId, code: currentCode(server, scanned) }, { formPage: '/user' });
    assert.equal(old.status, 401);
    assert.match(old.text, /role="alert">The QR code changed after you scanned it\. In your authenticator app, remove the Twofold entry you just added, then scan the new QR code\./);
    assert.equal(secretIn(old.text), fresh.secret.replace(/ /g, ''), 'the new QR code is shown');
    assert.deepEqual(await methodsOf(server, userId), [], 'the old secret confirms nothing');
    // A code that is wrong for both reads as a plain wrong code.
    const neither = await browser.post('/user/two-factor/app/confirm', { enrollmentId: fresh.enrollmentId, code: wrongCode(server, fresh.secret.replace(/ /g, '')) }, { formPage: '/user' });
    assert.match(neither.text, /role="alert">The code is not valid\./);

    const confirmed = await browser.post('/user/two-factor/app/confirm', { enrollmentId: fresh.enrollmentId, code: currentCode(server, fresh.secret.replace(/ /g, '')) }, { formPage: '/user' });
    assert.equal(confirmed.status, 200, confirmed.text);
    assert.deepEqual(await methodsOf(server, userId), ['totp']);

    // Reloading the recovery-codes page posts the form again: set up, not "expired".
    const reloaded = await browser.post('/user/two-factor/app/confirm', { enrollmentId: fresh.enrollmentId, code: currentCode(server, fresh.secret.replace(/ /g, '')) }, { formPage: '/user' });
    assert.equal(reloaded.status, 200);
    assert.match(reloaded.text, /Your authenticator app is set up/);
    assert.match(reloaded.text, /href="\/user"/);
    assert.doesNotMatch(reloaded.text, /expired/);
  });

  it('offers the recovery codes as a download built from the page: account, e-mail, date and the very codes shown', async () => {
    const { server, api } = context();
    const { email } = await signUp(api);
    const { browser, page } = await startEnrollment(server, email);
    const confirmed = await browser.post('/user/two-factor/app/confirm', { enrollmentId: enrollmentIdIn(page), code: currentCode(server, secretIn(page)) }, { formPage: '/user' });
    assert.equal(confirmed.status, 200);
    assert.equal(confirmed.headers.get('cache-control'), 'no-store');
    const shown = [...confirmed.text.matchAll(/<li><code>([a-z2-7]{5}-[a-z2-7]{5})<\/code><\/li>/g)].map((match) => match[1]);
    assert.equal(shown.length, 10);
    const link = /<a class="button" href="(data:text\/plain;charset=utf-8,[^"]+)" download="(twofold-recovery-codes-\d{4}-\d{2}-\d{2}\.txt)">Download<\/a>/.exec(confirmed.text);
    assert.ok(link, 'a Download link that needs no script');
    const file = decodeURIComponent(decodeEntities(link[1]!).slice('data:text/plain;charset=utf-8,'.length));
    assert.match(file, /^Twofold recovery codes\r\n/);
    assert.match(file, /\r\nAccount: Acme\r\n/);
    assert.ok(file.includes(`\r\nUser: ${email}\r\n`));
    assert.match(file, new RegExp(`Created: ${new Date(server.clock.now()).toISOString().slice(0, 10)} \\d\\d:\\d\\d UTC`));
    assert.deepEqual(file.split('\r\n').filter((line) => /^[a-z2-7]{5}-[a-z2-7]{5}$/.test(line)), shown);
    assert.match(confirmed.text, /<button type="button" class="copy-button" data-copy="recovery-code-list" hidden>Copy<\/button>/);
    assert.match(confirmed.text, /<button type="button" data-print hidden>Print<\/button>/);
    assert.match(confirmed.text, /<script src="\/assets\/copy-text\.js" defer><\/script>/);
  });
});

forEachDatabase('Verification Code page and login lock over HTTP', (context) => {
  it('says how many tries are left after a wrong code, autofocuses the code, and says a paused step is paused before a code is typed', async () => {
    const { server, api } = context();
    const { email, token } = await signUp(api);
    const { secret } = await enrollAuthenticatorApp(server, api, token);
    const first = new FormSession(server);
    assert.equal((await first.post('/login', { email, password: PASSWORD })).location, '/login/verify');
    const form = await first.get('/login/verify');
    assert.match(form.text, /<input id="field-code" name="code" type="text" class="code-input" inputmode="numeric" autocomplete="one-time-code" [^>]*autofocus>/);
    for (const left of [4, 3, 2, 1]) {
      const answer = await first.post('/login/verify', { method: 'totp', code: wrongCode(server, secret) });
      assert.equal(answer.status, 401);
      assert.match(answer.text, new RegExp(`role="alert">The code is not valid\\. Check it and try again\\. ${left === 1 ? '1 try' : `${left} tries`} left before this login ends\\.`));
    }
    assert.match((await first.post('/login/verify', { method: 'totp', code: wrongCode(server, secret) })).text, /<h1>Log in again<\/h1>/);

    // Five of the user's ten are spent: the next login has five again, but never more than the user's budget.
    const second = new FormSession(server);
    await second.post('/login', { email, password: PASSWORD });
    for (const left of [4, 3, 2, 1]) {
      const answer = await second.post('/login/verify', { method: 'totp', code: wrongCode(server, secret) });
      assert.match(answer.text, new RegExp(`${left === 1 ? '1 try' : `${left} tries`} left`));
    }
    const locking = await second.post('/login/verify', { method: 'totp', code: wrongCode(server, secret) });
    assert.match(locking.text, /<h1>Log in again<\/h1>/);

    const third = new FormSession(server);
    await third.post('/login', { email, password: PASSWORD });
    const paused = await third.get('/login/verify');
    assert.equal(paused.status, 200);
    const until = new Date(server.clock.now() + server.config.policy.secondFactorLockMs).toISOString().slice(11, 16);
    assert.match(paused.text, new RegExp(`role="alert">Too many wrong codes\\. For your security, codes are not accepted for 15 minutes\\. Try again after <time datetime="[^"]+Z" data-local="clock">${until}:\\d\\d UTC</time> \\(in 15 minutes\\)\\.`));
  });

  it('says when the password lock on /login lifts', async () => {
    const { server, api } = context();
    const { email } = await signUp(api);
    const browser = new FormSession(server);
    let answer = await browser.post('/login', { email, password: 'wrong password 0' });
    for (let attempt = 1; attempt <= server.config.policy.failedPasswordsPerEmail && answer.status !== 429; attempt += 1) {
      answer = await browser.post('/login', { email, password: `wrong password ${attempt}` });
    }
    assert.equal(answer.status, 429);
    assert.match(answer.text, /role="alert">Too many attempts\. Wait a while and try again\. Try again after <time datetime="[^"]+Z" data-local="clock">\d\d:\d\d:\d\d UTC<\/time> \(in \d+ minutes?\)\./);
  });
});

forEachDatabase('Admin pages over HTTP', (context) => {
  it('asks before deactivating, reactivates with a security-log entry, and offers an admin no deactivation or disable link for herself', async () => {
    const { server, api } = context();
    const admin = await signUp(api);
    // With 2FA on, so her own page would have a disable link to offer if it offered one.
    const { secret } = await enrollAuthenticatorApp(server, api, admin.token);
    const member = await inviteAndAccept(server, api, admin.token, 'user');
    const userPage = `/settings/users/${member.userId}`;
    const session = await logInOverHTTP(server, admin.email, secret);
    const page = await session.get(userPage);
    assert.match(page.text, /<form method="get" action="\/settings\/users\/[^"]+\/deactivate" class="inline-action"><button type="submit" class="danger">Deactivate user<\/button><\/form>/);

    const confirm = await session.get(`${userPage}/deactivate`);
    assert.equal(confirm.status, 200);
    assert.match(confirm.text, /<h1>Deactivate [^<]+\?<\/h1>/);
    assert.equal((await server.deps.db.selectFrom('users').select('active').where('id', '=', member.userId).executeTakeFirstOrThrow()).active, 1, 'asking changes nothing');

    const deactivated = await session.post(`${userPage}/deactivate`, {}, { formPage: `${userPage}/deactivate` });
    assert.equal(deactivated.status, 200);
    assert.match(deactivated.text, /is deactivated and has been logged out everywhere/);
    assert.match(deactivated.text, /<button type="submit" class="primary">Reactivate user<\/button>/);
    assert.equal((await session.get(`${userPage}/deactivate`)).status, 303, 'no confirmation for a deactivated user');

    const reactivated = await session.post(`${userPage}/reactivate`, {}, { formPage: userPage });
    assert.equal(reactivated.status, 200);
    assert.match(reactivated.text, /is active again and can log in/);
    assert.equal((await server.deps.db.selectFrom('users').select('active').where('id', '=', member.userId).executeTakeFirstOrThrow()).active, 1);
    const logged = await securityEvents(server, member.userId, 'user_deactivated');
    assert.deepEqual(logged.map((event) => JSON.parse(event.detail).active).sort(), [false, true], 'deactivated, then reactivated (one event type, PRODUCT.md §6)');
    assert.equal((await session.post(`${userPage}/reactivate`, { _csrf: 'forged' })).status, 403);

    const own = await session.get(`/settings/users/${admin.userId}`);
    assert.equal(own.status, 200);
    assert.doesNotMatch(own.text, /Deactivate user/);
    assert.doesNotMatch(own.text, /Send link to disable 2FA/);
    assert.equal((await session.get(`/settings/users/${admin.userId}/deactivate`)).status, 303);
  });

  it('says only that an invitation could not be sent to a taken address, on the page and in the API', async () => {
    const { server, api } = context();
    const admin = await signUp(api);
    const other = await signUp(api, uniqueEmail('elsewhere'), 'Other');
    const session = await logInOverHTTP(server, admin.email);
    const page = await session.post('/settings/users', { email: other.email, name: 'Someone', role: 'user' });
    assert.equal(page.status, 409);
    assert.match(page.text, /The invitation could not be sent to that address\. Use another address\./);
    assert.doesNotMatch(page.text, /Try logging in/);
    const answer = await api.post('/account/users', { email: other.email, name: 'Someone', role: 'user' }, { token: admin.token });
    assert.equal(answer.status, 409);
    assert.equal(answer.body.error, 'email_taken');
    assert.equal(answer.body.message, 'The invitation could not be sent to that address. Use another address.');
  });
});
