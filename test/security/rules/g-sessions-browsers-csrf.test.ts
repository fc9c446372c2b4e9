/**
 * SECURITY.md section G — sessions, browsers, CSRF (rules 25–28), attacked over real HTTP.
 * Rule 26 walks app.routeCatalog, so a route added later is attacked without editing this file.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { inviteAndAccept, linkFromOutbox, logIn, PASSWORD, signUp, uniqueEmail, waitFor } from '../../helpers/fixtures.ts';
import { apiClient, request } from '../../helpers/http.ts';
import { freePort, startTestServer, type TestServer } from '../../helpers/server.ts';
import { forEachDatabase } from '../../helpers/suites.ts';
import { enrollAuthenticatorApp, nextStepCode, passwordStep } from '../../helpers/two-factor.ts';
import { enrollSMS, uniqueMobile } from '../../helpers/sms.ts';
import { adminAndEnrolledUser, onSQLiteServer, pageForm, sendDisableLink, sessionCookie, stateSnapshot } from './helpers.ts';

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const UNSAFE = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

/** A route URL with its parameters filled in with values that reach the handler. */
function concretePath(url: string, values: { userId: string }): string {
  return url.replace(':id', values.userId).replace(':token', 'A'.repeat(43)).replace(':method', 'totp').replace('*', 'x');
}

forEachDatabase('G. sessions at rest and across instances', (context) => {
  describe('rule 25: session tokens are 256-bit, stored only as SHA-256, and revocation is effective on the next request on every instance', () => {
    it('issues tokens of at least 256 bits and stores only their SHA-256 hash', async () => {
      const { api, server } = context();
      const admin = await signUp(api);
      const login = await logIn(api, admin.email);
      const rows = await server.deps.db.selectFrom('sessions').selectAll().execute();
      for (const token of [admin.token, login.token]) {
        assert.match(token, /^[A-Za-z0-9_-]{43}$/, '32 random bytes in base64url');
        assert.ok(Buffer.from(token, 'base64url').length >= 32, 'at least 256 bits');
        assert.ok(!JSON.stringify(rows).includes(token), 'the token is not stored in clear');
        assert.ok(rows.some((row) => row.token_hash === createHash('sha256').update(token).digest('hex')), 'its SHA-256 hash is');
      }
    });

    it('refuses a revoked session on the very next request, on a second instance that already served it', async () => {
      const { api, server } = context();
      const second = await startTestServer(server.database.kind, { database: server.database });
      try {
        const secondAPI = apiClient(second.url);
        const { user, token, secret } = await adminAndEnrolledUser(server, api);
        // A second session of the user, known to the second instance; disabling 2FA from the first
        // session signs every other one out (PRODUCT.md §2.5).
        const other = await api.post('/login/verify', { method: 'totp', code: nextStepCode(server, secret) }, { token: (await api.post('/login', { email: user.email, password: PASSWORD })).body.token });
        assert.equal(other.status, 200, other.text);
        assert.equal((await secondAPI.get('/me', { token: other.body.token })).status, 200, 'the second instance knows the session');
        assert.equal((await api.delete('/me/2fa', { password: PASSWORD }, { token })).status, 204, 'disabling revokes every other session');
        assert.equal((await secondAPI.get('/me', { token: other.body.token })).status, 401, 'the other instance refuses it at once');
      } finally {
        await second.close();
      }
    });
  });
});

onSQLiteServer('G. sessions, browsers, CSRF', (context) => {
  describe('rule 25: session cookies are HttpOnly and SameSite=Lax, and expire server-side after 12 h idle or 7 days', () => {
    it('sets the development session cookie HttpOnly, SameSite=Lax, Path=/', async () => {
      const { server } = context();
      const response = await request(server.url, 'POST', '/api/v1/signup', { accountName: 'C', name: 'C', email: uniqueEmail(), password: PASSWORD });
      const cookie = response.headers.getSetCookie().find((c) => c.startsWith('twofold_session='));
      assert.ok(cookie, 'a session cookie is set');
      assert.match(cookie, /HttpOnly/i);
      assert.match(cookie, /SameSite=Lax/i);
      assert.match(cookie, /Path=\//);
    });

    it('refuses a session idle for more than 12 hours', async () => {
      const { api, server } = context();
      const admin = await signUp(api);
      server.clock.advance(12 * HOUR - MINUTE);
      assert.equal((await api.get('/me', { token: admin.token })).status, 200, 'still alive within the idle window');
      server.clock.advance(12 * HOUR + 1);
      assert.equal((await api.get('/me', { token: admin.token })).status, 401, 'ended 1 ms past 12 hours idle');
    });

    it('refuses a session 7 days after login however busy it was', async () => {
      const { api, server } = context();
      const admin = await signUp(api);
      let elapsed = 0;
      for (; elapsed < 7 * 24 * HOUR - 11 * HOUR; elapsed += 11 * HOUR) {
        server.clock.advance(11 * HOUR);
        assert.equal((await api.get('/me', { token: admin.token })).status, 200, `alive at hour ${(elapsed + 11 * HOUR) / HOUR}`);
      }
      // Used 3 hours ago, so only the absolute limit can end it: at exactly 7 days.
      server.clock.advance(7 * 24 * HOUR - elapsed);
      assert.equal((await api.get('/me', { token: admin.token })).status, 401, 'expired at 7 days');
    });

    it('refuses a logged-out session on the next request, by cookie and by bearer', async () => {
      const { api, server } = context();
      const admin = await signUp(api);
      assert.equal((await api.post('/logout', undefined, { token: admin.token })).status, 204);
      assert.equal((await api.get('/me', { token: admin.token })).status, 401);
      assert.equal((await request(server.url, 'GET', '/api/v1/me', undefined, { cookie: sessionCookie(admin.token) })).status, 401);
    });
  });

  describe('rule 26: every cookie-authenticated state change checks the Origin; no state change on GET', () => {
    async function cookieAdmin(): Promise<{ cookie: string; userId: string; server: TestServer }> {
      const { api, server } = context();
      const { admin, user } = await adminAndEnrolledUser(server, api);
      return { cookie: sessionCookie(admin.token), userId: user.userId, server };
    }

    for (const [name, headers] of [
      ['a cross-origin Origin', { origin: 'https://evil.example' }],
      ['no Origin at all', {}],
      ['Origin: null without same-origin fetch metadata', { origin: 'null', 'sec-fetch-site': 'cross-site' }],
      ['a look-alike origin', { origin: 'http://127.0.0.1.evil.example' }],
      ['Basic credentials a browser adds by itself', { origin: 'https://evil.example', authorization: 'Basic dXNlcjpwYXNz' }],
    ] as const) {
      it(`refuses every unsafe route in the route catalog with ${name}, and nothing changes`, async () => {
        const { server } = context();
        const { cookie, userId } = await cookieAdmin();
        // With a non-bearer Authorization header only the routes that read the cookie matter.
        // The OpenID Provider's token, revocation and userinfo endpoints authenticate the
        // application, never our cookie (rule 40 covers them): the reviewed list, and only it.
        const forApplications = server.app.routeCatalog.filter((route) => route.clientAuthenticated && UNSAFE.has(route.method)).map((route) => route.url);
        assert.deepEqual([...new Set(forApplications)].sort(), ['/oidc/me', '/oidc/token', '/oidc/token/revocation']);
        const routes = server.app.routeCatalog.filter((route) => UNSAFE.has(route.method) && !route.clientAuthenticated && (!('authorization' in headers) || route.access !== 'public'));
        assert.ok(routes.length > 20, 'the catalog lists the unsafe routes');
        const before = await stateSnapshot(server);
        for (const route of routes) {
          const path = concretePath(route.url, { userId });
          const isPage = !path.startsWith('/api/');
          const response = await fetch(server.url + path, {
            method: route.method,
            headers: { cookie, ...headers, 'content-type': isPage ? 'application/x-www-form-urlencoded' : 'application/json' },
            body: isPage ? 'email=a%40example.com&password=x&enforce2fa=on' : JSON.stringify({ password: PASSWORD }),
            redirect: 'manual',
          });
          assert.equal(response.status, 403, `${route.method} ${route.url} answered ${response.status}`);
        }
        assert.equal(await stateSnapshot(server), before, 'a refused request changed the database');
      });
    }

    it('changes nothing on any GET route, walked with a complete admin session and with a half-authenticated one', async () => {
      const { api, server } = context();
      const { admin, user } = await adminAndEnrolledUser(server, api);
      const sms = await inviteAndAccept(server, api, admin.token);
      await enrollSMS(server, api, (await logIn(api, sms.email)).token);
      const halfSMS = await passwordStep(api, sms.email);
      const enrolledAdmin = await enrollAuthenticatorApp(server, api, admin.token);
      const routes = server.app.routeCatalog.filter((route) => route.method === 'GET' && !route.url.includes('/docs'));
      const eventsBefore = (await server.deps.db.selectFrom('security_events').select('id').execute()).length;
      const textsBefore = server.outbox.list().length;
      const before = await stateSnapshot(server);
      for (const token of [enrolledAdmin.token, halfSMS]) {
        for (const route of routes) {
          const path = concretePath(route.url, { userId: user.userId });
          const response = await fetch(server.url + path, { headers: { cookie: sessionCookie(token) }, redirect: 'manual' });
          assert.ok(response.status < 500, `GET ${path} answered ${response.status}`);
        }
      }
      assert.equal(await stateSnapshot(server), before, 'a GET changed the database');
      assert.equal((await server.deps.db.selectFrom('security_events').select('id').execute()).length, eventsBefore, 'a GET wrote the security log');
      assert.equal(server.outbox.list().length, textsBefore, 'a GET sent a message');
    });

    it('accepts the same cookie-authenticated change from our own origin (the check is not simply closed)', async () => {
      const { server } = context();
      const { cookie } = await cookieAdmin();
      const response = await request(server.url, 'POST', '/api/v1/account/users', { email: uniqueEmail(), name: 'Y', role: 'user' }, { cookie, origin: server.origin });
      assert.equal(response.status, 201);
    });

    it('refuses a page form with the right Origin but a missing or foreign CSRF token', async () => {
      const { api, server } = context();
      const admin = await signUp(api);
      const form = await pageForm(server, '/settings/account', sessionCookie(admin.token));
      for (const body of ['enforce2fa=on', `enforce2fa=on&_csrf=${encodeURIComponent(form.csrf)}x`]) {
        const response = await fetch(`${server.url}/settings/account`, { method: 'POST', headers: { cookie: form.cookie, origin: server.origin, 'content-type': 'application/x-www-form-urlencoded' }, body, redirect: 'manual' });
        assert.equal(response.status, 403, body);
      }
    });
  });

  describe('rule 27: CSP without inline scripts, frame-ancestors none, no-referrer on link pages, no-store on anything sensitive', () => {
    it('sends a CSP with frame-ancestors \'none\' and no unsafe-inline script on every page', async () => {
      const { api, server } = context();
      const admin = await signUp(api);
      const pages = server.app.routeCatalog.filter((route) => route.method === 'GET' && !route.url.startsWith('/api/') && !route.url.startsWith('/assets/'));
      for (const route of pages) {
        const path = concretePath(route.url, { userId: admin.userId });
        const response = await fetch(server.url + path, { headers: { cookie: sessionCookie(admin.token) }, redirect: 'manual' });
        const csp = response.headers.get('content-security-policy') ?? '';
        assert.match(csp, /frame-ancestors 'none'/, path);
        const scripts = /script-src([^;]*)/.exec(csp)?.[1] ?? /default-src([^;]*)/.exec(csp)?.[1];
        assert.ok(scripts, `${path} restricts scripts`);
        assert.doesNotMatch(scripts, /unsafe-inline|unsafe-eval|\*/, path);
        assert.notEqual(response.headers.get('x-frame-options'), null, `${path} also says DENY for old browsers`);
        if (response.status === 200 && (response.headers.get('content-type') ?? '').includes('text/html')) {
          assert.doesNotMatch(await response.text(), /<script(?![^>]*\bsrc=)[^>]*>/i, `${path} has an inline script`);
        }
      }
    });

    it('sends Referrer-Policy: no-referrer on every page reached by a link with a token, valid or not', async () => {
      const { api, server } = context();
      const { admin, user } = await adminAndEnrolledUser(server, api);
      const disable = await sendDisableLink(server, api, admin.token, user);
      await api.post('/password/forgot', { email: user.email });
      await waitFor(() => server.outbox.list().some((m) => m.to === user.email && m.body.includes('/password/reset/')));
      const reset = linkFromOutbox(server, user.email, '/password/reset/');
      const invitee = uniqueEmail('invitee');
      await api.post('/account/users', { email: invitee, name: 'I', role: 'user' }, { token: admin.token });
      await waitFor(() => server.outbox.list().some((m) => m.to === invitee));
      const invitation = linkFromOutbox(server, invitee, '/invitations/');
      for (const path of [`/2fa/disable/${disable.token}`, `/password/reset/${reset}`, `/invitations/${invitation}`, `/2fa/disable/${'Z'.repeat(43)}`, `/password/reset/${'Z'.repeat(43)}`]) {
        const response = await fetch(server.url + path);
        assert.equal(response.headers.get('referrer-policy'), 'no-referrer', path);
        assert.match(response.headers.get('cache-control') ?? '', /no-store/, path);
      }
    });

    it('answers with no-store wherever a session, a secret, recovery codes or a phone number travel', async () => {
      const { api, server } = context();
      const signup = await api.post('/signup', { accountName: 'A', name: 'N', email: uniqueEmail(), password: PASSWORD });
      const token = signup.body.token as string;
      const login = await api.post('/login', { email: signup.body.user.email, password: PASSWORD });
      const totp = await api.post('/me/2fa/totp', undefined, { token });
      const confirm = await api.post('/me/2fa/totp/confirm', { enrollmentId: totp.body.enrollmentId, code: nextStepCode(server, totp.body.secret) }, { token });
      const regenerate = await api.post('/me/2fa/recovery-codes', undefined, { token });
      const phone = uniqueMobile();
      const smsStart = await api.post('/me/2fa/sms', { phone }, { token });
      const me = await api.get('/me', { token });
      const half = await api.post('/login', { email: signup.body.user.email, password: PASSWORD });
      const verify = await api.post('/login/verify', { method: 'totp', code: nextStepCode(server, totp.body.secret) }, { token: half.body.token });
      const cookie = sessionCookie(verify.body.token);
      const appPage = await fetch(`${server.url}/user/two-factor/app`, { headers: { cookie } });
      const userPage = await fetch(`${server.url}/user`, { headers: { cookie } });
      for (const [name, headers] of Object.entries({ signup: signup.headers, login: login.headers, totp: totp.headers, confirm: confirm.headers, regenerate: regenerate.headers, smsStart: smsStart.headers, me: me.headers, verify: verify.headers, appPage: appPage.headers, userPage: userPage.headers })) {
        assert.match(headers.get('cache-control') ?? '', /no-store/, name);
      }
      assert.equal(smsStart.status, 202, smsStart.text);
    });
  });

  describe('rule 28: recovery codes, the phone, disable links and enforcement need a re-authentication within 15 minutes', () => {
    it('refuses each sensitive action 15 minutes after login, and allows it again after re-entering the password', async () => {
      const { api, server } = context();
      const { admin, user } = await adminAndEnrolledUser(server, api);
      const enrolled = await enrollAuthenticatorApp(server, api, admin.token);
      const token = enrolled.token;
      const actions = [
        () => api.post('/me/2fa/recovery-codes', undefined, { token }),
        () => api.post('/me/2fa/sms', { phone: uniqueMobile() }, { token }),
        () => api.post(`/account/users/${user.userId}/2fa-disable-link`, undefined, { token }),
        () => api.patch('/account', { enforce2fa: true }, { token }),
      ];
      server.clock.advance(14 * MINUTE);
      assert.equal((await actions[0]!()).status, 200, 'still recent at 14 minutes');
      server.clock.advance(MINUTE + 1000);
      const before = await stateSnapshot(server);
      for (const [index, action] of actions.entries()) {
        const refused = await action();
        assert.equal(refused.status, 403, `action ${index} answered ${refused.status}`);
        assert.equal(refused.body.error, 'reauthentication_required');
      }
      assert.equal(await stateSnapshot(server), before);
      assert.equal((await api.post('/me/reauthenticate', { password: 'not the password' }, { token })).status, 401);
      assert.equal((await api.post('/me/reauthenticate', { password: PASSWORD }, { token })).status, 204);
      assert.deepEqual(await Promise.all(actions.map(async (action) => (await action()).status)), [200, 202, 202, 200]);
    });

    it('asks for the password on the recovery-codes and enforcement pages when the login is older than 15 minutes', async () => {
      const { api, server } = context();
      const admin = await signUp(api);
      const enrolled = await enrollAuthenticatorApp(server, api, admin.token);
      server.clock.advance(16 * MINUTE);
      const before = await stateSnapshot(server);
      for (const [path, body] of [['/user/two-factor/recovery-codes', ''], ['/settings/account', 'enforce2fa=on']] as const) {
        const form = await pageForm(server, '/user', sessionCookie(enrolled.token));
        const response = await fetch(server.url + path, { method: 'POST', headers: { cookie: form.cookie, origin: server.origin, 'content-type': 'application/x-www-form-urlencoded' }, body: `${body}&_csrf=${encodeURIComponent(form.csrf)}`, redirect: 'manual' });
        const text = await response.text();
        assert.ok(response.status >= 300, `${path} acted on a stale login (${response.status})`);
        assert.match(text, /Confirm your password/, `${path} asks for the password`);
      }
      assert.equal(await stateSnapshot(server), before);
    });
  });

  describe('rule 28: every next parameter refuses absolute, protocol-relative, backslash and javascript: targets', () => {
    const hostile = ['https://evil.example/', '//evil.example', '/\\evil.example', '\\\\evil.example', 'javascript:alert(1)', '/\t/evil.example', 'http:evil.example', '/%2F/evil.example', ' //evil.example', 'data:text/html,x'];

    function assertSafeLocation(location: string | null, target: string): void {
      assert.ok(location, `no redirect for ${JSON.stringify(target)}`);
      assert.ok(location.startsWith('/') && !location.startsWith('//') && !location.includes('\\'), `redirected to ${location} for ${JSON.stringify(target)}`);
      assert.ok(!new URL(location, 'http://twofold.invalid').host.includes('evil'), `redirected off-site: ${location}`);
    }

    it('the login form (POST /login?next=) lands only on this site', async () => {
      const { api, server } = context();
      const admin = await signUp(api);
      for (const target of hostile) {
        const form = await pageForm(server, `/login?next=${encodeURIComponent(target)}`);
        const response = await fetch(`${server.url}/login?next=${encodeURIComponent(target)}`, { method: 'POST', headers: { cookie: form.cookie, origin: server.origin, 'content-type': 'application/x-www-form-urlencoded' }, body: `_csrf=${encodeURIComponent(form.csrf)}&email=${encodeURIComponent(admin.email)}&password=${encodeURIComponent(PASSWORD)}`, redirect: 'manual' });
        assert.equal(response.status, 303);
        assertSafeLocation(response.headers.get('location'), target);
      }
    });

    it('the login page never carries a hostile next into its form', async () => {
      const { server } = context();
      for (const target of hostile) {
        const html = await (await fetch(`${server.url}/login?next=${encodeURIComponent(target)}`)).text();
        const action = /<form method="post" action="([^"]+)"/.exec(html)?.[1]?.replace(/&amp;/g, '&');
        assert.ok(action, 'the login form');
        const carried = new URL(action, 'http://twofold.invalid').searchParams.get('next');
        if (carried !== null) assertSafeLocation(carried, target);
        assert.doesNotMatch(html, /javascript:|data:text/, target);
      }
    });

    it('the verification step (POST /login/verify?next=) lands only on this site', async () => {
      const { api, server } = context();
      const admin = await signUp(api);
      const { secret } = await enrollAuthenticatorApp(server, api, admin.token);
      for (const target of hostile.slice(0, 5)) {
        const half = await passwordStep(api, admin.email);
        const cookie = sessionCookie(half);
        const form = await pageForm(server, `/login/verify?next=${encodeURIComponent(target)}`, cookie);
        const response = await fetch(`${server.url}/login/verify?method=totp&next=${encodeURIComponent(target)}`, { method: 'POST', headers: { cookie: form.cookie, origin: server.origin, 'content-type': 'application/x-www-form-urlencoded' }, body: `_csrf=${encodeURIComponent(form.csrf)}&method=totp&code=${nextStepCode(server, secret)}`, redirect: 'manual' });
        assert.equal(response.status, 303, await response.text());
        assertSafeLocation(response.headers.get('location'), target);
      }
    });

    it('the password confirmation (POST /reauthenticate?next=) lands only on this site', async () => {
      const { api, server } = context();
      const admin = await signUp(api);
      for (const target of hostile) {
        const form = await pageForm(server, `/reauthenticate?next=${encodeURIComponent(target)}`, sessionCookie(admin.token));
        const response = await fetch(`${server.url}/reauthenticate?next=${encodeURIComponent(target)}`, { method: 'POST', headers: { cookie: form.cookie, origin: server.origin, 'content-type': 'application/x-www-form-urlencoded' }, body: `_csrf=${encodeURIComponent(form.csrf)}&password=${encodeURIComponent(PASSWORD)}`, redirect: 'manual' });
        assert.equal(response.status, 303);
        assertSafeLocation(response.headers.get('location'), target);
      }
    });
  });
});

describe('G. production mode', () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer('sqlite', { env: { NODE_ENV: 'production', PUBLIC_URL: 'https://twofold.example', SMTP_URL: `smtp://127.0.0.1:${await freePort()}` } });
  });
  after(async () => {
    await server.close();
  });

  describe('rule 25: in production the session cookie is Secure with the __Host- prefix', () => {
    it('sets __Host-twofold_session; Secure; HttpOnly; SameSite=Lax; Path=/ and no Domain', async () => {
      const response = await request(server.url, 'POST', '/api/v1/signup', { accountName: 'P', name: 'P', email: uniqueEmail(), password: PASSWORD });
      assert.equal(response.status, 201);
      const cookie = response.headers.getSetCookie().find((c) => c.includes('twofold_session='));
      assert.ok(cookie);
      assert.match(cookie, /^__Host-twofold_session=/);
      assert.match(cookie, /;\s*Secure/i);
      assert.match(cookie, /HttpOnly/i);
      assert.match(cookie, /SameSite=Lax/i);
      assert.match(cookie, /Path=\//);
      assert.doesNotMatch(cookie, /Domain=/i);
    });
  });

  describe('rule 27: HSTS in production', () => {
    it('sends Strict-Transport-Security on pages and API answers', async () => {
      for (const path of ['/login', '/api/v1/me', '/healthz']) {
        const response = await fetch(server.url + path, { redirect: 'manual' });
        assert.match(response.headers.get('strict-transport-security') ?? '', /max-age=\d{7,}/, path);
      }
    });
  });
});
