import assert from 'node:assert/strict';
import { it } from 'node:test';
import { inviteAndAccept, logIn, signUp } from '../helpers/fixtures.ts';
import { forEachDatabase } from '../helpers/suites.ts';

forEachDatabase('account-wide 2FA enforcement setting', (context) => {
  it('refuses an admin without 2FA of their own with 409 admin_2fa_required and changes nothing', async () => {
    const { api, server } = context();
    const admin = await signUp(api);
    const response = await api.patch('/account', { enforce2fa: true }, { token: admin.token });
    assert.equal(response.status, 409);
    assert.equal(response.body.error, 'admin_2fa_required');
    assert.equal((await api.get('/account', { token: admin.token })).body.enforce2fa, false);
    const events = await server.deps.db.selectFrom('security_events').select('id').where('type', '=', 'enforcement_changed').where('account_id', '=', admin.accountId).execute();
    assert.equal(events.length, 0);
  });

  it('refuses plain users with 403', async () => {
    const { api, server } = context();
    const admin = await signUp(api);
    const user = await inviteAndAccept(server, api, admin.token);
    const login = await logIn(api, user.email);
    const response = await api.patch('/account', { enforce2fa: false }, { token: login.token });
    assert.equal(response.status, 403);
    assert.equal(response.body.error, 'forbidden');
  });

  it('asks for a recent authentication once the login is older than 15 minutes', async () => {
    const { api, server } = context();
    const admin = await signUp(api);
    server.clock.advance(15 * 60_000 + 1);
    const response = await api.patch('/account', { enforce2fa: false }, { token: admin.token });
    assert.equal(response.status, 403);
    assert.equal(response.body.error, 'reauthentication_required');
  });

  it('answers a body that is not exactly {enforce2fa: boolean} with 400', async () => {
    const { api } = context();
    const admin = await signUp(api);
    for (const body of [{ enforce2fa: 'yes' }, { enforce2fa: 1 }, {}, { enforce2fa: true, name: 'x' }]) {
      const response = await api.patch('/account', body, { token: admin.token });
      assert.equal(response.status, 400, JSON.stringify(body));
      assert.equal(response.body.error, 'invalid_request');
    }
  });
});

forEachDatabase('enforcement reaches sessions that already exist', (context) => {
  it('sends a held session of a user without 2FA to setup on its very next request, API and pages', async () => {
    const { api, server } = context();
    const admin = await signUp(api);
    const user = await inviteAndAccept(server, api, admin.token);
    const held = await logIn(api, user.email);
    assert.equal((await api.get('/me', { token: held.token })).status, 200);
    // The switch itself is tested through PATCH /account (which needs an admin with 2FA);
    // here only its effect on sessions matters, so the flag is set directly.
    await server.deps.db.updateTable('accounts').set({ enforce_2fa: 1 }).where('id', '=', admin.accountId).execute();
    const me = await api.get('/me', { token: held.token });
    assert.equal(me.status, 403);
    assert.equal(me.body.error, 'enrollment_required');
    const page = await fetch(`${server.url}/settings/users`, { headers: { cookie: `twofold_session=${held.token}` }, redirect: 'manual' });
    assert.equal(page.status, 303);
    assert.equal(page.headers.get('location'), '/user');
    const setupPage = await fetch(`${server.url}/user`, { headers: { cookie: `twofold_session=${held.token}` }, redirect: 'manual' });
    assert.equal(setupPage.status, 200, 'the setup page stays reachable');
    await server.deps.db.updateTable('accounts').set({ enforce_2fa: 0 }).where('id', '=', admin.accountId).execute();
    assert.equal((await api.get('/me', { token: held.token })).status, 200, 'and the session is whole again once enforcement is off');
  });

  it('makes a new password login of a user without 2FA enrollment_required while enforcement is on', async () => {
    const { api, server } = context();
    const admin = await signUp(api);
    const user = await inviteAndAccept(server, api, admin.token);
    await server.deps.db.updateTable('accounts').set({ enforce_2fa: 1 }).where('id', '=', admin.accountId).execute();
    const login = await api.post('/login', { email: user.email, password: 'correct horse battery' });
    assert.equal(login.status, 200);
    assert.equal(login.body.state, 'enrollment_required');
    assert.equal((await api.get('/me', { token: login.body.token })).body.error, 'enrollment_required');
  });
});
