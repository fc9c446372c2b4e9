/** Sessions (SECURITY.md rules 9, 25): token shape and storage, cookie flags, expiry, revocation. */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { it } from 'node:test';
import { logIn, PASSWORD, signUp } from '../helpers/fixtures.ts';
import { request } from '../helpers/http.ts';
import { forEachDatabase } from '../helpers/suites.ts';

forEachDatabase('sessions', (context) => {
  it('issues 256-bit tokens and stores only their SHA-256 hash', async () => {
    const { api, server } = context();
    const admin = await signUp(api);
    assert.match(admin.token, /^[A-Za-z0-9_-]{43}$/, '32 bytes in base64url');
    const rows = await server.deps.db.selectFrom('sessions').select('token_hash').execute();
    assert.ok(!rows.some((row) => row.token_hash === admin.token), 'the token itself is not stored');
    const expected = createHash('sha256').update(admin.token).digest('hex');
    assert.ok(rows.some((row) => row.token_hash === expected));
  });

  it('sets the session cookie HttpOnly and SameSite=Lax on the whole site', async () => {
    const { server } = context();
    const response = await request(server.url, 'POST', '/api/v1/signup', { accountName: 'C', name: 'C', email: `cookie-${Date.now()}@example.com`, password: PASSWORD });
    const cookie = response.headers.get('set-cookie') ?? '';
    assert.match(cookie, /^twofold_session=/);
    assert.match(cookie, /HttpOnly/i);
    assert.match(cookie, /SameSite=Lax/i);
    assert.match(cookie, /Path=\//);
  });

  it('never adopts a token the client brings to the login: a planted cookie is replaced', async () => {
    const { api, server } = context();
    const admin = await signUp(api);
    const planted = 'P'.repeat(43);
    const login = await request(server.url, 'POST', '/api/v1/login', { email: admin.email, password: PASSWORD }, { cookie: `twofold_session=${planted}`, origin: server.origin });
    assert.equal(login.status, 200);
    assert.notEqual(login.body.token, planted);
    assert.equal((await api.get('/me', { token: planted })).status, 401);
  });

  it('ends a session that stays unused for the idle timeout (12 hours)', async () => {
    const { api, server } = context();
    const admin = await signUp(api);
    server.clock.advance(11 * 3_600_000);
    assert.equal((await api.get('/me', { token: admin.token })).status, 200, 'still alive within the idle window');
    server.clock.advance(12 * 3_600_000 + 1);
    assert.equal((await api.get('/me', { token: admin.token })).status, 401);
  });

  it('ends a session 7 days after login even when it is used all the time', async () => {
    const { api, server } = context();
    const admin = await signUp(api);
    for (let hour = 0; hour < 7 * 24; hour += 6) {
      server.clock.advance(6 * 3_600_000);
      const me = await api.get('/me', { token: admin.token });
      if (hour + 6 < 7 * 24) assert.equal(me.status, 200, `alive at hour ${hour + 6}`);
      else assert.equal(me.status, 401, 'expired at 7 days');
    }
  });

  it('revokes every session of a user on a password reset, effective on the next request', async () => {
    const { api, server } = context();
    const admin = await signUp(api);
    const second = await logIn(api, admin.email);
    const { revokeUserSessions } = await import('../../src/sessions/sessions.ts');
    await revokeUserSessions(server.deps.db, admin.userId);
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
