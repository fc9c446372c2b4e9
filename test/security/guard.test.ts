/**
 * The central guard is deny-by-default (SECURITY.md rules 8 and 10): every route the server
 * registers, pages and API alike, refuses a request without a session unless the route is on
 * the short public list below. A route added later without thinking is covered automatically,
 * because the list of routes comes from the server itself.
 */
import assert from 'node:assert/strict';
import { it } from 'node:test';
import type { RouteEntry } from '../../src/http/plugins/authentication.ts';
import { signUp } from '../helpers/fixtures.ts';
import { forEachDatabase } from '../helpers/suites.ts';

/** Routes anyone may call; everything else must refuse a visitor. */
const PUBLIC_ROUTES = [
  /^\/$/,
  /^\/healthz$/,
  /^\/readyz$/,
  /^\/assets\//,
  /^\/api\/v1\/openapi\.json$/,
  /^\/api\/v1\/docs/,
  /^\/api\/v1\/(signup|login|password\/forgot|password\/reset|email\/verify|dev\/outbox)$/,
  /^\/api\/v1\/invitations\/:token$/,
  /^\/api\/v1\/2fa\/disable-links\/:token$/,
  // "This wasn't me" (rule 43): it works without a session and can only take access away.
  /^\/api\/v1\/security\/reports\/:token$/,
  /^\/security\/report\/:token$/,
  /^\/(signup|login|password\/forgot|dev\/outbox)$/,
  /^\/(invitations|password\/reset|2fa\/disable|email\/verify)\/:token$/,
  // The OpenID Provider's endpoints (rules 38-41): the authorization endpoint only ever answers
  // with a redirect to the interaction below (guarded at 'complete'), the token, revocation and
  // userinfo endpoints authenticate the application or its access token, and discovery, JWKS and
  // end-session are public by the protocol.
  /^\/\.well-known\/openid-configuration$/,
  /^\/oidc\/(?!interaction\/)/,
];

function registeredRoutes(app: { routeCatalog: RouteEntry[] }): RouteEntry[] {
  return app.routeCatalog;
}

function fill(url: string): string {
  return url.replace(/:[A-Za-z]+/g, 'A'.repeat(43)).replace(/\*$/, 'x');
}

forEachDatabase('authentication guard', (context) => {
  it('finds the routes the server registers', () => {
    const routes = registeredRoutes(context().server.app);
    assert.ok(routes.length > 15, `only ${routes.length} routes found`);
    assert.ok(routes.some((r) => r.url === '/api/v1/me' && r.method === 'GET'));
  });

  it('refuses every non-public route to a request without a session', async () => {
    const { server } = context();
    const checked: string[] = [];
    for (const route of registeredRoutes(server.app)) {
      if (route.method === 'HEAD' || route.method === 'OPTIONS') continue;
      const listedPublic = PUBLIC_ROUTES.some((pattern) => pattern.test(route.url));
      // The route's own declaration and the reviewed list must agree: a route that calls
      // itself public without being on the list fails here.
      assert.equal(route.access === 'public', listedPublic, `${route.method} ${route.url} is ${route.access}`);
      if (listedPublic) continue;
      const url = fill(route.url);
      const api = url.startsWith('/api/');
      const response = await fetch(server.url + url, {
        method: route.method,
        headers: { origin: server.origin, 'content-type': api ? 'application/json' : 'application/x-www-form-urlencoded' },
        body: route.method === 'GET' ? undefined : api ? '{}' : '',
        redirect: 'manual',
      });
      if (api) assert.equal(response.status, 401, `${route.method} ${url}`);
      else {
        assert.equal(response.status, 303, `${route.method} ${url}`);
        assert.match(response.headers.get('location') ?? '', /^\/login/, `${route.method} ${url}`);
      }
      checked.push(`${route.method} ${url}`);
    }
    assert.ok(checked.length >= 8, checked.join('\n'));
  });

  it('serves the stylesheet and the API docs to visitors, since the login page needs them', async () => {
    const { server } = context();
    assert.equal((await fetch(`${server.url}/assets/twofold.css`)).status, 200);
    assert.equal((await fetch(`${server.url}/api/v1/docs/static/index.html`)).status, 200);
  });

  it('ignores client claims about identity or state: headers and extra fields decide nothing', async () => {
    const { server, api } = context();
    const admin = await signUp(api);
    const forged = await fetch(`${server.url}/api/v1/me`, { headers: { 'x-user-id': admin.userId, 'x-session-state': 'complete', 'x-forwarded-user': admin.email } });
    assert.equal(forged.status, 401);
    const withState = await api.post('/login', { email: admin.email, password: 'wrong password', state: 'authenticated' });
    assert.equal(withState.status, 400);
  });
});
