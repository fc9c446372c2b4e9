/**
 * Turning on codes by text message over the API (PRODUCT.md §2.3 SMS Message, §3, §4;
 * SECURITY.md rules 6, 7, 12, 13, 15, 17, 29, 30, 32): the texted code, its lifetime, tries,
 * resends and single use, and what is kept at rest and in the log.
 */
import assert from 'node:assert/strict';
import { it } from 'node:test';
import { inviteAndAccept, logIn, PASSWORD, signUp, waitFor } from '../helpers/fixtures.ts';
import { forEachDatabase } from '../helpers/suites.ts';
import { enrollAuthenticatorApp, securityEvents } from '../helpers/two-factor.ts';
import { enrollSMS, latestSMSCode, otherCode, textsTo, uniqueMobile } from '../helpers/sms.ts';

const UNLIMITED_IP = { env: { SMS_PER_IP_PER_HOUR: '1000000' } };

forEachDatabase('SMS enrollment', (context) => {
  it('texts a six-digit code to the number, answers it masked, and confirming turns SMS on with recovery codes', async () => {
    const { api, server } = context();
    const admin = await signUp(api);
    const started = await api.post('/me/2fa/sms', { phone: '+1 415 555 0123' }, { token: admin.token });
    assert.equal(started.status, 202, started.text);
    assert.deepEqual(Object.keys(started.body).sort(), ['expiresAt', 'phoneMasked']);
    assert.equal(started.body.phoneMasked, '+1 •••• ••• 0123');
    assert.equal(Date.parse(started.body.expiresAt) - server.clock.now(), 10 * 60_000);
    assert.equal(started.headers.get('cache-control'), 'no-store');
    const texts = textsTo(server, '+14155550123');
    assert.equal(texts.length, 1);
    assert.match(texts[0]!, /^Your Twofold code is \d{6}\b/);
    assert.ok(!started.text.includes(latestSMSCode(server, '+14155550123')), 'the answer never echoes the code');

    const confirmed = await api.post('/me/2fa/sms/confirm', { code: latestSMSCode(server, '+14155550123') }, { token: admin.token });
    assert.equal(confirmed.status, 200, confirmed.text);
    assert.equal(confirmed.headers.get('cache-control'), 'no-store');
    assert.equal(confirmed.body.token, undefined, 'a complete session keeps its token');
    assert.equal(confirmed.body.recoveryCodes.length, 10);
    const me = await api.get('/me', { token: admin.token });
    assert.deepEqual(me.body.twoFactor, { enabled: true, methods: ['sms'] });
    const enrolled = await securityEvents(server, admin.userId, 'factor_enrolled');
    assert.deepEqual(JSON.parse(enrolled[0]!.detail), { method: 'sms', replaced: false });
    await waitFor(() => server.outbox.list().some((m) => m.to === admin.email && /Text-message codes turned on/.test(m.subject ?? '')));
    const notice = server.outbox.list().find((m) => m.to === admin.email && /Text-message codes/.test(m.subject ?? ''))!;
    assert.match(notice.body, /\+1 •••• ••• 0123/);
    assert.doesNotMatch(notice.body, /4155550123/);
  });

  it('refuses invalid numbers with 400 invalid_phone naming the problem, and texts nothing', async () => {
    const { api, server } = context();
    const admin = await signUp(api);
    const texted = server.outbox.list().filter((m) => m.channel === 'sms').length;
    const cases: Array<[string, RegExp]> = [
      ['+44 7700 900123', /not a valid phone number/],
      ['+1 415', /too short/],
      ['+44 7400 1234567890', /too long/],
      ['+999 1234567', /unknown country code/],
      ['415 555 0123', /country code/],
      ['+44 20 7946 0000', /landline/],
    ];
    for (const [phone, message] of cases) {
      const refused = await api.post('/me/2fa/sms', { phone }, { token: admin.token });
      assert.equal(refused.status, 400, `${phone}: ${refused.text}`);
      assert.equal(refused.body.error, 'invalid_phone');
      assert.match(refused.body.message, message, phone);
    }
    assert.equal(server.outbox.list().filter((m) => m.channel === 'sms').length, texted, 'no provider call');
    assert.equal((await server.deps.db.selectFrom('sms_enrollments').select('id').where('user_id', '=', admin.userId).execute()).length, 0);
    const wrongType = await api.post('/me/2fa/sms', { phone: 4155550123 }, { token: admin.token });
    assert.equal(wrongType.status, 400);
  });

  it('treats formatting variants of one number as one number: asking again is a resend of the same enrollment', async () => {
    const { api, server } = context();
    const admin = await signUp(api);
    assert.equal((await api.post('/me/2fa/sms', { phone: '+44 7400 222333' }, { token: admin.token })).status, 202);
    const first = await server.deps.db.selectFrom('sms_enrollments').select(['id', 'phone_hash']).where('user_id', '=', admin.userId).executeTakeFirstOrThrow();
    const early = await api.post('/me/2fa/sms', { phone: '+447400222333' }, { token: admin.token });
    assert.equal(early.status, 429, 'the same number, written differently, is under the same cooldown');
    server.clock.advance(30_000);
    assert.equal((await api.post('/me/2fa/sms', { phone: '0044 (0)7400-222-333' }, { token: admin.token })).status, 202);
    const second = await server.deps.db.selectFrom('sms_enrollments').select(['id', 'phone_hash']).where('user_id', '=', admin.userId).executeTakeFirstOrThrow();
    assert.deepEqual(second, first);
    assert.equal(textsTo(server, '+447400222333').length, 2);
  });

  it('answers a wrong code with 401 invalid_code, and the right one still works', async () => {
    const { api, server } = context();
    const admin = await signUp(api);
    const phone = uniqueMobile();
    await api.post('/me/2fa/sms', { phone }, { token: admin.token });
    const code = latestSMSCode(server, phone);
    const wrong = await api.post('/me/2fa/sms/confirm', { code: otherCode(code) }, { token: admin.token });
    assert.equal(wrong.status, 401);
    assert.deepEqual(wrong.body, { error: 'invalid_code', message: 'The code is not valid. Check it and try again.' });
    const malformed = await api.post('/me/2fa/sms/confirm', { code: '12345' }, { token: admin.token });
    assert.equal(malformed.status, 400);
    assert.equal((await api.post('/me/2fa/sms/confirm', { code }, { token: admin.token })).status, 200);
    const again = await api.post('/me/2fa/sms/confirm', { code }, { token: admin.token });
    assert.equal(again.status, 401, 'single use');
  });

  it('lets a code expire after ten minutes, answered like a wrong one', async () => {
    const { api, server } = context();
    const admin = await signUp(api);
    const phone = uniqueMobile();
    await api.post('/me/2fa/sms', { phone }, { token: admin.token });
    server.clock.advance(10 * 60_000);
    const late = await api.post('/me/2fa/sms/confirm', { code: latestSMSCode(server, phone) }, { token: admin.token });
    assert.equal(late.status, 401);
    assert.equal(late.body.error, 'invalid_code');
  });

  it('allows five tries per code, and a resend does not give the tries back', async () => {
    const { api, server } = context();
    const admin = await signUp(api);
    const phone = uniqueMobile();
    await api.post('/me/2fa/sms', { phone }, { token: admin.token });
    const code = latestSMSCode(server, phone);
    for (let i = 0; i < 3; i += 1) assert.equal((await api.post('/me/2fa/sms/confirm', { code: otherCode(code) }, { token: admin.token })).status, 401);
    server.clock.advance(30_000);
    assert.equal((await api.post('/me/2fa/sms', { phone }, { token: admin.token })).status, 202);
    const resent = latestSMSCode(server, phone);
    for (let i = 0; i < 2; i += 1) assert.equal((await api.post('/me/2fa/sms/confirm', { code: otherCode(resent) }, { token: admin.token })).status, 401);
    const right = await api.post('/me/2fa/sms/confirm', { code: resent }, { token: admin.token });
    assert.equal(right.status, 401, 'five tries were used across the resend');
    // Asking again after the code is used up starts over with a new code.
    assert.equal((await api.post('/me/2fa/sms', { phone }, { token: admin.token })).status, 202);
    assert.equal((await api.post('/me/2fa/sms/confirm', { code: latestSMSCode(server, phone) }, { token: admin.token })).status, 200);
  });

  it('voids the previous code when a new one is texted, and a new number voids the old number', async () => {
    const { api, server } = context();
    const admin = await signUp(api);
    const phone = uniqueMobile();
    await api.post('/me/2fa/sms', { phone }, { token: admin.token });
    const old = latestSMSCode(server, phone);
    server.clock.advance(30_000);
    await api.post('/me/2fa/sms', { phone }, { token: admin.token });
    const fresh = latestSMSCode(server, phone);
    if (fresh !== old) assert.equal((await api.post('/me/2fa/sms/confirm', { code: old }, { token: admin.token })).status, 401);
    const other = uniqueMobile();
    assert.equal((await api.post('/me/2fa/sms', { phone: other }, { token: admin.token })).status, 202, 'another number has its own cooldown');
    assert.equal((await api.post('/me/2fa/sms/confirm', { code: fresh }, { token: admin.token })).status, 401, "the first number's code is void");
    assert.equal((await api.post('/me/2fa/sms/confirm', { code: latestSMSCode(server, other) }, { token: admin.token })).status, 200);
  });

  it('refuses a resend within 30 seconds of the last text with 429 and Retry-After', async () => {
    const { api, server } = context();
    const admin = await signUp(api);
    const phone = uniqueMobile();
    await api.post('/me/2fa/sms', { phone }, { token: admin.token });
    server.clock.advance(10_000);
    const early = await api.post('/me/2fa/sms', { phone }, { token: admin.token });
    assert.equal(early.status, 429);
    assert.equal(early.body.error, 'rate_limited');
    assert.equal(early.headers.get('retry-after'), '20');
    assert.equal(textsTo(server, phone).length, 1);
    server.clock.advance(20_000);
    assert.equal((await api.post('/me/2fa/sms', { phone }, { token: admin.token })).status, 202);
    const refused = await securityEvents(server, admin.userId, 'sms_refused');
    assert.deepEqual(refused.map((e) => JSON.parse(e.detail).reason), ['cooldown']);
  });

  it('lets exactly one of 20 concurrent confirmations of one code succeed', async () => {
    const { api, server } = context();
    const admin = await signUp(api);
    const phone = uniqueMobile();
    await api.post('/me/2fa/sms', { phone }, { token: admin.token });
    const code = latestSMSCode(server, phone);
    const burst = await Promise.all(Array.from({ length: 20 }, () => api.post('/me/2fa/sms/confirm', { code }, { token: admin.token })));
    assert.equal(burst.filter((r) => r.status === 200).length, 1, burst.map((r) => r.status).join(','));
    assert.ok(burst.every((r) => r.status === 200 || r.status === 401), burst.map((r) => r.status).join(','));
    assert.equal((await securityEvents(server, admin.userId, 'factor_enrolled')).length, 1);
    assert.equal((await server.deps.db.selectFrom('recovery_codes').select('id').where('user_id', '=', admin.userId).execute()).length, 10);
  });

  it('needs recent authentication to change the phone of a user with a factor, and the new number then replaces the old', async () => {
    const { api, server } = context();
    const admin = await signUp(api);
    const first = await enrollSMS(server, api, admin.token);
    server.clock.advance(16 * 60_000);
    const stale = await api.post('/me/2fa/sms', { phone: uniqueMobile() }, { token: admin.token });
    assert.equal(stale.status, 403);
    assert.equal(stale.body.error, 'reauthentication_required');
    assert.equal((await api.post('/me/reauthenticate', { password: PASSWORD }, { token: admin.token })).status, 204);
    const second = await enrollSMS(server, api, admin.token);
    const factors = await server.deps.db.selectFrom('factors').select('kind').where('user_id', '=', admin.userId).execute();
    assert.deepEqual(factors.map((f) => f.kind), ['sms']);
    const login = await api.post('/login', { email: admin.email, password: PASSWORD });
    assert.equal(textsTo(server, second.phone).length, 2, 'the login text goes to the new number');
    assert.equal(textsTo(server, first.phone).length, 1);
    assert.equal((await api.post('/login/verify', { method: 'sms', code: latestSMSCode(server, second.phone) }, { token: login.body.token })).status, 200);
    const replaced = await securityEvents(server, admin.userId, 'factor_enrolled');
    assert.ok(replaced.some((e) => JSON.parse(e.detail).replaced === true));
  });

  it('needs recent authentication to add SMS beside the authenticator app', async () => {
    const { api, server } = context();
    const admin = await signUp(api);
    const app = await enrollAuthenticatorApp(server, api, admin.token);
    server.clock.advance(16 * 60_000);
    const stale = await api.post('/me/2fa/sms', { phone: uniqueMobile() }, { token: app.token });
    assert.equal(stale.body.error, 'reauthentication_required');
  });

  it('completes an enrollment-required login like the app does: a new token, other sessions out', async () => {
    const { api, server } = context();
    const admin = await signUp(api);
    const adminEnrolled = await enrollSMS(server, api, admin.token);
    assert.equal((await api.patch('/account', { enforce2fa: true }, { token: adminEnrolled.token })).status, 200);
    const user = await inviteAndAccept(server, api, adminEnrolled.token);
    const other = await logIn(api, user.email);
    const login = await logIn(api, user.email);
    assert.equal(login.state, 'enrollment_required');
    const phone = uniqueMobile();
    assert.equal((await api.post('/me/2fa/sms', { phone }, { token: login.token })).status, 202);
    const confirmed = await api.post('/me/2fa/sms/confirm', { code: latestSMSCode(server, phone) }, { token: login.token });
    assert.equal(confirmed.status, 200, confirmed.text);
    assert.equal(typeof confirmed.body.token, 'string');
    assert.equal((await api.get('/me', { token: confirmed.body.token })).status, 200);
    assert.equal((await api.get('/me', { token: login.token })).status, 401, 'the enrollment-only token is replaced');
    assert.equal((await api.get('/me', { token: other.token })).status, 401, 'other sessions are signed out');
    const succeeded = await securityEvents(server, user.userId, 'login_succeeded');
    assert.ok(succeeded.some((e) => JSON.parse(e.detail).methods === 'password,sms_enrollment'));
  });

  it('keeps neither the phone number nor any code in the database in clear, and no code or full number in the log', async () => {
    const { api, server } = context();
    const admin = await signUp(api);
    const phone = uniqueMobile();
    const national = phone.slice(3);
    await api.post('/me/2fa/sms', { phone }, { token: admin.token });
    const enrollmentCode = latestSMSCode(server, phone);
    await api.post('/me/2fa/sms/confirm', { code: otherCode(enrollmentCode) }, { token: admin.token });
    await api.post('/me/2fa/sms/confirm', { code: enrollmentCode }, { token: admin.token });
    const login = await api.post('/login', { email: admin.email, password: PASSWORD });
    const loginCode = latestSMSCode(server, phone);
    await api.post('/login/verify', { method: 'sms', code: otherCode(loginCode) }, { token: login.body.token });
    assert.equal((await api.post('/login/verify', { method: 'sms', code: loginCode }, { token: login.body.token })).status, 200);

    const db = server.deps.db;
    const dump = JSON.stringify({
      factors: await db.selectFrom('factors').selectAll().execute(),
      enrollments: await db.selectFrom('sms_enrollments').selectAll().execute(),
      codes: await db.selectFrom('sms_codes').selectAll().execute(),
      counters: await db.selectFrom('rate_limit_counters').selectAll().execute(),
      events: await db.selectFrom('security_events').selectAll().execute(),
      challenges: await db.selectFrom('login_challenges').selectAll().execute(),
    });
    assert.ok(!dump.includes(national), 'phone number at rest');
    // A stored code would stand alone ("123456" or :123456,); the same digits inside a timestamp or a hash are not it.
    for (const code of [enrollmentCode, loginCode, otherCode(enrollmentCode), otherCode(loginCode)]) assert.doesNotMatch(dump, new RegExp(`(?<![0-9A-Za-z])${code}(?![0-9A-Za-z])`), `code ${code} at rest`);
    const factor = await db.selectFrom('factors').selectAll().where('user_id', '=', admin.userId).executeTakeFirstOrThrow();
    assert.match(factor.secret_encrypted, /^v1\./);

    const lines = server.logLines.filter((line) => !line.includes('"outbox":true'));
    assert.ok(lines.some((line) => line.includes('text message sent')), 'sends are logged');
    for (const secret of [national, enrollmentCode, loginCode]) assert.ok(!lines.some((line) => line.includes(secret)), `a log line holds ${secret}`);
  });
}, UNLIMITED_IP);

forEachDatabase('SMS without a provider', (context) => {
  it('answers a clear 400 sms_unavailable and stores nothing', async () => {
    const { api, server } = context();
    const admin = await signUp(api);
    const refused = await api.post('/me/2fa/sms', { phone: '+1 415 555 0123' }, { token: admin.token });
    assert.equal(refused.status, 400);
    assert.equal(refused.body.error, 'sms_unavailable');
    assert.match(refused.body.message, /not available on this server/);
    assert.equal((await server.deps.db.selectFrom('sms_enrollments').select('id').execute()).length, 0);
  });
}, { env: { SMS_PROVIDER: 'none' } });
