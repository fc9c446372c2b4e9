/**
 * Mailbox access alone must not turn 2FA off (issue 13 defect 1; SECURITY.md rules 11, 21, 44).
 * The attack: an admin has e-mailed the user a disable link; whoever reads that mailbox asks for
 * a password reset, sets a password of their own, and posts it to the disable link — the next
 * login then has no second factor. A reset voids every outstanding disable link, and a disable
 * link only works with a password that existed when it was sent.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { linkFromOutbox, PASSWORD, waitFor } from '../helpers/fixtures.ts';
import type { APIClient } from '../helpers/http.ts';
import type { TestServer } from '../helpers/server.ts';
import { forEachDatabase } from '../helpers/suites.ts';
import { setPasswordHash } from '../../src/users/users.ts';
import { adminAndEnrolledUser, sendDisableLink } from './rules/helpers.ts';

const ATTACKER_PASSWORD = 'attacker chose this one';

/** Forgot-password then reset, as the mailbox reader does it; answers once the reset is done. */
async function resetThroughMailbox(server: TestServer, api: APIClient, email: string, password: string): Promise<void> {
  const before = server.outbox.list().filter((m) => m.to === email && m.body.includes('/password/reset/')).length;
  assert.equal((await api.post('/password/forgot', { email })).status, 202);
  await waitFor(() => server.outbox.list().filter((m) => m.to === email && m.body.includes('/password/reset/')).length > before);
  const token = linkFromOutbox(server, email, '/password/reset/');
  const reset = await api.post('/password/reset', { token, password });
  assert.equal(reset.status, 204, reset.text);
}

async function factorCount(server: TestServer, userId: string): Promise<number> {
  return (await server.deps.db.selectFrom('factors').select('id').where('user_id', '=', userId).execute()).length;
}

forEachDatabase('mailbox access alone does not turn 2FA off (issue 13 defect 1)', (context) => {
  describe('rules 11, 21, 44: a password reset voids the disable links, and a link needs a password that existed when it was sent', () => {
    it('refuses the disable link with the password set by a reset after it was sent; 2FA stays on and the next login asks for the code', async () => {
      const { api, server } = context();
      const { admin, user } = await adminAndEnrolledUser(server, api);
      const link = await sendDisableLink(server, api, admin.token, user);
      await resetThroughMailbox(server, api, user.email, ATTACKER_PASSWORD);
      const used = await api.post(`/2fa/disable-links/${link.token}`, { password: ATTACKER_PASSWORD });
      assert.equal(used.status, 410, used.text);
      assert.equal(used.body.error, 'link_expired', 'the link\'s normal refusal');
      assert.equal(await factorCount(server, user.userId), 1);
      const login = await api.post('/login', { email: user.email, password: ATTACKER_PASSWORD });
      assert.equal(login.status, 200);
      assert.equal(login.body.state, 'mfa_required', 'the next login still asks for the second factor');
    });

    it('voids the link at the reset: even the old password no longer works with it, and its page says so', async () => {
      const { api, server } = context();
      const { admin, user } = await adminAndEnrolledUser(server, api);
      const link = await sendDisableLink(server, api, admin.token, user);
      await resetThroughMailbox(server, api, user.email, ATTACKER_PASSWORD);
      const open = await server.deps.db.selectFrom('links').select('token_hash').where('user_id', '=', user.userId).where('kind', '=', 'disable_2fa').where('consumed_at', 'is', null).execute();
      assert.equal(open.length, 0, 'no disable link of the user is outstanding after the reset');
      const page = await fetch(`${server.url}/2fa/disable/${link.token}`);
      assert.notEqual(page.status, 200, 'the link page no longer offers the form');
      assert.equal((await api.post(`/2fa/disable-links/${link.token}`, { password: PASSWORD })).status, 410);
      assert.equal(await factorCount(server, user.userId), 1);
    });

    it('refuses a link sent before any later password change, even one that did not void it', async () => {
      const { api, server } = context();
      const { admin, user } = await adminAndEnrolledUser(server, api);
      const link = await sendDisableLink(server, api, admin.token, user);
      // A password change by a path that forgot to void the links (any future one): the link
      // itself must still refuse a password that did not exist when it was sent.
      const hashed = await server.deps.hasher.hashPassword(ATTACKER_PASSWORD);
      assert.ok(hashed.ok);
      await setPasswordHash(server.deps.db, user.userId, hashed.value);
      const used = await api.post(`/2fa/disable-links/${link.token}`, { password: ATTACKER_PASSWORD });
      assert.equal(used.status, 410, used.text);
      assert.equal(await factorCount(server, user.userId), 1);
    });

    it('still works with the user\'s own password when nothing changed it (the link\'s purpose)', async () => {
      const { api, server } = context();
      const { admin, user } = await adminAndEnrolledUser(server, api);
      const link = await sendDisableLink(server, api, admin.token, user);
      assert.equal((await api.post(`/2fa/disable-links/${link.token}`, { password: PASSWORD })).status, 204);
      assert.equal(await factorCount(server, user.userId), 0);
    });

    it('a link sent after the reset works with the new password', async () => {
      const { api, server } = context();
      const { admin, user } = await adminAndEnrolledUser(server, api);
      await resetThroughMailbox(server, api, user.email, ATTACKER_PASSWORD);
      const link = await sendDisableLink(server, api, admin.token, user);
      assert.equal((await api.post(`/2fa/disable-links/${link.token}`, { password: ATTACKER_PASSWORD })).status, 204);
    });
  });
});
