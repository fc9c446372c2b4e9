/**
 * SMS pumping and cost defences (PRODUCT.md §4; SECURITY.md rule 18): at most 5 texts per
 * number and 20 per account per hour, a per-IP cap and the operator's country allow-list —
 * held under concurrent requests, answered with a 429 that says nothing about other users,
 * and every refusal in the security log.
 */
import assert from 'node:assert/strict';
import { it } from 'node:test';
import { logIn, PASSWORD, signUp } from '../helpers/fixtures.ts';
import { forEachDatabase } from '../helpers/suites.ts';
import { securityEvents } from '../helpers/two-factor.ts';
import { enrollSMS, textsTo, uniqueMobile } from '../helpers/sms.ts';

const HOUR = 3_600_000;

forEachDatabase('SMS send caps', (context) => {
  it('texts one number at most 5 times an hour, whoever asks, even when 12 accounts ask at once', async () => {
    const { api, server } = context();
    const accounts = await Promise.all(Array.from({ length: 12 }, () => signUp(api)));
    const phone = uniqueMobile();
    const burst = await Promise.all(accounts.map((account) => api.post('/me/2fa/sms', { phone }, { token: account.token })));
    assert.equal(burst.filter((r) => r.status === 202).length, 5, burst.map((r) => r.status).join(','));
    const refused = burst.filter((r) => r.status !== 202);
    for (const response of refused) {
      assert.equal(response.status, 429);
      assert.equal(response.body.error, 'rate_limited');
      assert.equal(response.body.message, 'Too many text messages were requested. Wait a while and try again.');
      assert.equal(response.headers.get('retry-after'), '3600', 'the whole window, not a wait that times someone else');
    }
    assert.equal(textsTo(server, phone).length, 5);
    const reasons = (await Promise.all(accounts.map((a) => securityEvents(server, a.userId, 'sms_refused')))).flat().map((e) => JSON.parse(e.detail));
    assert.equal(reasons.length, 7);
    assert.ok(reasons.every((detail) => detail.reason === 'phone_limit' && detail.phone === `+44 •••• ••• ${phone.slice(-4)}`));

    server.clock.advance(HOUR);
    // A fresh login: setting up a factor needs a recent one (rule 12).
    const fresh = await logIn(api, accounts[0]!.email);
    const later = await api.post('/me/2fa/sms', { phone }, { token: fresh.token });
    assert.equal(later.status, 202, 'the cap lifts after the hour');
  });

  it('texts for one account at most 20 times an hour, even when 25 requests arrive at once', async () => {
    const { api, server } = context();
    const admin = await signUp(api);
    const phones = Array.from({ length: 25 }, uniqueMobile);
    const burst = await Promise.all(phones.map((phone) => api.post('/me/2fa/sms', { phone }, { token: admin.token })));
    assert.equal(burst.filter((r) => r.status === 202).length, 20, burst.map((r) => r.status).join(','));
    assert.ok(burst.every((r) => r.status === 202 || (r.status === 429 && r.body.error === 'rate_limited' && Number(r.headers.get('retry-after')) > 0)));
    assert.equal(phones.reduce((sum, phone) => sum + textsTo(server, phone).length, 0), 20);
    const reasons = (await securityEvents(server, admin.userId, 'sms_refused')).map((e) => JSON.parse(e.detail).reason);
    assert.deepEqual(reasons, Array(5).fill('account_limit'));
  });

  it('sends one text when ten resends for one enrollment arrive at once after the cooldown', async () => {
    const { api, server } = context();
    const admin = await signUp(api);
    const phone = uniqueMobile();
    await api.post('/me/2fa/sms', { phone }, { token: admin.token });
    server.clock.advance(30_000);
    const burst = await Promise.all(Array.from({ length: 10 }, () => api.post('/me/2fa/sms', { phone }, { token: admin.token })));
    assert.equal(burst.filter((r) => r.status === 202).length, 1, burst.map((r) => r.status).join(','));
    assert.equal(textsTo(server, phone).length, 2);
  });

  it('still answers the password step when the number is capped, and POST /login/sms says 429', async () => {
    const { api, server } = context();
    const admin = await signUp(api);
    const { phone } = await enrollSMS(server, api, admin.token);
    for (let i = 0; i < 4; i += 1) assert.equal((await api.post('/login', { email: admin.email, password: PASSWORD })).status, 200);
    assert.equal(textsTo(server, phone).length, 5);
    const capped = await api.post('/login', { email: admin.email, password: PASSWORD });
    assert.equal(capped.status, 200);
    assert.equal(capped.body.state, 'mfa_required');
    assert.equal(textsTo(server, phone).length, 5, 'no sixth text');
    const resend = await api.post('/login/sms', undefined, { token: capped.body.token });
    assert.equal(resend.status, 429);
    assert.equal(resend.body.error, 'rate_limited');
    const reasons = (await securityEvents(server, admin.userId, 'sms_refused')).map((e) => JSON.parse(e.detail));
    assert.ok(reasons.length >= 2 && reasons.every((d) => d.reason === 'phone_limit' && d.purpose === 'login'));
  });
}, { env: { SMS_PER_IP_PER_HOUR: '1000000' } });

forEachDatabase('SMS per-IP cap', (context) => {
  it('texts at most SMS_PER_IP_PER_HOUR times for one client IP across accounts, also at once', async () => {
    const { api, server } = context();
    const accounts = await Promise.all(Array.from({ length: 6 }, () => signUp(api)));
    const phones = accounts.map(() => uniqueMobile());
    const burst = await Promise.all(accounts.map((account, i) => api.post('/me/2fa/sms', { phone: phones[i] }, { token: account.token })));
    assert.equal(burst.filter((r) => r.status === 202).length, 3, burst.map((r) => r.status).join(','));
    assert.ok(burst.filter((r) => r.status !== 202).every((r) => r.status === 429 && r.body.error === 'rate_limited'));
    const reasons = (await Promise.all(accounts.map((a) => securityEvents(server, a.userId, 'sms_refused')))).flat().map((e) => JSON.parse(e.detail).reason);
    assert.deepEqual(reasons, ['ip_limit', 'ip_limit', 'ip_limit']);
  });
}, { env: { SMS_PER_IP_PER_HOUR: '3' } });

forEachDatabase('SMS country allow-list', (context) => {
  it('refuses numbers outside SMS_ALLOWED_COUNTRY_CODES with 400 invalid_phone, texts nothing and logs the refusal', async () => {
    const { api, server } = context();
    const admin = await signUp(api);
    const phone = uniqueMobile();
    const refused = await api.post('/me/2fa/sms', { phone }, { token: admin.token });
    assert.equal(refused.status, 400);
    assert.equal(refused.body.error, 'invalid_phone');
    assert.match(refused.body.message, /does not send text messages to \+44 numbers/);
    assert.equal(textsTo(server, phone).length, 0);
    const events = await securityEvents(server, admin.userId, 'sms_refused');
    assert.deepEqual(events.map((e) => JSON.parse(e.detail).reason), ['country_not_allowed']);
    assert.ok(!events[0]!.detail.includes(phone.slice(3)), 'never the full number');
    assert.ok(server.logLines.some((line) => line.includes('text message refused') && line.includes('country_not_allowed')));
    assert.equal((await api.post('/me/2fa/sms', { phone: '+1 415 555 0142' }, { token: admin.token })).status, 202);
  });
}, { env: { SMS_ALLOWED_COUNTRY_CODES: '1', SMS_PER_IP_PER_HOUR: '1000000' } });
