/**
 * SECURITY.md section E — SMS (rules 17–19). The development outbox is the SMS provider here:
 * "no provider call" means no text in it. Caps are attacked with concurrent bursts.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { PASSWORD, signUp } from '../../helpers/fixtures.ts';
import type { TestServer } from '../../helpers/server.ts';
import { forEachDatabase } from '../../helpers/suites.ts';
import { enrollAuthenticatorApp, passwordStep, securityEvents } from '../../helpers/two-factor.ts';
import { enrollSMS, latestSMSCode, textsTo, uniqueMobile } from '../../helpers/sms.ts';
import { onSQLiteServer, sessionCookie } from './helpers.ts';

const HOUR = 3_600_000;
const UNLIMITED_IP = { env: { SMS_PER_IP_PER_HOUR: '1000000' } };

/** Ways people write one UK mobile (given as E.164), all of which must be the same number. */
function variantsOf(e164: string): string[] {
  const national = e164.slice(3); // 7400xxxxxx
  const [a, b] = [national.slice(0, 4), national.slice(4)];
  return [e164, `+44 ${a} ${b}`, `+44 (0)${a} ${b}`, `0044 ${a} ${b}`, `+44-${a}-${b.slice(0, 3)}-${b.slice(3)}`, `  +44.${a}.${b}  `];
}

function smsCount(server: TestServer): number {
  return server.outbox.list().filter((m) => m.channel === 'sms').length;
}

forEachDatabase('E. SMS — rules 17 and 18', (context) => {
  describe('rule 17: phone numbers are normalised to E.164; formatting variants are one key for limits and uniqueness; invalid numbers get 400 invalid_phone with no provider call', () => {
    it('texts every formatting variant to the one E.164 number and keeps one pending enrollment for it', async () => {
      const { api, server } = context();
      const admin = await signUp(api);
      const e164 = uniqueMobile();
      const hashes = new Set<string>();
      for (const variant of variantsOf(e164).slice(0, 4)) {
        const sent = await api.post('/me/2fa/sms', { phone: variant }, { token: admin.token });
        assert.equal(sent.status, 202, `${JSON.stringify(variant)}: ${sent.body?.error}`);
        assert.equal(sent.body.phoneMasked, `+44 •••• ••• ${e164.slice(-4)}`);
        const rows = await server.deps.db.selectFrom('sms_enrollments').select(['id', 'phone_hash']).where('user_id', '=', admin.userId).execute();
        assert.equal(rows.length, 1);
        hashes.add(`${rows[0]!.id}|${rows[0]!.phone_hash}`);
        server.clock.advance(server.config.policy.smsResendCooldownMs);
      }
      assert.equal(hashes.size, 1, 'each variant resent the same enrollment');
      assert.equal(textsTo(server, e164).length, 4, 'every text went to the E.164 form');
      assert.equal((await api.post('/me/2fa/sms/confirm', { code: latestSMSCode(server, e164) }, { token: admin.token })).status, 200);
      server.clock.advance(HOUR);
    });

    it('applies the cooldown to a variant of the number just texted', async () => {
      const { api, server } = context();
      const admin = await signUp(api);
      const e164 = uniqueMobile();
      const [plain, spaced, , withPrefix] = variantsOf(e164);
      assert.equal((await api.post('/me/2fa/sms', { phone: spaced }, { token: admin.token })).status, 202);
      for (const variant of [plain!, withPrefix!]) {
        const early = await api.post('/me/2fa/sms', { phone: variant }, { token: admin.token });
        assert.equal(early.status, 429, variant);
        assert.ok(Number(early.headers.get('retry-after')) > 0);
      }
      assert.equal(textsTo(server, e164).length, 1);
    });

    it('counts every variant against one per-number cap, even when accounts ask at once', async () => {
      const { api, server } = context();
      const e164 = uniqueMobile();
      const variants = variantsOf(e164);
      const accounts = await Promise.all(Array.from({ length: 10 }, () => signUp(api)));
      const burst = await Promise.all(accounts.map((account, i) => api.post('/me/2fa/sms', { phone: variants[i % variants.length] }, { token: account.token })));
      assert.equal(burst.filter((r) => r.status === 202).length, server.config.policy.smsPerNumberPerWindow, burst.map((r) => r.status).join(','));
      assert.ok(burst.every((r) => r.status === 202 || (r.status === 429 && r.body.error === 'rate_limited')));
      assert.equal(textsTo(server, e164).length, server.config.policy.smsPerNumberPerWindow);
      server.clock.advance(HOUR);
    });

    it('answers invalid numbers with 400 invalid_phone, stores nothing and texts nothing', async () => {
      const { api, server } = context();
      const admin = await signUp(api);
      const before = smsCount(server);
      for (const phone of ['+44 7700 900123', '+1 415', '+44 7400 1234567890', '+999 1234567', '415 555 0123', '+44 20 7946 0000', 'call me', '+', '+44 7400 12345x', '+٤٤٧٤٠٠١٢٣٤٥٦']) {
        const refused = await api.post('/me/2fa/sms', { phone }, { token: admin.token });
        assert.equal(refused.status, 400, `${phone}: ${refused.body?.error}`);
        assert.equal(refused.body.error, 'invalid_phone', phone);
        assert.ok(!refused.text.includes(phone.replace(/\D/g, '')) || phone.replace(/\D/g, '').length < 6, 'the number is not echoed');
      }
      for (const phone of [4474001234567, ['+447400123456'], { e164: '+447400123456' }, '', 'x'.repeat(65)]) {
        const refused = await api.post('/me/2fa/sms', { phone }, { token: admin.token });
        assert.equal(refused.status, 400, JSON.stringify(phone).slice(0, 40));
      }
      assert.equal(smsCount(server), before, 'no provider call');
      assert.equal((await server.deps.db.selectFrom('sms_enrollments').select('id').where('user_id', '=', admin.userId).execute()).length, 0);
    });
  });

  describe('rule 18: send caps per number, per account and per IP, a resend cooldown, an operator country allow-list; the destination always comes from the server-side record', () => {
    it('texts one number at most the per-number cap per hour, counting login texts too', async () => {
      const { api, server } = context();
      const admin = await signUp(api);
      const { phone } = await enrollSMS(server, api, admin.token);
      for (let i = 0; i < server.config.policy.smsPerNumberPerWindow + 2; i += 1) assert.equal((await api.post('/login', { email: admin.email, password: PASSWORD })).status, 200);
      assert.equal(textsTo(server, phone).length, server.config.policy.smsPerNumberPerWindow);
      const refusals = await securityEvents(server, admin.userId, 'sms_refused');
      assert.ok(refusals.length >= 2 && refusals.every((e) => JSON.parse(e.detail).reason === 'phone_limit'));
      server.clock.advance(HOUR);
      await api.post('/login', { email: admin.email, password: PASSWORD });
      assert.equal(textsTo(server, phone).length, server.config.policy.smsPerNumberPerWindow + 1, 'the cap lifts after the hour');
      server.clock.advance(HOUR);
    });

    it('texts for one account at most the per-account cap per hour, even when 25 requests arrive at once', async () => {
      const { api, server } = context();
      const admin = await signUp(api);
      const phones = Array.from({ length: 25 }, uniqueMobile);
      const burst = await Promise.all(phones.map((phone) => api.post('/me/2fa/sms', { phone }, { token: admin.token })));
      assert.equal(burst.filter((r) => r.status === 202).length, server.config.policy.smsPerAccountPerWindow, burst.map((r) => r.status).join(','));
      assert.equal(phones.reduce((sum, phone) => sum + textsTo(server, phone).length, 0), server.config.policy.smsPerAccountPerWindow);
      server.clock.advance(HOUR);
    });

    it('refuses a resend within the cooldown with 429 and Retry-After, and sends one text when 30 resends race after it', async () => {
      const { api, server } = context();
      const admin = await signUp(api);
      const { phone } = await enrollSMS(server, api, admin.token);
      const pending = await passwordStep(api, admin.email);
      const early = await api.post('/login/sms', undefined, { token: pending });
      assert.equal(early.status, 429);
      assert.equal(early.headers.get('retry-after'), String(server.config.policy.smsResendCooldownMs / 1000));
      server.clock.advance(server.config.policy.smsResendCooldownMs);
      const burst = await Promise.all(Array.from({ length: 30 }, () => api.post('/login/sms', undefined, { token: pending })));
      assert.equal(burst.filter((r) => r.status === 202).length, 1, burst.map((r) => r.status).join(','));
      assert.equal(textsTo(server, phone).length, 3, 'enrollment, login, one resend');
      server.clock.advance(HOUR);
    });

    it('takes the destination only from the server-side record: a number in the body of a send, resend or confirmation is refused and never texted', async () => {
      const { api, server } = context();
      const admin = await signUp(api);
      const app = await enrollAuthenticatorApp(server, api, admin.token);
      const { phone } = await enrollSMS(server, api, app.token);
      const attackerPhone = uniqueMobile();
      const pending = await passwordStep(api, admin.email);
      for (const body of [{ phone: attackerPhone }, { to: attackerPhone }, { destination: attackerPhone }, { phoneNumber: attackerPhone }]) {
        const redirected = await api.post('/login/sms', body, { token: pending });
        assert.equal(redirected.status, 400, JSON.stringify(body));
      }
      const confirmWithPhone = await api.post('/me/2fa/sms/confirm', { code: '123456', phone: attackerPhone }, { token: app.token });
      assert.equal(confirmWithPhone.status, 400);
      const sent = await api.post('/login/sms', {}, { token: pending });
      assert.equal(sent.status, 202);
      assert.equal(sent.body.phoneMasked, `+44 •••• ••• ${phone.slice(-4)}`);
      assert.equal(textsTo(server, attackerPhone).length, 0, 'nothing ever went to the number in the body');
      assert.equal(textsTo(server, phone).length, 2);
      server.clock.advance(HOUR);
    });
  });
}, UNLIMITED_IP);

onSQLiteServer('E. SMS — rule 18 per-IP cap', (context) => {
  describe('rule 18: send caps per number, per account and per IP, a resend cooldown, an operator country allow-list; the destination always comes from the server-side record', () => {
    it('texts at most SMS_PER_IP_PER_HOUR times for one client across accounts, also when they ask at once', async () => {
      const { api, server } = context();
      const accounts = await Promise.all(Array.from({ length: 8 }, () => signUp(api)));
      const phones = accounts.map(() => uniqueMobile());
      const burst = await Promise.all(accounts.map((account, i) => api.post('/me/2fa/sms', { phone: phones[i] }, { token: account.token })));
      assert.equal(burst.filter((r) => r.status === 202).length, 3, burst.map((r) => r.status).join(','));
      assert.ok(burst.filter((r) => r.status !== 202).every((r) => r.status === 429 && r.body.error === 'rate_limited'));
      assert.equal(phones.reduce((sum, phone) => sum + textsTo(server, phone).length, 0), 3);
    });
  });
}, { env: { SMS_PER_IP_PER_HOUR: '3' } });

onSQLiteServer('E. SMS — rule 18 country allow-list', (context) => {
  describe('rule 18: send caps per number, per account and per IP, a resend cooldown, an operator country allow-list; the destination always comes from the server-side record', () => {
    it('refuses numbers outside SMS_ALLOWED_COUNTRY_CODES with 400 invalid_phone and texts nothing, whatever their formatting', async () => {
      const { api, server } = context();
      const admin = await signUp(api);
      const before = smsCount(server);
      for (const phone of variantsOf(uniqueMobile())) {
        const refused = await api.post('/me/2fa/sms', { phone }, { token: admin.token });
        assert.equal(refused.status, 400, phone);
        assert.equal(refused.body.error, 'invalid_phone');
      }
      assert.equal(smsCount(server), before);
      assert.equal((await api.post('/me/2fa/sms', { phone: '+1 415 555 0142' }, { token: admin.token })).status, 202, 'an allowed country is texted');
    });
  });
}, { env: { SMS_ALLOWED_COUNTRY_CODES: '1', SMS_PER_IP_PER_HOUR: '1000000' } });

onSQLiteServer('E. SMS — rule 19', (context) => {
  describe('rule 19: where SMS is offered, the authenticator app is offered too, with a note that SMS is the weaker method', () => {
    async function page(path: string, token: string): Promise<string> {
      const response = await fetch(context().server.url + path, { headers: { cookie: sessionCookie(token) } });
      assert.equal(response.status, 200, path);
      return response.text();
    }

    it('offers the Mobile App beside SMS Message on User Details, with the weaker-method note', async () => {
      const { api } = context();
      const admin = await signUp(api);
      const html = await page('/user', admin.token);
      assert.match(html, /SMS Message/);
      assert.match(html, /Mobile App/);
      assert.match(html, /href="\/user\/two-factor\/app"|action="\/user\/two-factor\/app"/);
      assert.match(html, /weaker method/);
    });

    it('says on the SMS setup page that SMS is weaker and links to the app instead', async () => {
      const { api } = context();
      const admin = await signUp(api);
      const html = await page('/user/two-factor/sms', admin.token);
      assert.match(html, /weaker method/);
      assert.match(html, /href="\/user\/two-factor\/app"/);
    });

    it('keeps offering the app, with the note, to a user who has only SMS', async () => {
      const { api, server } = context();
      const admin = await signUp(api);
      const { token } = await enrollSMS(server, api, admin.token);
      const html = await page('/user', token);
      assert.match(html, /weaker method/);
      assert.match(html, /action="\/user\/two-factor\/app"/);
    });

    it('says in the API documentation of SMS enrollment that SMS is weaker and the app route is the stronger choice', async () => {
      const { server } = context();
      const document = (await (await fetch(`${server.url}/api/v1/openapi.json`)).json()) as { paths: Record<string, Record<string, { description?: string }>> };
      const sms = document.paths['/api/v1/me/2fa/sms']?.post ?? document.paths['/me/2fa/sms']?.post;
      assert.ok(sms, Object.keys(document.paths).join(', '));
      assert.match(sms.description ?? '', /weaker/);
      assert.match(sms.description ?? '', /POST \/me\/2fa\/totp/);
      assert.ok(document.paths['/api/v1/me/2fa/totp']?.post ?? document.paths['/me/2fa/totp']?.post, 'and the app enrollment is there beside it');
    });
  });
});
