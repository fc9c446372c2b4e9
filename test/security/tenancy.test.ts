/**
 * Tenancy: every administrator route that names a user, pages and API alike, is tried by an
 * admin of account A against a user of account B. The list of routes comes from the server, so
 * an admin route added later is tried too. Each answers 404 and nothing of B's changes.
 */
import assert from 'node:assert/strict';
import { it } from 'node:test';
import { inviteAndAccept, logIn, signUp } from '../helpers/fixtures.ts';
import { forEachDatabase } from '../helpers/suites.ts';
import { enrollAuthenticatorApp } from '../helpers/two-factor.ts';
import { FormSession } from '../helpers/browser.ts';
import { request } from '../helpers/http.ts';

/** A body each route would accept for a user of the admin's own account. */
const BODIES: Record<string, Record<string, unknown>> = {
  'PATCH /api/v1/account/users/:id': { role: 'admin' },
  'POST /settings/users/:id/role': { role: 'admin' },
};

forEachDatabase('tenancy of administrator routes', (context) => {
  it('refuses an admin of account A every route naming a user of account B, and changes nothing of B', async () => {
    const { api, server } = context();
    const adminA = await signUp(api);
    const adminB = await signUp(api);
    const victim = await inviteAndAccept(server, api, adminB.token);
    await enrollAuthenticatorApp(server, api, (await logIn(api, victim.email)).token);

    const snapshot = async () => ({
      user: await server.deps.db.selectFrom('users').selectAll().where('id', '=', victim.userId).executeTakeFirst(),
      factors: (await server.deps.db.selectFrom('factors').select('id').where('user_id', '=', victim.userId).execute()).length,
      links: (await server.deps.db.selectFrom('links').select('token_hash').where('user_id', '=', victim.userId).execute()).length,
      sessions: (await server.deps.db.selectFrom('sessions').select('token_hash').where('user_id', '=', victim.userId).execute()).length,
    });
    const before = await snapshot();

    // A page session of admin A, for the page routes (forms with their CSRF token).
    const pages = new FormSession(server);
    await pages.post('/login', { email: adminA.email, password: 'correct horse battery' }, { formPage: '/login' });

    const routes = server.app.routeCatalog.filter((route) => route.role === 'admin' && route.url.includes(':id') && route.method !== 'HEAD');
    assert.ok(routes.length >= 6, routes.map((r) => `${r.method} ${r.url}`).join('\n'));
    for (const route of routes) {
      const url = route.url.replace(':id', victim.userId);
      const body = BODIES[`${route.method} ${route.url}`] ?? {};
      if (url.startsWith('/api/')) {
        const response = await request(server.url, route.method, url, route.method === 'GET' ? undefined : body, { token: adminA.token });
        assert.equal(response.status, 404, `${route.method} ${route.url}: ${response.text}`);
      } else if (route.method === 'GET') {
        assert.equal((await pages.get(url)).status, 404, `${route.method} ${route.url}`);
      } else {
        const csrf = /name="_csrf" value="([^"]+)"/.exec((await pages.get('/settings/users')).text)?.[1] ?? '';
        const response = await pages.post(url, { ...(body as Record<string, string>), _csrf: csrf });
        assert.equal(response.status, 404, `${route.method} ${route.url}`);
      }
    }
    assert.deepEqual(await snapshot(), before);
  });
});
