/**
 * When the SMS provider fails (issue 4, Providers): the user gets 503 sms_delivery_failed with
 * "We could not send the text message; try again" — never a 500 — and can try again at once;
 * the log names the provider's error but holds neither the code nor the full number.
 */
import assert from 'node:assert/strict';
import { after, it } from 'node:test';
import { PASSWORD, signUp, type SignedUp } from '../helpers/fixtures.ts';
import type { APIClient } from '../helpers/http.ts';
import { forEachDatabase } from '../helpers/suites.ts';
import { FormSession } from '../helpers/browser.ts';
import { startFakeProvider, uniqueMobile } from '../helpers/sms.ts';

const provider = await startFakeProvider(500);
after(() => provider.close());

const WEBHOOK = { SMS_PROVIDER: 'webhook', SMS_WEBHOOK_URL: provider.url, SMS_WEBHOOK_SECRET: 'a-webhook-secret-of-at-least-32-characters', SMS_PER_IP_PER_HOUR: '1000000' };

function codeIn(body: string): string {
  return /\b(\d{6})\b/.exec((JSON.parse(body) as { body: string }).body)![1]!;
}

/** A new admin whose only factor is SMS, enrolled while the provider answers 200. */
async function signUpWithSMSThroughProvider(api: APIClient): Promise<SignedUp> {
  const admin = await signUp(api);
  provider.status = 200;
  await api.post('/me/2fa/sms', { phone: uniqueMobile() }, { token: admin.token });
  assert.equal((await api.post('/me/2fa/sms/confirm', { code: codeIn(provider.bodies.at(-1)!) }, { token: admin.token })).status, 200);
  return admin;
}

forEachDatabase('SMS provider failure', (context) => {
  it('answers 503 with the friendly message when the provider answers 500, and a retry right after goes through', async () => {
    const { api, server } = context();
    const admin = await signUp(api);
    const phone = uniqueMobile();
    provider.status = 500;
    const failed = await api.post('/me/2fa/sms', { phone }, { token: admin.token });
    assert.equal(failed.status, 503, failed.text);
    assert.deepEqual(failed.body, { error: 'sms_delivery_failed', message: 'We could not send the text message; try again.' });
    const failedCode = codeIn(provider.bodies.at(-1)!);

    provider.status = 200;
    const retried = await api.post('/me/2fa/sms', { phone }, { token: admin.token });
    assert.equal(retried.status, 202, 'a failed send does not start the cooldown');
    const code = codeIn(provider.bodies.at(-1)!);
    assert.equal(JSON.parse(provider.bodies.at(-1)!).to, phone);
    assert.equal((await api.post('/me/2fa/sms/confirm', { code }, { token: admin.token })).status, 200);

    const failure = server.logLines.find((line) => line.includes('text message delivery failed'));
    assert.ok(failure, 'the failure is logged');
    assert.match(failure, /webhook: HTTP 500/);
    for (const secret of [phone.slice(3), failedCode, code]) {
      assert.ok(!server.logLines.some((line) => line.includes(secret)), `a log line holds ${secret}`);
    }
  });

  it('answers a failed login resend with 503, and the password step still answers 200', async () => {
    const { api } = context();
    const admin = await signUpWithSMSThroughProvider(api);

    provider.status = 500;
    const login = await api.post('/login', { email: admin.email, password: PASSWORD });
    assert.equal(login.status, 200);
    assert.equal(login.body.state, 'mfa_required');
    const resend = await api.post('/login/sms', undefined, { token: login.body.token });
    assert.equal(resend.status, 503);
    assert.equal(resend.body.error, 'sms_delivery_failed');
    provider.status = 200;
    const sent = await api.post('/login/sms', undefined, { token: login.body.token });
    assert.equal(sent.status, 202);
    const verified = await api.post('/login/verify', { method: 'sms', code: codeIn(provider.bodies.at(-1)!) }, { token: login.body.token });
    assert.equal(verified.status, 200, verified.text);
  });

  it('tells an SMS-only user on the Verification Code page that the login text could not be sent, instead of claiming it was', async () => {
    const { api, server } = context();
    const admin = await signUpWithSMSThroughProvider(api);

    provider.status = 500;
    const browser = new FormSession(server);
    const login = await browser.post('/login', { email: admin.email, password: PASSWORD });
    assert.equal(login.status, 303);
    assert.equal(login.location, '/login/verify?method=sms&text=unsent');
    const page = await browser.get(login.location);
    assert.equal(page.status, 200);
    assert.match(page.text, /We could not send the text message just now/);
    assert.doesNotMatch(page.text, /We texted a six-digit code/);

    provider.status = 200;
    const sent = await browser.post('/login/sms', {}, { formPage: login.location });
    assert.equal(sent.status, 303);
    const after = await browser.get(sent.location!);
    assert.match(after.text, /We texted a six-digit code to/);
  });
}, { env: WEBHOOK });
