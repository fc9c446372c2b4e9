/** Logs and error bodies carry no password, token or cookie (SECURITY.md rule 30). */
import assert from 'node:assert/strict';
import { it } from 'node:test';
import { linkFromOutbox, PASSWORD, signUp, waitFor } from '../helpers/fixtures.ts';
import { request } from '../helpers/http.ts';
import { forEachDatabase } from '../helpers/suites.ts';

forEachDatabase('secrets stay out of the logs', (context) => {
  it('logs no password, session token or link token during sign-up, login, a failed login and a reset', async () => {
    const { api, server } = context();
    const admin = await signUp(api);
    const login = await api.post('/login', { email: admin.email, password: PASSWORD });
    await api.post('/login', { email: admin.email, password: 'wrong password guess' });
    await request(server.url, 'GET', '/api/v1/me', undefined, { cookie: `twofold_session=${login.body.token}` });
    await api.post('/password/forgot', { email: admin.email });
    await waitFor(() => server.outbox.list().some((m) => m.to === admin.email && m.body.includes('/password/reset/')));
    const resetToken = linkFromOutbox(server, admin.email, '/password/reset/');
    await fetch(`${server.url}/password/reset/${resetToken}`);
    await fetch(`${server.url}/invitations/${resetToken}?token=${resetToken}`);
    await api.post('/password/reset', { token: resetToken, password: 'the next password' });
    await api.post('/signup', { accountName: 'A', name: 'N', email: 'bad', password: 'a password in a bad request' });

    // Outbox lines are the development delivery channel itself and are printed by design.
    const lines = server.logLines.filter((line) => !line.includes('"outbox":true'));
    assert.ok(lines.length > 0, 'the server logged its requests');
    for (const secret of [PASSWORD, 'wrong password guess', 'the next password', 'a password in a bad request', admin.token, login.body.token, resetToken]) {
      assert.ok(!lines.some((line) => line.includes(secret)), `a log line contains ${secret.slice(0, 6)}…`);
    }
  });
});
