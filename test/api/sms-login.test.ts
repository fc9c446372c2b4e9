/**
 * Logging in with a texted code (PRODUCT.md §2.2, §3 POST /login/sms and /login/verify method
 * sms; SECURITY.md rules 1, 6, 7, 18): the text at the password step, switching methods,
 * resending, and a code that finishes exactly one login.
 */
import assert from 'node:assert/strict';
import { it } from 'node:test';
import { PASSWORD, signUp } from '../helpers/fixtures.ts';
import { forEachDatabase } from '../helpers/suites.ts';
import { enrollAuthenticatorApp, nextStepCode, passwordStep, securityEvents } from '../helpers/two-factor.ts';
import { enrollSMS, latestSMSCode, otherCode, textsTo } from '../helpers/sms.ts';

forEachDatabase('logging in by text message', (context) => {
  it('texts an SMS-only user at the password step, and the code finishes the login under a new token', async () => {
    const { api, server } = context();
    const admin = await signUp(api);
    const { phone } = await enrollSMS(server, api, admin.token);
    const login = await api.post('/login', { email: admin.email, password: PASSWORD });
    assert.equal(login.status, 200);
    assert.deepEqual(Object.keys(login.body).sort(), ['methods', 'state', 'token'], 'the password step answers its usual shape');
    assert.equal(login.body.state, 'mfa_required');
    assert.deepEqual(login.body.methods, ['sms']);
    assert.equal(textsTo(server, phone).length, 2, 'enrollment text, then the login text');
    const verified = await api.post('/login/verify', { method: 'sms', code: latestSMSCode(server, phone) }, { token: login.body.token });
    assert.equal(verified.status, 200, verified.text);
    assert.notEqual(verified.body.token, login.body.token);
    assert.equal((await api.get('/me', { token: verified.body.token })).status, 200);
    assert.equal((await api.get('/me', { token: login.body.token })).status, 401);
    const succeeded = await securityEvents(server, admin.userId, 'login_succeeded');
    assert.ok(succeeded.some((e) => JSON.parse(e.detail).methods === 'password,sms'));
  });

  it('sends nothing for a wrong password', async () => {
    const { api, server } = context();
    const admin = await signUp(api);
    const { phone } = await enrollSMS(server, api, admin.token);
    assert.equal((await api.post('/login', { email: admin.email, password: 'not the password' })).status, 401);
    assert.equal(textsTo(server, phone).length, 1);
  });

  it('counts wrong SMS codes like any other: 401 invalid_code, and five end the login', async () => {
    const { api, server } = context();
    const admin = await signUp(api);
    const { phone } = await enrollSMS(server, api, admin.token);
    const pending = await passwordStep(api, admin.email);
    const code = latestSMSCode(server, phone);
    for (let i = 0; i < 5; i += 1) {
      const wrong = await api.post('/login/verify', { method: 'sms', code: otherCode(code) }, { token: pending });
      assert.equal(wrong.status, 401);
      assert.equal(wrong.body.error, 'invalid_code');
    }
    assert.equal((await securityEvents(server, admin.userId, 'second_factor_failed')).length, 5);
    const right = await api.post('/login/verify', { method: 'sms', code }, { token: pending });
    assert.equal(right.status, 401);
    assert.equal(right.body.error, 'unauthenticated');
  });

  it('spends the per-user second-factor budget: ten wrong SMS codes across logins lock codes for 15 minutes', async () => {
    const { api, server } = context();
    const admin = await signUp(api);
    const { phone } = await enrollSMS(server, api, admin.token);
    for (let login = 0; login < 2; login += 1) {
      const pending = await passwordStep(api, admin.email);
      const code = latestSMSCode(server, phone);
      for (let i = 0; i < 5; i += 1) assert.equal((await api.post('/login/verify', { method: 'sms', code: otherCode(code) }, { token: pending })).status, 401);
    }
    const pending = await passwordStep(api, admin.email);
    const locked = await api.post('/login/verify', { method: 'sms', code: latestSMSCode(server, phone) }, { token: pending });
    assert.equal(locked.status, 429);
    assert.equal(locked.body.error, 'too_many_attempts');
    assert.ok(Number(locked.headers.get('retry-after')) > 14 * 60);
  });

  it('answers 400 to a malformed SMS code and counts it as a guess', async () => {
    const { api, server } = context();
    const admin = await signUp(api);
    await enrollSMS(server, api, admin.token);
    const pending = await passwordStep(api, admin.email);
    for (const code of ['12345', '１２３４５６', 123456]) {
      const response = await api.post('/login/verify', { method: 'sms', code }, { token: pending });
      assert.equal(response.status, 400, JSON.stringify(code));
    }
    assert.equal((await securityEvents(server, admin.userId, 'second_factor_failed')).length, 3);
  });

  it('binds a texted code to its own login: it cannot finish another login of the same user', async () => {
    const { api, server } = context();
    const admin = await signUp(api);
    const { phone } = await enrollSMS(server, api, admin.token);
    const first = await passwordStep(api, admin.email);
    const firstCode = latestSMSCode(server, phone);
    const second = await passwordStep(api, admin.email);
    const secondCode = latestSMSCode(server, phone);
    if (firstCode !== secondCode) {
      assert.equal((await api.post('/login/verify', { method: 'sms', code: firstCode }, { token: second })).status, 401);
    }
    assert.equal((await api.post('/login/verify', { method: 'sms', code: firstCode }, { token: first })).status, 200);
  });

  it('lets exactly one of 20 concurrent verifications with one texted code finish the login', async () => {
    const { api, server } = context();
    const admin = await signUp(api);
    const { phone } = await enrollSMS(server, api, admin.token);
    const pending = await passwordStep(api, admin.email);
    const code = latestSMSCode(server, phone);
    const burst = await Promise.all(Array.from({ length: 20 }, () => api.post('/login/verify', { method: 'sms', code }, { token: pending })));
    assert.equal(burst.filter((r) => r.status === 200).length, 1, burst.map((r) => r.status).join(','));
    assert.ok(burst.every((r) => [200, 401, 429].includes(r.status)), burst.map((r) => r.status).join(','));
  });

  it('lets a user with both methods switch to SMS with POST /login/sms, and resend after the cooldown', async () => {
    const { api, server } = context();
    const admin = await signUp(api);
    const app = await enrollAuthenticatorApp(server, api, admin.token);
    const { phone } = await enrollSMS(server, api, app.token);
    const login = await api.post('/login', { email: admin.email, password: PASSWORD });
    assert.deepEqual(login.body.methods, ['totp', 'sms']);
    assert.equal(textsTo(server, phone).length, 1, 'no text until asked for one');

    const sent = await api.post('/login/sms', undefined, { token: login.body.token });
    assert.equal(sent.status, 202, sent.text);
    assert.equal(sent.body.phoneMasked, `+44 •••• ••• ${phone.slice(-4)}`);
    assert.equal(textsTo(server, phone).length, 2);
    const first = latestSMSCode(server, phone);

    server.clock.advance(5_000);
    const early = await api.post('/login/sms', undefined, { token: login.body.token });
    assert.equal(early.status, 429);
    assert.equal(early.headers.get('retry-after'), '25');
    assert.equal(textsTo(server, phone).length, 2);

    server.clock.advance(25_000);
    assert.equal((await api.post('/login/sms', undefined, { token: login.body.token })).status, 202);
    const second = latestSMSCode(server, phone);
    if (second !== first) assert.equal((await api.post('/login/verify', { method: 'sms', code: first }, { token: login.body.token })).status, 401, 'the resend voided the first code');
    const verified = await api.post('/login/verify', { method: 'sms', code: second }, { token: login.body.token });
    assert.equal(verified.status, 200, verified.text);

    // And the app still works for the next login.
    const next = await passwordStep(api, admin.email);
    assert.equal((await api.post('/login/verify', { method: 'totp', code: nextStepCode(server, app.secret) }, { token: next })).status, 200);
  });

  it('does not reset the login\'s wrong-code count on a resend', async () => {
    const { api, server } = context();
    const admin = await signUp(api);
    const { phone } = await enrollSMS(server, api, admin.token);
    const pending = await passwordStep(api, admin.email);
    for (let i = 0; i < 3; i += 1) await api.post('/login/verify', { method: 'sms', code: otherCode(latestSMSCode(server, phone)) }, { token: pending });
    server.clock.advance(30_000);
    assert.equal((await api.post('/login/sms', undefined, { token: pending })).status, 202);
    const code = latestSMSCode(server, phone);
    for (let i = 0; i < 2; i += 1) await api.post('/login/verify', { method: 'sms', code: otherCode(code) }, { token: pending });
    assert.equal((await api.post('/login/verify', { method: 'sms', code }, { token: pending })).status, 401);
  });

  it('refuses POST /login/sms to a user without SMS, to a complete session and to no session', async () => {
    const { api, server } = context();
    const admin = await signUp(api);
    const app = await enrollAuthenticatorApp(server, api, admin.token);
    const pending = await passwordStep(api, admin.email);
    const noSMS = await api.post('/login/sms', undefined, { token: pending });
    assert.equal(noSMS.status, 400);
    assert.equal(noSMS.body.error, 'sms_unavailable');
    assert.equal((await api.post('/login/sms', undefined, { token: app.token })).status, 403);
    assert.equal((await api.post('/login/sms')).status, 401);
  });

  it('ignores anything in the request that could choose the destination', async () => {
    const { api, server } = context();
    const admin = await signUp(api);
    const app = await enrollAuthenticatorApp(server, api, admin.token);
    const { phone } = await enrollSMS(server, api, app.token);
    const pending = await passwordStep(api, admin.email);
    const refused = await api.post('/login/sms', { phone: '+14155550199' }, { token: pending });
    assert.equal(refused.status, 400, 'no field may name a number');
    assert.equal((await api.post('/login/sms', {}, { token: pending })).status, 202);
    assert.equal(textsTo(server, '+14155550199').length, 0);
    assert.equal(textsTo(server, phone).length, 2);
  });
}, { env: { SMS_PER_IP_PER_HOUR: '1000000' } });
