/**
 * NIST SP 800-63B §3.1.1.2 (rev 4; §5.1.1.2 in rev 3): a password found in a list of commonly used
 * or breached passwords is refused wherever a password is set — sign-up, password reset,
 * invitation acceptance, the create-account command — with 400 weak_password and a message that
 * says why, on the API and on the pages. The list is the one @zxcvbn-ts/language-common ships,
 * compared without regard to case. Nothing changes when a password is refused.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { FormSession } from '../helpers/browser.ts';
import { linkFromOutbox, PASSWORD, signUp, uniqueEmail, waitFor } from '../helpers/fixtures.ts';
import { TEST_ENCRYPTION_KEY } from '../helpers/server.ts';
import { forEachDatabase } from '../helpers/suites.ts';

/** In the list (checked against it in the unit test below); each is 8 characters or more. */
const COMMON = ['password', 'iloveyou', 'Sunshine', 'trustno1', 'QWERTYUIOP', '12345678'];

forEachDatabase('common passwords are refused (NIST SP 800-63B)', (context) => {
  it('sign-up refuses a common password with 400 weak_password saying it is common, and creates nothing', async () => {
    const { api, server } = context();
    for (const password of COMMON) {
      const email = uniqueEmail('common');
      const answer = await api.post('/signup', { accountName: 'Common', name: 'C', email, password });
      assert.equal(answer.status, 400, `${password}: ${answer.text}`);
      assert.equal(answer.body.error, 'weak_password');
      assert.match(answer.body.message, /common/i);
      assert.equal(await server.deps.db.selectFrom('users').select('id').where('email', '=', email).executeTakeFirst(), undefined);
    }
    // A short password still gets the length message.
    const short = await api.post('/signup', { accountName: 'Short', name: 'S', email: uniqueEmail(), password: 'short' });
    assert.equal(short.body.error, 'weak_password');
    assert.match(short.body.message, /8 and 128/);
  });

  it('password reset and invitation acceptance refuse a common password and keep the link usable', async () => {
    const { api, server } = context();
    const admin = await signUp(api);
    // The invitation first: the reset signs the admin out.
    const inviteeEmail = uniqueEmail('invitee');
    assert.equal((await api.post('/account/users', { email: inviteeEmail, name: 'I', role: 'user' }, { token: admin.token })).status, 201);
    await waitFor(() => server.outbox.list().some((m) => m.to === inviteeEmail));
    const invitation = linkFromOutbox(server, inviteeEmail, '/invitations/');
    const refusedInvite = await api.post(`/invitations/${invitation}`, { password: 'Sunshine' });
    assert.equal(refusedInvite.status, 400, refusedInvite.text);
    assert.equal(refusedInvite.body.error, 'weak_password');
    assert.match(refusedInvite.body.message, /common/i);
    assert.equal((await api.post(`/invitations/${invitation}`, { password: PASSWORD })).status, 204, 'the invitation was not spent');

    const forgot = await api.post('/password/forgot', { email: admin.email });
    assert.equal(forgot.status, 202);
    await waitFor(() => server.outbox.list().some((m) => m.to === admin.email && m.body.includes('/password/reset/')));
    const resetToken = linkFromOutbox(server, admin.email, '/password/reset/');
    const refusedReset = await api.post('/password/reset', { token: resetToken, password: 'iloveyou' });
    assert.equal(refusedReset.status, 400, refusedReset.text);
    assert.equal(refusedReset.body.error, 'weak_password');
    assert.match(refusedReset.body.message, /common/i);
    assert.equal((await api.post('/password/reset', { token: resetToken, password: 'a brand new password' })).status, 204, 'the link was not spent');
  });

  it('the sign-up, reset and invitation pages say the password is too common, with 400', async () => {
    const { api, server } = context();
    const browser = new FormSession(server);
    const signup = await browser.post('/signup', { accountName: 'Page', name: 'P', email: uniqueEmail(), password: 'trustno1' });
    assert.equal(signup.status, 400);
    assert.match(signup.text, /too common/i);

    const admin = await signUp(api);
    await browser.post('/password/forgot', { email: admin.email });
    await waitFor(() => server.outbox.list().some((m) => m.to === admin.email && m.body.includes('/password/reset/')));
    const resetToken = linkFromOutbox(server, admin.email, '/password/reset/');
    const reset = await browser.post(`/password/reset/${resetToken}`, { password: 'password' });
    assert.equal(reset.status, 400);
    assert.match(reset.text, /too common/i);

    const inviteeEmail = uniqueEmail('invitee');
    await api.post('/account/users', { email: inviteeEmail, name: 'I', role: 'user' }, { token: admin.token });
    await waitFor(() => server.outbox.list().some((m) => m.to === inviteeEmail));
    const invitation = linkFromOutbox(server, inviteeEmail, '/invitations/');
    const accept = await browser.post(`/invitations/${invitation}`, { password: '12345678' });
    assert.equal(accept.status, 400);
    assert.match(accept.text, /too common/i);
  });

  it('twofold create-account refuses a common password', () => {
    const { server } = context();
    const bin = fileURLToPath(new URL('../../bin/twofold.js', import.meta.url));
    const result = spawnSync(process.execPath, [bin, 'create-account', '--account-name', 'Ops', '--name', 'O', '--email', uniqueEmail('ops'), '--password-stdin'], {
      env: { ...process.env, ENCRYPTION_KEY: TEST_ENCRYPTION_KEY, DATABASE_URL: server.database.url, LOG_LEVEL: 'warn' },
      input: 'qwertyuiop\n',
      encoding: 'utf8',
      timeout: 60_000,
    });
    assert.notEqual(result.status, 0);
    assert.match(result.stderr, /common/i);
  });
});
