/**
 * Open redirect through dot segments (issue 13, defect 3): `next` used to be checked as the raw
 * string and then answered as the URL parser's normalised pathname, so `/.//evil.example`
 * passed the check and came out as `//evil.example` — another host to every browser. Every
 * variant below goes through every page that follows `next`; the Location must stay a path on
 * this site (one leading slash, no backslash, same origin once a browser resolves it).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { PASSWORD, signUp } from '../helpers/fixtures.ts';
import { enrollAuthenticatorApp, nextStepCode, passwordStep } from '../helpers/two-factor.ts';
import { onSQLiteServer, pageForm, sessionCookie } from './rules/helpers.ts';

/** Each one a browser would read as another host if the server answered it normalised. */
const HOSTILE_NEXT = [
  '/.//evil.example/phish',
  '/..//evil.example',
  '/%2e//evil.example',
  '/%2E//evil.example',
  '/%2e%2e//evil.example',
  '/.%2e//evil.example',
  '/a/../..//evil.example',
  '/a/..//evil.example',
  '/././/evil.example',
  '/.//\\evil.example',
  '/./\\evil.example',
  '/.\\/evil.example',
  '/%2F/evil.example',
  '/%2f%2fevil.example',
  '/.//%2Fevil.example',
  '/%5C/evil.example',
  '/.%2F/evil.example',
  '/.\t//evil.example',
  '/\t/evil.example',
  '/.\n//evil.example',
  '/\r\n//evil.example',
  '/. //evil.example',
  '/.//evil.example?x=1#y',
];

/** Targets on this site still work after the fix. */
const SAME_SITE_NEXT: Array<[string, string]> = [
  ['/user', '/user'],
  ['/settings/account?tab=2#top', '/settings/account?tab=2#top'],
  ['/a/../user', '/user'],
  ['/./user', '/user'],
];

const PROBE_ORIGIN = 'http://twofold.invalid';

function assertOnThisSite(location: string | null, target: string): void {
  assert.ok(location, `no redirect for ${JSON.stringify(target)}`);
  assert.ok(location.startsWith('/'), `redirected to ${location} for ${JSON.stringify(target)}`);
  assert.ok(!location.startsWith('//') && !location.includes('\\'), `redirected to ${location} for ${JSON.stringify(target)}`);
  assert.equal(new URL(location, PROBE_ORIGIN).origin, PROBE_ORIGIN, `redirected off-site: ${location} for ${JSON.stringify(target)}`);
  assert.ok(!/^\/(%2f|%5c)/i.test(location), `a leading encoded slash another hop may decode: ${location}`);
}

function form(body: Record<string, string>): string {
  return new URLSearchParams(body).toString();
}

onSQLiteServer('SECURITY.md section G (browsers, open redirects): next through dot segments, on every page that follows it (issue 13 defect 3)', (context) => {
  describe('GET /login?next= with a complete session redirects only on this site', () => {
    it('refuses every dot-segment, backslash, encoded-slash and control-character variant', async () => {
      const { api, server } = context();
      const admin = await signUp(api);
      for (const target of HOSTILE_NEXT) {
        const response = await fetch(`${server.url}/login?next=${encodeURIComponent(target)}`, { headers: { cookie: sessionCookie(admin.token) }, redirect: 'manual' });
        assert.equal(response.status, 303, target);
        assertOnThisSite(response.headers.get('location'), target);
      }
    });

    it('still follows a path on this site, normalised', async () => {
      const { api, server } = context();
      const admin = await signUp(api);
      for (const [target, expected] of SAME_SITE_NEXT) {
        const response = await fetch(`${server.url}/login?next=${encodeURIComponent(target)}`, { headers: { cookie: sessionCookie(admin.token) }, redirect: 'manual' });
        assert.equal(response.headers.get('location'), expected, target);
      }
    });
  });

  it('POST /login?next= lands only on this site', async () => {
    const { api, server } = context();
    const admin = await signUp(api);
    for (const target of HOSTILE_NEXT) {
      const page = await pageForm(server, '/login');
      const response = await fetch(`${server.url}/login?next=${encodeURIComponent(target)}`, { method: 'POST', headers: { cookie: page.cookie, origin: server.origin, 'content-type': 'application/x-www-form-urlencoded' }, body: form({ _csrf: page.csrf, email: admin.email, password: PASSWORD }), redirect: 'manual' });
      assert.equal(response.status, 303, target);
      assertOnThisSite(response.headers.get('location'), target);
    }
  });

  it('the login page never carries a dot-segment next into its form action', async () => {
    const { server } = context();
    for (const target of HOSTILE_NEXT) {
      const html = await (await fetch(`${server.url}/login?next=${encodeURIComponent(target)}`)).text();
      const action = /<form method="post" action="([^"]+)"/.exec(html)?.[1]?.replace(/&amp;/g, '&');
      assert.ok(action, 'the login form');
      const carried = new URL(action, PROBE_ORIGIN).searchParams.get('next');
      if (carried !== null) assertOnThisSite(carried, target);
    }
  });

  it('POST /login/verify?next= lands only on this site', async () => {
    const { api, server } = context();
    const admin = await signUp(api);
    const { secret } = await enrollAuthenticatorApp(server, api, admin.token);
    for (const target of HOSTILE_NEXT.slice(0, 8)) {
      const half = await passwordStep(api, admin.email);
      const page = await pageForm(server, '/login/verify', sessionCookie(half));
      // Each login needs a code of a later time step (rule 5).
      server.clock.advance(30_000);
      const response = await fetch(`${server.url}/login/verify?method=totp&next=${encodeURIComponent(target)}`, { method: 'POST', headers: { cookie: page.cookie, origin: server.origin, 'content-type': 'application/x-www-form-urlencoded' }, body: form({ _csrf: page.csrf, method: 'totp', code: nextStepCode(server, secret) }), redirect: 'manual' });
      assert.equal(response.status, 303, `${target}: ${await response.text()}`);
      assertOnThisSite(response.headers.get('location'), target);
    }
  });

  it('POST /reauthenticate?next= lands only on this site', async () => {
    const { api, server } = context();
    const admin = await signUp(api);
    for (const target of HOSTILE_NEXT) {
      const page = await pageForm(server, '/reauthenticate', sessionCookie(admin.token));
      const response = await fetch(`${server.url}/reauthenticate?next=${encodeURIComponent(target)}`, { method: 'POST', headers: { cookie: page.cookie, origin: server.origin, 'content-type': 'application/x-www-form-urlencoded' }, body: form({ _csrf: page.csrf, password: PASSWORD }), redirect: 'manual' });
      assert.equal(response.status, 303, target);
      assertOnThisSite(response.headers.get('location'), target);
    }
  });
});
