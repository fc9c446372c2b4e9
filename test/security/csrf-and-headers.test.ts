/** CSRF on cookie-authenticated changes (rule 26) and the security headers (rule 27). */
import assert from 'node:assert/strict';
import { it } from 'node:test';
import { signUp, uniqueEmail } from '../helpers/fixtures.ts';
import { request } from '../helpers/http.ts';
import { forEachDatabase } from '../helpers/suites.ts';

forEachDatabase('CSRF and security headers', (context) => {
  async function cookieSession(): Promise<string> {
    const { server } = context();
    const response = await request(server.url, 'POST', '/api/v1/signup', { accountName: 'C', name: 'C', email: uniqueEmail(), password: 'correct horse battery' });
    return (response.headers.get('set-cookie') ?? '').split(';')[0]!;
  }

  it('refuses a cookie-authenticated API change from another origin', async () => {
    const { server } = context();
    const cookie = await cookieSession();
    const response = await request(server.url, 'POST', '/api/v1/account/users', { email: uniqueEmail(), name: 'X', role: 'admin' }, { cookie, origin: 'https://evil.example' });
    assert.equal(response.status, 403);
    assert.equal(response.body.error, 'csrf_rejected');
    const users = await server.deps.db.selectFrom('users').select('id').where('name', '=', 'X').execute();
    assert.equal(users.length, 0);
  });

  it('refuses a cookie-authenticated API change that carries no Origin at all', async () => {
    const { server } = context();
    const cookie = await cookieSession();
    const response = await request(server.url, 'POST', '/api/v1/logout', undefined, { cookie });
    assert.equal(response.status, 403);
    assert.equal(response.body.error, 'csrf_rejected');
  });

  it('accepts the same cookie-authenticated change from our own origin', async () => {
    const { server } = context();
    const cookie = await cookieSession();
    const response = await request(server.url, 'POST', '/api/v1/account/users', { email: uniqueEmail(), name: 'Y', role: 'user' }, { cookie, origin: server.origin });
    assert.equal(response.status, 201);
  });

  it('needs no Origin for bearer-token API clients, which a browser cannot forge', async () => {
    const { api } = context();
    const admin = await signUp(api);
    const response = await api.post('/account/users', { email: uniqueEmail(), name: 'Z', role: 'user' }, { token: admin.token });
    assert.equal(response.status, 201);
  });

  it('refuses a page form posted from another origin', async () => {
    const { server } = context();
    const response = await fetch(`${server.url}/login`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded', origin: 'https://evil.example' }, body: 'email=a%40example.com&password=x', redirect: 'manual' });
    assert.equal(response.status, 403);
  });

  it('sends a CSP without inline scripts, frame-ancestors none, no-referrer and no-store', async () => {
    const { server } = context();
    for (const path of ['/login', '/api/v1/me', '/api/v1/docs/static/index.html']) {
      const response = await fetch(server.url + path, { redirect: 'manual' });
      const csp = response.headers.get('content-security-policy') ?? '';
      assert.match(csp, /frame-ancestors 'none'/, path);
      assert.match(csp, /script-src 'self'/, path);
      assert.doesNotMatch(csp.match(/script-src[^;]*/)?.[0] ?? '', /unsafe-inline/, path);
      if (!path.includes('/docs/')) {
        assert.equal(response.headers.get('referrer-policy'), 'no-referrer', path);
        assert.equal(response.headers.get('cache-control'), 'no-store', path);
      }
    }
  });

  it('sends no HSTS outside production (it would pin plain-HTTP development hosts)', async () => {
    const { server } = context();
    const response = await fetch(`${server.url}/healthz`);
    assert.equal(response.headers.get('strict-transport-security'), null);
  });
});
