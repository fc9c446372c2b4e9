/**
 * Sessions (SECURITY.md rules 9, 25): a planted token is never adopted, and revocation and
 * deactivation take effect on the next request. Token shape and storage, cookie flags and the
 * idle and absolute expiry are attacked in rules/g-sessions-browsers-csrf.test.ts.
 */
import assert from 'node:assert/strict';
import { it } from 'node:test';
import { logIn, PASSWORD, signUp } from '../helpers/fixtures.ts';
import { request } from '../helpers/http.ts';
import { forEachDatabase } from '../helpers/suites.ts';

forEachDatabase('sessions', (context) => {
  it('never adopts a token the client brings to the login: a planted cookie is replaced', async () => {
    const { api, server } = context();
    const admin = await signUp(api);
    const planted = 'P'.repeat(43);
    const login = await request(server.url, 'POST', '/api/v1/login', { email: admin.email, password: PASSWORD }, { cookie: `twofold_session=${planted}`, origin: server.origin });
    assert.equal(login.status, 200);
    assert.notEqual(login.body.token, planted);
    assert.equal((await api.get('/me', { token: planted })).status, 401);
  });

  it('revokes every session of a user on a password reset, effective on the next request', async () => {
    const { api, server } = context();
    const admin = await signUp(api);
    const second = await logIn(api, admin.email);
    const { revokeUserSessions } = await import('../../src/sessions/sessions.ts');
    await revokeUserSessions(server.deps.db, server.deps.delivery.queue, admin.userId);
    assert.equal((await api.get('/me', { token: admin.token })).status, 401);
    assert.equal((await api.get('/me', { token: second.token })).status, 401);
  });

  it('refuses a deactivated user on the very next request', async () => {
    const { api, server } = context();
    const admin = await signUp(api);
    await server.deps.db.updateTable('users').set({ active: 0 }).where('id', '=', admin.userId).execute();
    assert.equal((await api.get('/me', { token: admin.token })).status, 401);
  });
});
