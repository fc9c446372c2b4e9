/**
 * SECURITY.md section D — enrollment (rules 12–16). Attacks on starting, confirming and
 * replacing a factor and on recovery codes, over the JSON API and the pages, with the outcome
 * read from the answers, the log lines, the outbox and the database.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { describe, it } from 'node:test';
import { hmacHex } from '../../../src/crypto/tokens.ts';
import { inviteAndAccept, logIn, PASSWORD, signUp, waitFor } from '../../helpers/fixtures.ts';
import type { TestServer } from '../../helpers/server.ts';
import { forEachDatabase } from '../../helpers/suites.ts';
import { currentCode, enrollAuthenticatorApp, nextStepCode, oathtoolCode, passwordStep, securityEvents, wrongCode } from '../../helpers/two-factor.ts';
import { enrollSMS, latestSMSCode, textsTo, uniqueMobile } from '../../helpers/sms.ts';
import { mailsTo, onSQLiteServer, pageForm, sessionCookie, userWithApp } from './helpers.ts';

const MINUTE = 60_000;
const STALE_MS = 16 * MINUTE;
const BASE32 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';

function base32Bytes(text: string): number {
  return Math.floor((text.length * 5) / 8);
}

async function factorCount(server: TestServer, userId: string): Promise<number> {
  return (await server.deps.db.selectFrom('factors').select('id').where('user_id', '=', userId).execute()).length;
}

/** The secret a page shows for manual entry (in groups of four), without its spaces. */
function pageSecret(html: string): string {
  const shown = /<code[^>]*\bdata-secret>([A-Z2-7 ]+)<\/code>/.exec(html)?.[1];
  assert.ok(shown, 'the page shows the secret for manual entry');
  const secret = shown.replace(/ /g, '');
  assert.match(secret, /^[A-Z2-7]{32}$/);
  return secret;
}

/** Walks the page flow of the authenticator app up to the QR code and answers what a browser got. */
async function startAppEnrollmentPage(server: TestServer, token: string): Promise<{ status: number; html: string; headers: Headers }> {
  const cookie = sessionCookie(token);
  const form = await pageForm(server, '/user/two-factor/app?os=iphone', cookie);
  const response = await fetch(`${server.url}/user/two-factor/app/enrollment`, {
    method: 'POST',
    headers: { cookie: form.cookie, origin: server.origin, 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ os: 'iphone', _csrf: form.csrf }).toString(),
    redirect: 'manual',
  });
  return { status: response.status, html: await response.text(), headers: response.headers };
}

forEachDatabase('D. enrollment', (context) => {
  describe('rule 12: enrolling or replacing a factor needs a complete, recent session (or enrollment-only under enforcement); the pending secret stays on the server and only its own code activates it', () => {
    it('refuses to start or confirm an enrollment on a half-authenticated session', async () => {
      const { api, server } = context();
      const user = await userWithApp(server, api);
      const pending = await passwordStep(api, user.email);
      for (const [path, body] of [['/me/2fa/totp', undefined], ['/me/2fa/totp/confirm', { enrollmentId: 'x', code: '123456' }], ['/me/2fa/sms', { phone: uniqueMobile() }], ['/me/2fa/sms/confirm', { code: '123456' }]] as const) {
        const refused = await api.post(path, body, { token: pending });
        assert.equal(refused.status, 401, path);
        assert.equal(refused.body.error, 'mfa_required', path);
      }
    });

    it('refuses to replace a factor from a session whose login is older than 15 minutes, until the user re-authenticates', async () => {
      const { api, server } = context();
      const user = await userWithApp(server, api);
      server.clock.advance(STALE_MS);
      for (const [path, body] of [['/me/2fa/totp', undefined], ['/me/2fa/sms', { phone: uniqueMobile() }]] as const) {
        const refused = await api.post(path, body, { token: user.token });
        assert.equal(refused.status, 403, path);
        assert.equal(refused.body.error, 'reauthentication_required', path);
      }
      assert.equal((await api.post('/me/reauthenticate', { password: PASSWORD }, { token: user.token })).status, 204);
      assert.equal((await api.post('/me/2fa/totp', undefined, { token: user.token })).status, 201);
    });

    it('refuses a first enrollment from a stale session too (a stolen idle session cannot plant its own factor), on the API and the page', async () => {
      const { api, server } = context();
      const admin = await signUp(api);
      server.clock.advance(STALE_MS);
      const refused = await api.post('/me/2fa/totp', undefined, { token: admin.token });
      assert.equal(refused.status, 403, refused.body.error);
      assert.equal(refused.body.error, 'reauthentication_required');
      const phone = uniqueMobile();
      assert.equal((await api.post('/me/2fa/sms', { phone }, { token: admin.token })).status, 403);
      assert.equal(server.outbox.list().filter((m) => m.to === phone).length, 0, 'nothing texted');
      const page = await startAppEnrollmentPage(server, admin.token);
      assert.equal(page.status, 403);
      assert.doesNotMatch(page.html, /otpauth:\/\//);
      assert.equal(await server.deps.db.selectFrom('totp_enrollments').select('id').where('user_id', '=', admin.userId).executeTakeFirst(), undefined);
      assert.equal((await api.post('/me/reauthenticate', { password: PASSWORD }, { token: admin.token })).status, 204);
      assert.equal((await api.post('/me/2fa/totp', undefined, { token: admin.token })).status, 201);
    });

    it('makes a session held from long before enforcement re-enter its password before it enrols (issue 13; more in test/security/stale-session-enrollment-under-enforcement.test.ts)', async () => {
      const { api, server } = context();
      const admin = await userWithApp(server, api);
      const member = await inviteAndAccept(server, api, admin.token);
      const held = await logIn(api, member.email);
      server.clock.advance(STALE_MS);
      assert.equal((await api.post('/me/reauthenticate', { code: currentCode(server, admin.secret) }, { token: admin.token })).status, 204);
      assert.equal((await api.patch('/account', { enforce2fa: true }, { token: admin.token })).status, 200);
      assert.equal((await api.get('/me', { token: held.token })).body.error, 'enrollment_required');
      assert.equal((await api.post('/me/2fa/totp', undefined, { token: held.token })).body.error, 'reauthentication_required');
      assert.equal((await api.post('/me/reauthenticate', { password: PASSWORD }, { token: held.token })).status, 204);
      const enrolled = await enrollAuthenticatorApp(server, api, held.token);
      assert.equal((await api.get('/me', { token: enrolled.token })).status, 200);
    });

    it('keeps the pending secret out of cookies, form fields, URLs and redirects on the page flow', async () => {
      const { api, server } = context();
      const admin = await signUp(api);
      const page = await startAppEnrollmentPage(server, admin.token);
      assert.equal(page.status, 200, page.html.slice(0, 500));
      const secret = pageSecret(page.html);
      assert.equal(page.headers.get('location'), null);
      assert.ok(page.headers.getSetCookie().every((c) => !c.includes(secret)), 'not in a cookie');
      const forms = [secret, secret.replace(/(.{4})(?=.)/g, '$1 '), secret.toLowerCase()];
      for (const tag of page.html.match(/<(input|textarea|select|button)[^>]*>/g) ?? []) assert.ok(forms.every((f) => !tag.includes(f)), `not in a form field: ${tag}`);
      for (const attribute of page.html.match(/(href|action|src|formaction|data-[a-z-]+)="[^"]*"/g) ?? []) {
        if (attribute.startsWith('src="data:')) continue;
        // The "Open in authenticator app" link (issue 17) is the QR code's own otpauth: URI: the phone
        // hands it to the app, no request carries it anywhere (no server, no Referer).
        if (attribute.startsWith('href="otpauth://totp/')) continue;
        assert.ok(forms.every((f) => !attribute.includes(f) && !attribute.includes(encodeURIComponent(f))), `not in a URL: ${attribute}`);
      }
      assert.ok(!server.logLines.some((line) => line.includes(secret)), 'not in a log line');
      const api201 = await api.post('/me/2fa/totp', undefined, { token: admin.token });
      assert.deepEqual(api201.headers.getSetCookie(), [], 'the API sets no cookie with it either');
    });

    it('activates the pending secret only with a code from that secret', async () => {
      const { api, server } = context();
      const admin = await signUp(api);
      const first = await api.post('/me/2fa/totp', undefined, { token: admin.token });
      const started = await api.post('/me/2fa/totp', undefined, { token: admin.token });
      const otherSecretCode = currentCode(server, first.body.secret);
      if (![-1, 0, 1].some((d) => oathtoolCode(started.body.secret, server.clock.now() + d * 30_000) === otherSecretCode)) {
        assert.equal((await api.post('/me/2fa/totp/confirm', { enrollmentId: started.body.enrollmentId, code: otherSecretCode }, { token: admin.token })).status, 401);
      }
      assert.equal((await api.post('/me/2fa/totp/confirm', { enrollmentId: started.body.enrollmentId, code: wrongCode(server, started.body.secret) }, { token: admin.token })).status, 401);
      assert.equal(await factorCount(server, admin.userId), 0);
      assert.equal((await api.post('/me/2fa/totp/confirm', { enrollmentId: started.body.enrollmentId, code: currentCode(server, started.body.secret) }, { token: admin.token })).status, 200);
    });
  });

  describe('rule 13: a new enrollment voids the pending one; an active factor keeps working until its replacement is confirmed; an active secret is never shown again', () => {
    it('answers 410 enrollment_expired for an enrollment replaced by a newer one or timed out', async () => {
      const { api, server } = context();
      const admin = await signUp(api);
      const first = await api.post('/me/2fa/totp', undefined, { token: admin.token });
      const second = await api.post('/me/2fa/totp', undefined, { token: admin.token });
      const replaced = await api.post('/me/2fa/totp/confirm', { enrollmentId: first.body.enrollmentId, code: currentCode(server, first.body.secret) }, { token: admin.token });
      assert.equal(replaced.status, 410);
      assert.equal(replaced.body.error, 'enrollment_expired');
      server.clock.advance(server.config.policy.totpEnrollmentMs);
      const expired = await api.post('/me/2fa/totp/confirm', { enrollmentId: second.body.enrollmentId, code: currentCode(server, second.body.secret) }, { token: admin.token });
      assert.equal(expired.status, 410);
      assert.equal(expired.body.error, 'enrollment_expired');
      assert.equal(await factorCount(server, admin.userId), 0);
    });

    it('voids a pending SMS enrollment when another number is entered', async () => {
      const { api, server } = context();
      const admin = await signUp(api);
      const firstPhone = uniqueMobile();
      await api.post('/me/2fa/sms', { phone: firstPhone }, { token: admin.token });
      const firstCode = latestSMSCode(server, firstPhone);
      const secondPhone = uniqueMobile();
      await api.post('/me/2fa/sms', { phone: secondPhone }, { token: admin.token });
      if (firstCode !== latestSMSCode(server, secondPhone)) assert.equal((await api.post('/me/2fa/sms/confirm', { code: firstCode }, { token: admin.token })).status, 401);
      assert.equal((await api.post('/me/2fa/sms/confirm', { code: latestSMSCode(server, secondPhone) }, { token: admin.token })).status, 200);
      const me = await api.get('/me', { token: admin.token });
      assert.deepEqual(me.body.twoFactor.methods, ['sms']);
    });

    it('refuses to confirm another user\'s enrollment, even with its right code', async () => {
      const { api, server } = context();
      const victim = await signUp(api);
      const attacker = await signUp(api);
      const started = await api.post('/me/2fa/totp', undefined, { token: victim.token });
      const stolen = await api.post('/me/2fa/totp/confirm', { enrollmentId: started.body.enrollmentId, code: currentCode(server, started.body.secret) }, { token: attacker.token });
      assert.ok(stolen.status === 410 || stolen.status === 401, stolen.text);
      assert.equal(await factorCount(server, attacker.userId), 0);
      assert.equal(await factorCount(server, victim.userId), 0);
      assert.equal((await api.post('/me/2fa/totp/confirm', { enrollmentId: started.body.enrollmentId, code: nextStepCode(server, started.body.secret) }, { token: victim.token })).status, 200, 'the owner still can');
    });

    it('keeps the active app working while a replacement is pending, and switches only on confirmation', async () => {
      const { api, server } = context();
      const user = await userWithApp(server, api);
      const rotation = await api.post('/me/2fa/totp', undefined, { token: user.token });
      const pending = await passwordStep(api, user.email);
      assert.equal((await api.post('/login/verify', { method: 'totp', code: nextStepCode(server, rotation.body.secret) }, { token: pending })).status, 401, 'the pending secret logs nobody in');
      assert.equal((await api.post('/login/verify', { method: 'totp', code: currentCode(server, user.secret) }, { token: pending })).status, 200, 'the active one still does');
      assert.equal((await api.post('/me/2fa/totp/confirm', { enrollmentId: rotation.body.enrollmentId, code: nextStepCode(server, rotation.body.secret) }, { token: user.token })).status, 200);
      const after = await passwordStep(api, user.email);
      assert.equal((await api.post('/login/verify', { method: 'totp', code: nextStepCode(server, user.secret) }, { token: after })).status, 401, 'the replaced secret is dead');
    });

    it('keeps texting the confirmed phone while a new number is pending, and moves only on confirmation', async () => {
      const { api, server } = context();
      const admin = await signUp(api);
      const { phone, token } = await enrollSMS(server, api, admin.token);
      const newPhone = uniqueMobile();
      assert.equal((await api.post('/me/2fa/sms', { phone: newPhone }, { token })).status, 202);
      const pending = await passwordStep(api, admin.email);
      assert.equal(textsTo(server, newPhone).length, 1, 'only the verification text went to the pending number');
      const login = await api.post('/login/verify', { method: 'sms', code: latestSMSCode(server, phone) }, { token: pending });
      assert.equal(login.status, 200, 'the confirmed phone still logs in');
      assert.equal((await api.post('/me/2fa/sms/confirm', { code: latestSMSCode(server, newPhone) }, { token: login.body.token })).status, 200);
      const after = await passwordStep(api, admin.email);
      assert.equal(textsTo(server, newPhone).length, 2, 'the next login texts the new number');
      assert.equal((await api.post('/login/verify', { method: 'sms', code: latestSMSCode(server, newPhone) }, { token: after })).status, 200);
      server.clock.advance(60 * MINUTE);
    });

    it('never shows the active secret again: not in /me, the User Details page or a new enrollment', async () => {
      const { api, server } = context();
      const user = await userWithApp(server, api);
      const me = await api.get('/me', { token: user.token });
      assert.ok(!me.text.includes(user.secret));
      const page = await fetch(`${server.url}/user`, { headers: { cookie: sessionCookie(user.token) } });
      assert.equal(page.status, 200);
      assert.ok(!(await page.text()).includes(user.secret));
      const rotation = await api.post('/me/2fa/totp', undefined, { token: user.token });
      assert.ok(!rotation.text.includes(user.secret));
      const appPage = await fetch(`${server.url}/user/two-factor/app`, { headers: { cookie: sessionCookie(user.token) } });
      assert.ok(!(await appPage.text()).includes(user.secret));
    });
  });

  describe('rule 14: TOTP secrets are 160-bit random values; otpauth URIs follow the Key URI format, travel only in no-store bodies, never in a URL, redirect or log', () => {
    it('makes 160-bit secrets (32 base32 characters, no padding) that never repeat', async () => {
      const { api } = context();
      const admin = await signUp(api);
      const secrets = new Set<string>();
      for (let i = 0; i < 20; i += 1) {
        const started = await api.post('/me/2fa/totp', undefined, { token: admin.token });
        const secret: string = started.body.secret;
        assert.match(secret, /^[A-Z2-7]{32}$/);
        assert.equal(base32Bytes(secret), 20);
        secrets.add(secret);
      }
      assert.equal(secrets.size, 20);
      // Every base32 character shows up across 640 random characters (a constant or counter would not).
      const seen = new Set([...secrets].join(''));
      assert.ok(seen.size >= BASE32.length - 2, `only ${seen.size} distinct characters`);
    });

    it('builds the Key URI with the issuer in label and parameter, SHA1, 6 digits, 30 s, and answers it with no-store', async () => {
      const { api, server } = context();
      const admin = await signUp(api);
      const started = await api.post('/me/2fa/totp', undefined, { token: admin.token });
      assert.equal(started.headers.get('cache-control'), 'no-store');
      const uri = new URL(started.body.otpauthUri);
      assert.equal(uri.protocol, 'otpauth:');
      assert.equal(uri.host, 'totp');
      assert.equal(decodeURIComponent(uri.pathname.slice(1)), `Twofold:${admin.email}`);
      assert.equal(uri.searchParams.get('issuer'), 'Twofold');
      assert.equal(uri.searchParams.get('secret'), started.body.secret);
      assert.ok(!started.body.otpauthUri.includes('='.repeat(2)) && !/secret=[A-Z2-7]*=/.test(started.body.otpauthUri), 'no padding');
      assert.equal(uri.searchParams.get('algorithm'), 'SHA1');
      assert.equal(uri.searchParams.get('digits'), '6');
      assert.equal(uri.searchParams.get('period'), '30');
      // And the secret really is a SHA-1, 6-digit, 30-second one: oathtool's code confirms it.
      assert.equal((await api.post('/me/2fa/totp/confirm', { enrollmentId: started.body.enrollmentId, code: currentCode(server, started.body.secret) }, { token: admin.token })).status, 200);
    });

    it('answers the secret with no-store on every page and API response that carries it, and never logs it', async () => {
      const { api, server } = context();
      const admin = await signUp(api);
      const page = await startAppEnrollmentPage(server, admin.token);
      assert.equal(page.status, 200);
      assert.match(page.headers.get('cache-control') ?? '', /no-store/);
      const secret = pageSecret(page.html);
      const form = await pageForm(server, '/user/two-factor/app?os=iphone', sessionCookie(admin.token));
      const rotated = await fetch(`${server.url}/user/two-factor/app/rotate`, { method: 'POST', headers: { cookie: form.cookie, origin: server.origin, 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams({ _csrf: form.csrf }).toString(), redirect: 'manual' });
      const rotatedText = await rotated.text();
      assert.equal(rotated.status, 201, rotatedText);
      assert.match(rotated.headers.get('cache-control') ?? '', /no-store/);
      const rotatedSecret = (JSON.parse(rotatedText) as { secret: string }).secret.replace(/ /g, '');
      assert.match(rotatedSecret, /^[A-Z2-7]{32}$/);
      const started = await api.post('/me/2fa/totp', undefined, { token: admin.token });
      for (const value of [secret, started.body.secret, rotatedSecret]) {
        assert.ok(!server.logLines.some((line) => line.includes(value)), `secret ${value} in the log`);
      }
    });
  });

  describe('rule 15: confirming a factor revokes the user\'s other sessions and e-mails the user', () => {
    it('signs out the other complete and half-authenticated sessions on confirming the app, and e-mails', async () => {
      const { api, server } = context();
      const admin = await signUp(api);
      const other = await logIn(api, admin.email);
      await enrollAuthenticatorApp(server, api, admin.token);
      assert.equal((await api.get('/me', { token: other.token })).status, 401);
      assert.equal((await api.get('/me', { token: admin.token })).status, 200, 'the confirming session stays');
      await waitFor(() => mailsTo(server, admin.email, /authenticator app/i).length > 0);
      assert.equal((await securityEvents(server, admin.userId, 'factor_enrolled')).length, 1);
    });

    it('signs out the other sessions on confirming SMS or a replacement app, and e-mails each time', async () => {
      const { api, server } = context();
      const user = await userWithApp(server, api);
      const laptop = await api.post('/login/verify', { method: 'totp', code: nextStepCode(server, user.secret) }, { token: await passwordStep(api, user.email) });
      const halfway = await passwordStep(api, user.email);
      const before = server.outbox.list().filter((m) => m.to === user.email).length;
      await enrollSMS(server, api, user.token);
      assert.equal((await api.get('/me', { token: laptop.body.token })).status, 401);
      assert.equal((await api.post('/login/verify', { method: 'totp', code: nextStepCode(server, user.secret) }, { token: halfway })).status, 401, 'a login in progress is ended too');
      await waitFor(() => server.outbox.list().filter((m) => m.to === user.email).length > before);
      const phone = await api.post('/login/verify', { method: 'totp', code: nextStepCode(server, user.secret) }, { token: await passwordStep(api, user.email) });
      assert.equal(phone.status, 200);
      const mails = server.outbox.list().filter((m) => m.to === user.email).length;
      await enrollAuthenticatorApp(server, api, user.token);
      assert.equal((await api.get('/me', { token: phone.body.token })).status, 401);
      await waitFor(() => server.outbox.list().filter((m) => m.to === user.email).length > mails);
    });
  });

  describe('rule 16: recovery codes are shown once (no-store), at least 50 bits each, stored under a keyed hash; regeneration voids the old set and needs re-authentication', () => {
    it('answers ten distinct 50-bit codes once, with no-store, and no later answer shows them', async () => {
      const { api, server } = context();
      const admin = await signUp(api);
      const started = await api.post('/me/2fa/totp', undefined, { token: admin.token });
      const confirmed = await api.post('/me/2fa/totp/confirm', { enrollmentId: started.body.enrollmentId, code: currentCode(server, started.body.secret) }, { token: admin.token });
      assert.equal(confirmed.headers.get('cache-control'), 'no-store');
      const codes: string[] = confirmed.body.recoveryCodes;
      assert.equal(codes.length, 10);
      assert.equal(new Set(codes).size, 10);
      for (const code of codes) assert.match(code, /^[a-z2-7]{5}-[a-z2-7]{5}$/, '10 base32 characters = 50 bits');
      const later = [await api.get('/me', { token: admin.token }), await api.get('/account/users', { token: admin.token })].map((r) => r.text);
      const pages = await Promise.all(['/user', '/user/two-factor/recovery-codes'].map(async (path) => (await fetch(server.url + path, { headers: { cookie: sessionCookie(admin.token) } })).text()));
      for (const text of [...later, ...pages, ...server.logLines]) for (const code of codes) assert.ok(!text.includes(code) && !text.includes(code.replace('-', '')), `code ${code} shown again`);
    });

    it('stores each code under an HMAC with the server key: never plain, never a bare fast hash', async () => {
      const { api, server } = context();
      const user = await userWithApp(server, api);
      const rows = await server.deps.db.selectFrom('recovery_codes').select('code_hash').where('user_id', '=', user.userId).execute();
      assert.equal(rows.length, 10);
      const stored = new Set(rows.map((r) => r.code_hash));
      for (const code of user.recoveryCodes) {
        const compact = code.replace('-', '');
        for (const form of [code, compact, code.toUpperCase()]) {
          assert.ok(!stored.has(form), 'plain');
          for (const algorithm of ['md5', 'sha1', 'sha256', 'sha512']) {
            for (const encoding of ['hex', 'base64', 'base64url'] as const) assert.ok(!stored.has(createHash(algorithm).update(form).digest(encoding)), `bare ${algorithm}`);
          }
        }
        // The keyed hash the server uses: HMAC-SHA256 under its hashing key, bound to the user.
        assert.ok(stored.has(hmacHex(server.deps.keys.hashing, `recovery-code:${user.userId}:${compact}`)), 'keyed with the server key');
      }
    });

    it('regenerates only after a recent authentication, with no-store, and the old set stops working', async () => {
      const { api, server } = context();
      const user = await userWithApp(server, api);
      server.clock.advance(STALE_MS);
      const stale = await api.post('/me/2fa/recovery-codes', undefined, { token: user.token });
      assert.equal(stale.status, 403);
      assert.equal(stale.body.error, 'reauthentication_required');
      assert.equal((await api.post('/login/verify', { method: 'recovery', code: user.recoveryCodes[0] }, { token: await passwordStep(api, user.email) })).status, 200, 'the old set still works while nothing was regenerated');
      assert.equal((await api.post('/me/reauthenticate', { password: PASSWORD }, { token: user.token })).status, 204);
      const fresh = await api.post('/me/2fa/recovery-codes', undefined, { token: user.token });
      assert.equal(fresh.status, 200);
      assert.equal(fresh.headers.get('cache-control'), 'no-store');
      assert.equal(fresh.body.recoveryCodes.length, 10);
      const old = await api.post('/login/verify', { method: 'recovery', code: user.recoveryCodes[1] }, { token: await passwordStep(api, user.email) });
      assert.equal(old.status, 401, 'the old set is void');
      assert.equal((await api.post('/login/verify', { method: 'recovery', code: fresh.body.recoveryCodes[0] }, { token: await passwordStep(api, user.email) })).status, 200);
    });
  });
}, { env: { SMS_PER_IP_PER_HOUR: '1000000' } });

onSQLiteServer('D. enrollment — rule 14 with a configured issuer', (context) => {
  describe('rule 14: TOTP secrets are 160-bit random values; otpauth URIs follow the Key URI format, travel only in no-store bodies, never in a URL, redirect or log', () => {
    it('puts a configured issuer in both the label and the issuer parameter, percent-encoded', async () => {
      const { api } = context();
      const admin = await signUp(api);
      const started = await api.post('/me/2fa/totp', undefined, { token: admin.token });
      const uri = new URL(started.body.otpauthUri);
      assert.equal(decodeURIComponent(uri.pathname.slice(1)), `Acme Cloud:${admin.email}`);
      assert.equal(uri.searchParams.get('issuer'), 'Acme Cloud');
      assert.ok(!started.body.otpauthUri.includes(' '), 'spaces are encoded');
    });
  });
}, { env: { TOTP_ISSUER: 'Acme Cloud' } });
