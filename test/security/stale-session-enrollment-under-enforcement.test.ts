/**
 * An idle session that predates enforcement cannot plant a factor without re-authenticating
 * (issue 13 defect 2; SECURITY.md rule 12). A stale complete session is refused enrollment
 * (403 reauthentication_required); once the admin turns enforcement on, the same session reads
 * as enrollment-only — and it must not gain the exemption that a login under enforcement has,
 * or a thief holding an old session plants their own factor and locks the owner out. Only a
 * login that completed its password step under enforcement enrols without re-entering it.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { inviteAndAccept, logIn, PASSWORD } from '../helpers/fixtures.ts';
import type { TestServer } from '../helpers/server.ts';
import { uniqueMobile } from '../helpers/sms.ts';
import { forEachDatabase } from '../helpers/suites.ts';
import { currentCode, enrollAuthenticatorApp } from '../helpers/two-factor.ts';
import { pageForm, sessionCookie, userWithApp } from './rules/helpers.ts';

/** Past RECENT_AUTH_MINUTES (15). */
const STALE_MS = 16 * 60_000;

async function pendingEnrollments(server: TestServer, userId: string): Promise<number> {
  const totp = await server.deps.db.selectFrom('totp_enrollments').select('id').where('user_id', '=', userId).execute();
  const sms = await server.deps.db.selectFrom('sms_enrollments').select('id').where('user_id', '=', userId).execute();
  return totp.length + sms.length;
}

forEachDatabase('an idle session that predates enforcement re-authenticates before enrolling (issue 13 defect 2)', (context) => {
  /** A member's complete session from before enforcement, left idle; then the admin enforces. */
  async function staleSessionThenEnforcement() {
    const { api, server } = context();
    const admin = await userWithApp(server, api);
    const member = await inviteAndAccept(server, api, admin.token);
    const held = await logIn(api, member.email);
    assert.equal(held.state, 'authenticated');
    server.clock.advance(STALE_MS);
    assert.equal((await api.post('/me/reauthenticate', { code: currentCode(server, admin.secret) }, { token: admin.token })).status, 204);
    assert.equal((await api.patch('/account', { enforce2fa: true }, { token: admin.token })).status, 200);
    assert.equal((await api.get('/me', { token: held.token })).body.error, 'enrollment_required', 'the held session is now enrollment-only');
    return { admin, member, held };
  }

  describe('rule 12: only a login that completed its password step under enforcement enrols without re-authentication', () => {
    it('refuses POST /me/2fa/totp and /me/2fa/sms with 403 reauthentication_required until the session re-enters its password', async () => {
      const { api, server } = context();
      const { member, held } = await staleSessionThenEnforcement();
      const phone = uniqueMobile();
      for (const [path, body] of [['/me/2fa/totp', undefined], ['/me/2fa/sms', { phone }]] as const) {
        const refused = await api.post(path, body, { token: held.token });
        assert.equal(refused.status, 403, `${path} answered ${refused.status} ${refused.body?.error ?? '(an enrollment)'}`);
        assert.equal(refused.body.error, 'reauthentication_required', path);
      }
      assert.equal(await pendingEnrollments(server, member.userId), 0, 'no secret was started');
      assert.equal(server.outbox.list().filter((m) => m.to === phone).length, 0, 'nothing texted');
      const wrong = await api.post('/me/reauthenticate', { password: 'not the password' }, { token: held.token });
      assert.equal(wrong.status, 401);
      assert.equal((await api.post('/me/2fa/totp', undefined, { token: held.token })).status, 403);
      assert.equal((await api.post('/me/reauthenticate', { password: PASSWORD }, { token: held.token })).status, 204, 'the enrollment-only session can re-authenticate');
      const enrolled = await enrollAuthenticatorApp(server, api, held.token);
      assert.equal((await api.get('/me', { token: enrolled.token })).status, 200, 'enrolling then completes the session');
    });

    it('the setup page asks for the password first, and starting the enrollment from it is refused until then', async () => {
      const { server } = context();
      const { member, held } = await staleSessionThenEnforcement();
      const cookie = sessionCookie(held.token);
      const choose = await (await fetch(`${server.url}/user/two-factor/app?os=iphone`, { headers: { cookie } })).text();
      assert.match(choose, /Confirm your password/, 'the page asks for the password');
      const form = await pageForm(server, '/user/two-factor/app?os=iphone', cookie);
      const started = await fetch(`${server.url}/user/two-factor/app/enrollment`, { method: 'POST', headers: { cookie: form.cookie, origin: server.origin, 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams({ os: 'iphone', _csrf: form.csrf }).toString(), redirect: 'manual' });
      const html = await started.text();
      assert.equal(started.status, 403);
      assert.doesNotMatch(html, /otpauth:\/\//);
      assert.match(html, /Confirm your password/);
      assert.equal(await pendingEnrollments(server, member.userId), 0);
      const sms = await (await fetch(`${server.url}/user/two-factor/sms`, { headers: { cookie } })).text();
      assert.match(sms, /Confirm your password/, 'the SMS setup page asks too');

      // The password form on the page works for this session and leads back to setup.
      const confirm = await pageForm(server, '/reauthenticate?next=%2Fuser%2Ftwo-factor%2Fapp%3Fos%3Diphone', cookie);
      const reauthenticated = await fetch(`${server.url}/reauthenticate?next=${encodeURIComponent('/user/two-factor/app?os=iphone')}`, { method: 'POST', headers: { cookie: confirm.cookie, origin: server.origin, 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams({ _csrf: confirm.csrf, password: PASSWORD }).toString(), redirect: 'manual' });
      assert.equal(reauthenticated.status, 303, await reauthenticated.text());
      assert.equal(reauthenticated.headers.get('location'), '/user/two-factor/app?os=iphone');
      const again = await pageForm(server, '/user/two-factor/app?os=iphone', cookie);
      const startedAgain = await fetch(`${server.url}/user/two-factor/app/enrollment`, { method: 'POST', headers: { cookie: again.cookie, origin: server.origin, 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams({ os: 'iphone', _csrf: again.csrf }).toString(), redirect: 'manual' });
      assert.equal(startedAgain.status, 200);
      assert.match(await startedAgain.text(), /otpauth:\/\/|data:image\/svg\+xml/);
    });

    it('a fresh login under enforcement still enrols directly, even after idling past the recent-authentication window', async () => {
      const { api, server } = context();
      const { admin } = await staleSessionThenEnforcement();
      const newcomer = await inviteAndAccept(server, api, admin.token);
      const login = await logIn(api, newcomer.email);
      assert.equal(login.state, 'enrollment_required');
      server.clock.advance(STALE_MS);
      const enrolled = await enrollAuthenticatorApp(server, api, login.token);
      assert.equal((await api.get('/me', { token: enrolled.token })).status, 200);
    });

    it('a session that logged in recently before enforcement enrols directly (its password entry is recent)', async () => {
      const { api, server } = context();
      const admin = await userWithApp(server, api);
      const member = await inviteAndAccept(server, api, admin.token);
      const held = await logIn(api, member.email);
      assert.equal((await api.patch('/account', { enforce2fa: true }, { token: admin.token })).status, 200);
      assert.equal((await api.post('/me/2fa/totp', undefined, { token: held.token })).status, 201);
    });
  });
});
