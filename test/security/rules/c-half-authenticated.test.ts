/**
 * SECURITY.md section C — half-authenticated and enrollment-only states (rules 8–11). The
 * route walks take the list of routes from the running server (app.routeCatalog), so a route
 * added later is attacked too without anyone editing this file.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { inviteAndAccept, linkFromOutbox, logIn, PASSWORD, signUp, uniqueEmail, waitFor } from '../../helpers/fixtures.ts';
import { request } from '../../helpers/http.ts';
import { forEachDatabase } from '../../helpers/suites.ts';
import { enrollAuthenticatorApp, nextStepCode, oathtoolCode, passwordStep } from '../../helpers/two-factor.ts';
import { guardedRoutes, pageForm, probeRoute, sendDisableLink, sessionCookie, setSessionToken, userWithApp, type Carrier } from './helpers.ts';

/** The reviewed list of routes a password-only session may reach (rule 8). */
const REACHABLE_HALF_AUTHENTICATED = [/^\/api\/v1\/login\/(verify|sms|webauthn\/options)$/, /^\/api\/v1\/logout$/, /^\/login\/(verify|sms)$/, /^\/logout$/];
/** The reviewed list of routes an enrollment-only session (enforcement) may reach besides those. */
// Re-authentication too: a session made enrollment-only by enforcement re-enters its password before enrolling (issue 13).
// The verification banner shows on the setup pages too, so its resend button (/email/verification: own address, capped) is reachable there.
const REACHABLE_ENROLLMENT_ONLY = [/^\/email\/verification$/, /^\/api\/v1\/me\/2fa\/(totp|sms)(\/confirm)?$/, /^\/api\/v1\/me\/2fa\/webauthn(\/options)?$/, /^\/api\/v1\/me\/reauthenticate$/, /^\/reauthenticate$/, /^\/user$/, /^\/user\/two-factor\/(app|sms)(\/(enrollment|confirm|rotate))?$/, /^\/user\/two-factor\/security-key$/, /^\/api\/v1\/logout$/, /^\/logout$/];

const CARRIERS: Carrier[] = ['bearer', 'cookie'];

forEachDatabase('C. half-authenticated and enrollment-only states', (context) => {
  describe('rule 8: a password-only session reaches only the second-factor step and logout (and under enforcement, only setup); enforced centrally, deny-by-default', () => {
    for (const carrier of CARRIERS) {
      it(`refuses a half-authenticated ${carrier} on every other registered route, page or API`, async () => {
        const { api, server } = context();
        const user = await userWithApp(server, api);
        const pending = await passwordStep(api, user.email);
        const refused: string[] = [];
        for (const route of guardedRoutes(server)) {
          const allowed = REACHABLE_HALF_AUTHENTICATED.some((pattern) => pattern.test(route.url));
          // What the guard lets through must be on the reviewed list, and nothing else.
          assert.equal(route.access === 'challenge' || route.access === 'any-session', allowed, `${route.method} ${route.url} is ${route.access}`);
          if (allowed) continue;
          const answer = await probeRoute(server, route, pending, carrier);
          if (route.url.startsWith('/api/')) {
            assert.equal(answer.status, 401, `${route.method} ${route.url}`);
            assert.equal(answer.error, 'mfa_required', `${route.method} ${route.url}`);
          } else {
            assert.equal(answer.status, 303, `${route.method} ${route.url}`);
            assert.equal(answer.location, '/login/verify', `${route.method} ${route.url}`);
          }
          refused.push(`${route.method} ${route.url}`);
        }
        assert.ok(refused.includes('GET /api/v1/me') && refused.includes('POST /api/v1/me/2fa/totp') && refused.includes('GET /user'), refused.join('\n'));
        assert.ok(refused.length >= 30, `only ${refused.length} routes walked`);
        // The session was only refused, not harmed: its own step still finishes the login.
        assert.equal((await api.post('/login/verify', { method: 'totp', code: nextStepCode(server, user.secret) }, { token: pending })).status, 200);
      });
    }

    it('lets an enrollment-only session (enforcement) reach 2FA setup and logout, and refuses every other route', async () => {
      const { api, server } = context();
      const admin = await userWithApp(server, api);
      assert.equal((await api.patch('/account', { enforce2fa: true }, { token: admin.token })).status, 200);
      const member = await inviteAndAccept(server, api, admin.token);
      const login = await logIn(api, member.email);
      assert.equal(login.state, 'enrollment_required');
      const refused: string[] = [];
      for (const route of guardedRoutes(server)) {
        if (route.access === 'challenge') continue;
        const allowed = REACHABLE_ENROLLMENT_ONLY.some((pattern) => pattern.test(route.url));
        assert.equal(route.access === 'setup' || route.access === 'any-session', allowed, `${route.method} ${route.url} is ${route.access}`);
        if (allowed) continue;
        for (const carrier of CARRIERS) {
          const answer = await probeRoute(server, route, login.token, carrier);
          if (route.url.startsWith('/api/')) {
            assert.equal(answer.status, 403, `${carrier} ${route.method} ${route.url}`);
            assert.equal(answer.error, 'enrollment_required', `${carrier} ${route.method} ${route.url}`);
          } else {
            assert.equal(answer.status, 303, `${carrier} ${route.method} ${route.url}`);
            assert.equal(answer.location, '/user', `${carrier} ${route.method} ${route.url}`);
          }
        }
        refused.push(`${route.method} ${route.url}`);
      }
      assert.ok(refused.includes('GET /api/v1/me') && refused.includes('GET /api/v1/account/users'), refused.join('\n'));
      // Setup itself works, and completes the login.
      const enrolled = await enrollAuthenticatorApp(server, api, login.token);
      assert.equal((await api.get('/me', { token: enrolled.token })).status, 200);
    });

    it('refuses the second-factor step to a complete session and to no session', async () => {
      const { api, server } = context();
      const user = await userWithApp(server, api);
      const complete = await api.post('/login/verify', { method: 'totp', code: nextStepCode(server, user.secret) }, { token: user.token });
      assert.equal(complete.status, 403);
      assert.equal((await api.post('/login/verify', { method: 'totp', code: nextStepCode(server, user.secret) })).status, 401);
    });
  });

  describe('rule 9: the session token is replaced at each change of authentication level; a token planted before login is never adopted', () => {
    it('issues a new token at the password step and another at the second factor, and the older ones die', async () => {
      const { api, server } = context();
      const user = await userWithApp(server, api);
      const pending = await passwordStep(api, user.email);
      assert.notEqual(pending, user.token);
      const verified = await api.post('/login/verify', { method: 'totp', code: nextStepCode(server, user.secret) }, { token: pending });
      assert.equal(verified.status, 200);
      assert.notEqual(verified.body.token, pending);
      assert.equal((await api.get('/me', { token: pending })).status, 401, 'the password-step token is gone');
      assert.equal((await api.post('/login/verify', { method: 'totp', code: nextStepCode(server, user.secret) }, { token: pending })).status, 401);
      assert.equal((await api.get('/me', { token: verified.body.token })).status, 200);
    });

    it('issues a new token when an enrollment completes an enrollment-required login', async () => {
      const { api, server } = context();
      const admin = await userWithApp(server, api);
      assert.equal((await api.patch('/account', { enforce2fa: true }, { token: admin.token })).status, 200);
      const member = await inviteAndAccept(server, api, admin.token);
      const login = await logIn(api, member.email);
      const enrolled = await enrollAuthenticatorApp(server, api, login.token);
      assert.notEqual(enrolled.token, login.token);
      assert.equal((await api.get('/me', { token: login.token })).status, 401);
    });

    it('replaces a planted cookie through the API login and its second factor, and the planted value never becomes a session', async () => {
      const { api, server } = context();
      const user = await userWithApp(server, api);
      const planted = 'P'.repeat(43);
      const login = await request(server.url, 'POST', '/api/v1/login', { email: user.email, password: PASSWORD }, { cookie: sessionCookie(planted), origin: server.origin });
      assert.equal(login.status, 200);
      assert.notEqual(login.body.token, planted);
      assert.equal(setSessionToken(login.headers), login.body.token);
      const verified = await request(server.url, 'POST', '/api/v1/login/verify', { method: 'totp', code: nextStepCode(server, user.secret) }, { cookie: sessionCookie(login.body.token), origin: server.origin });
      assert.equal(verified.status, 200);
      assert.notEqual(setSessionToken(verified.headers), login.body.token);
      assert.equal((await api.get('/me', { token: planted })).status, 401);
    });

    it('never lets an attacker\'s own planted session become the victim\'s when the victim logs in on the page', async () => {
      const { api, server } = context();
      const attacker = await userWithApp(server, api);
      const attackerPending = await passwordStep(api, attacker.email);
      const victim = await userWithApp(server, api);
      const form = await pageForm(server, '/login', sessionCookie(attackerPending));
      const body = new URLSearchParams({ email: victim.email, password: PASSWORD, _csrf: form.csrf }).toString();
      const login = await fetch(`${server.url}/login`, { method: 'POST', headers: { cookie: form.cookie, origin: server.origin, 'content-type': 'application/x-www-form-urlencoded' }, body, redirect: 'manual' });
      assert.equal(login.status, 303, await login.text());
      const issued = setSessionToken(login.headers);
      assert.ok(issued && issued !== attackerPending, 'the victim got a fresh token');
      const attackerView = await api.get('/me', { token: attackerPending });
      assert.notEqual(attackerView.status, 200);
      const row = await server.deps.db.selectFrom('sessions').select('user_id').where('user_id', '=', victim.userId).where('state', '=', 'password_only').execute();
      assert.equal(row.length, 1, 'one new half-authenticated session for the victim, under the new token');
    });
  });

  describe('rule 10: nothing the client sends (flags, user ids, e-mail, time) decides the authentication state', () => {
    it('refuses state flags and user ids in the login and verification bodies with 400 and issues nothing', async () => {
      const { api, server } = context();
      const user = await userWithApp(server, api);
      const victim = await userWithApp(server, api);
      for (const extra of [{ state: 'authenticated' }, { mfaVerified: true }, { userId: victim.userId }, { twoFactor: false }]) {
        const login = await api.post('/login', { email: user.email, password: PASSWORD, ...extra });
        assert.equal(login.status, 400, JSON.stringify(extra));
        assert.equal(login.body.token, undefined);
      }
      const pending = await passwordStep(api, user.email);
      for (const extra of [{ userId: victim.userId }, { email: victim.email }, { state: 'complete' }, { time: server.clock.now() + 3_600_000 }, { verified: true }]) {
        const verify = await api.post('/login/verify', { method: 'totp', code: nextStepCode(server, user.secret), ...extra }, { token: pending });
        assert.equal(verify.status, 400, JSON.stringify(extra));
      }
      // (Each refused body may count as a guess, rule 34, so the login may be over by now.)
      assert.equal((await api.get('/me', { token: pending })).status, 401, 'never a complete session');
      const complete = await server.deps.db.selectFrom('sessions').select('token_hash').where('user_id', '=', user.userId).where('state', '=', 'complete').execute();
      assert.equal(complete.length, 1, 'only the session the user enrolled with');
    });

    it('ignores identity and state headers on a half-authenticated session', async () => {
      const { api, server } = context();
      const user = await userWithApp(server, api);
      const victim = await userWithApp(server, api);
      const pending = await passwordStep(api, user.email);
      const forged = await api.get('/me', { token: pending, headers: { 'x-user-id': victim.userId, 'x-session-state': 'complete', 'x-mfa-verified': 'true', 'x-forwarded-user': victim.email } });
      assert.equal(forged.status, 401);
      assert.equal(forged.body.error, 'mfa_required');
    });

    it('takes the time from the server\'s clock: a client\'s Date header does not make a future code valid', async () => {
      const { api, server } = context();
      const user = await userWithApp(server, api);
      const future = server.clock.now() + 10 * 60_000;
      const futureCode = oathtoolCode(user.secret, future);
      const accepted = [-1, 0, 1].map((delta) => oathtoolCode(user.secret, server.clock.now() + delta * 30_000));
      if (accepted.includes(futureCode)) return;
      const pending = await passwordStep(api, user.email);
      const refused = await api.post('/login/verify', { method: 'totp', code: futureCode }, { token: pending, headers: { date: new Date(future).toUTCString() } });
      assert.equal(refused.status, 401);
    });

    it('confirms an enrollment only for the session\'s own user, whatever the body names', async () => {
      const { api, server } = context();
      const owner = await signUp(api);
      const other = await signUp(api);
      const started = await api.post('/me/2fa/totp', undefined, { token: owner.token });
      const withUser = await api.post('/me/2fa/totp/confirm', { enrollmentId: started.body.enrollmentId, code: nextStepCode(server, started.body.secret), userId: other.userId }, { token: owner.token });
      assert.equal(withUser.status, 400);
      assert.equal((await api.get('/me', { token: other.token })).body.twoFactor.enabled, false);
    });
  });

  describe('rule 11: a password reset, an invitation, a disable link or any other sign-in path never yields a complete session without the second factor; a reset revokes all sessions', () => {
    it('answers a password reset with no session, revokes every session, and the next login still asks for the code', async () => {
      const { api, server } = context();
      const user = await userWithApp(server, api);
      const second = await api.post('/login/verify', { method: 'totp', code: nextStepCode(server, user.secret) }, { token: await passwordStep(api, user.email) });
      const halfway = await passwordStep(api, user.email);
      await api.post('/password/forgot', { email: user.email });
      await waitFor(() => server.outbox.list().some((m) => m.to === user.email && m.body.includes('/password/reset/')));
      const token = linkFromOutbox(server, user.email, '/password/reset/');
      const reset = await api.post('/password/reset', { token, password: 'a brand new password' });
      assert.equal(reset.status, 204);
      assert.equal(reset.text, '');
      assert.equal(setSessionToken(reset.headers), null, 'no cookie either');
      for (const old of [user.token, second.body.token, halfway]) assert.equal((await api.get('/me', { token: old })).status, 401);
      const login = await api.post('/login', { email: user.email, password: 'a brand new password' });
      assert.equal(login.body.state, 'mfa_required');
      assert.equal((await api.get('/me', { token: login.body.token })).status, 401);
    });

    it('answers the password-reset page with no session cookie', async () => {
      const { api, server } = context();
      const user = await userWithApp(server, api);
      await api.post('/password/forgot', { email: user.email });
      await waitFor(() => server.outbox.list().some((m) => m.to === user.email && m.body.includes('/password/reset/')));
      const token = linkFromOutbox(server, user.email, '/password/reset/');
      const form = await pageForm(server, `/password/reset/${token}`);
      const body = new URLSearchParams({ password: 'a brand new password', _csrf: form.csrf }).toString();
      const posted = await fetch(`${server.url}/password/reset/${token}`, { method: 'POST', headers: { cookie: form.cookie, origin: server.origin, 'content-type': 'application/x-www-form-urlencoded' }, body, redirect: 'manual' });
      assert.equal(posted.status, 200, await posted.text());
      assert.equal(setSessionToken(posted.headers), null);
      assert.equal((await api.get('/me', { token: user.token })).status, 401);
    });

    it('answers an accepted invitation with no session, and under enforcement the first login is enrollment-only', async () => {
      const { api, server } = context();
      const admin = await userWithApp(server, api);
      assert.equal((await api.patch('/account', { enforce2fa: true }, { token: admin.token })).status, 200);
      const email = uniqueEmail('invitee');
      assert.equal((await api.post('/account/users', { email, name: 'Ivy', role: 'user' }, { token: admin.token })).status, 201);
      await waitFor(() => server.outbox.list().some((m) => m.to === email));
      const accepted = await api.post(`/invitations/${linkFromOutbox(server, email, '/invitations/')}`, { password: PASSWORD });
      assert.equal(accepted.status, 204);
      assert.equal(accepted.text, '');
      assert.equal(setSessionToken(accepted.headers), null);
      const login = await api.post('/login', { email, password: PASSWORD });
      assert.equal(login.body.state, 'enrollment_required');
      assert.equal((await api.get('/me', { token: login.body.token })).status, 403);
    });

    it('answers a used disable link with no session and ends every session of the user', async () => {
      const { api, server } = context();
      const admin = await signUp(api);
      const member = await inviteAndAccept(server, api, admin.token);
      const memberLogin = await logIn(api, member.email);
      const enrolled = await enrollAuthenticatorApp(server, api, memberLogin.token);
      const link = await sendDisableLink(server, api, admin.token, member);
      const used = await api.post(`/2fa/disable-links/${link.token}`, { password: PASSWORD });
      assert.equal(used.status, 204);
      assert.equal(used.text, '');
      assert.equal(setSessionToken(used.headers), null);
      assert.equal((await api.get('/me', { token: enrolled.token })).status, 401);
    });
  });
});
