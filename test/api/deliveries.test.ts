/**
 * Delivery status for people (issue 17), on both databases against a real SMTP server whose
 * answer the test sets: the admin sees an invitation go queued → sent, and a resent one go
 * queued → failed, on the user's page and in GET /account/users/{id}; "Resend invitation" issues
 * a new link (the old one void), is capped like invitations and logged as user_invited {resend};
 * `twofold support show-user` prints the same, and never a token.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { after, before, describe, it } from 'node:test';
import { FormSession } from '../helpers/browser.ts';
import { databaseTargets } from '../helpers/databases.ts';
import { PASSWORD, signUp, uniqueEmail, waitFor } from '../helpers/fixtures.ts';
import { apiClient } from '../helpers/http.ts';
import { startTestServer, TEST_ENCRYPTION_KEY, type TestServer } from '../helpers/server.ts';
import { startControlledSMTP, type ControlledSMTP } from '../helpers/smtp.ts';
import { twofoldBin } from '../helpers/twofold-command.ts';

async function newestRow(server: TestServer, userId: string, kind: string) {
  return server.deps.db.selectFrom('delivery_queue').selectAll().where('user_id', '=', userId).where('kind', '=', kind).orderBy('created_at', 'desc').executeTakeFirst();
}

function showUser(server: TestServer, email: string): Promise<{ status: number | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, [twofoldBin, 'support', 'show-user', '--email', email], {
    env: { ...process.env, DATABASE_URL: server.database.url, ENCRYPTION_KEY: TEST_ENCRYPTION_KEY, LOG_LEVEL: 'warn' },
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk) => (stdout += chunk));
  child.stderr.on('data', (chunk) => (stderr += chunk));
  const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
  return new Promise((resolve) => child.on('close', (status) => (clearTimeout(timer), resolve({ status, stdout, stderr }))));
}

function invitationTokenIn(smtp: ControlledSMTP, to: string): string[] {
  return smtp.received
    .filter((mail) => mail.to && 'value' in mail.to && mail.to.value.some((address) => address.address === to))
    .map((mail) => /\/invitations\/([A-Za-z0-9_-]+)/.exec(mail.text ?? '')?.[1])
    .filter((token): token is string => Boolean(token));
}

for (const target of await databaseTargets()) {
  describe(`delivery status for people [${target.kind}]`, { skip: target.skip }, () => {
    let smtp: ControlledSMTP;
    let server: TestServer;
    before(async () => {
      smtp = await startControlledSMTP('refuse');
      server = await startTestServer(target.kind, { env: { SMTP_URL: smtp.url, MAIL_FROM: 'Twofold <no-reply@example.com>', DELIVERY_MAX_ATTEMPTS: '2', DELIVERY_RETRY_SECONDS: '5' } });
    });
    after(async () => {
      await server.close();
      await smtp.close();
    });

    it('shows an invitation queued (retrying after a refusal), then sent; a resent one queued, then failed; the old link is void', async () => {
      const api = apiClient(server.url);
      const admin = await signUp(api);
      const email = uniqueEmail('invitee');
      const invited = await api.post('/account/users', { email, name: 'Ivo Invitee', role: 'user' }, { token: admin.token });
      assert.equal(invited.status, 201);
      const userId: string = invited.body.user.id;

      await waitFor(async () => (await newestRow(server, userId, 'invitation'))?.attempts === 1 && (await newestRow(server, userId, 'invitation'))?.status === 'queued');
      let detail = await api.get(`/account/users/${userId}`, { token: admin.token });
      assert.equal(detail.status, 200, detail.text);
      assert.equal(detail.body.invitationPending, true);
      assert.equal(detail.body.user.emailVerified, false);
      const queued = detail.body.deliveries.find((d: { kind: string }) => d.kind === 'invitation');
      assert.equal(queued.status, 'queued');
      assert.equal(queued.attempts, 1);
      assert.match(queued.lastError, /451|Try again/);
      assert.ok(queued.nextTryAt);
      assert.equal(queued.sentAt, null);

      const browser = new FormSession(server);
      await browser.post('/login', { email: admin.email, password: PASSWORD });
      let page = await browser.get(`/settings/users/${userId}`);
      assert.match(page.text, /<h2 id="emails-heading">E-mails<\/h2>/);
      assert.match(page.text, /<dt>Invitation<\/dt><dd>queued, 1 failed try so far/);

      smtp.mode = 'accept';
      server.clock.advance(5_000);
      await server.deps.delivery.queue.drain();
      detail = await api.get(`/account/users/${userId}`, { token: admin.token });
      const sent = detail.body.deliveries.find((d: { kind: string }) => d.kind === 'invitation');
      assert.equal(sent.status, 'sent');
      assert.equal(sent.sentAt, new Date(server.clock.now()).toISOString());
      page = await browser.get(`/settings/users/${userId}`);
      assert.match(page.text, /<dt>Invitation<\/dt><dd>sent \d{4}-\d\d-\d\d \d\d:\d\d UTC<\/dd>/);
      const [firstToken] = invitationTokenIn(smtp, email);
      assert.ok(firstToken);

      // Resend while the mail server refuses every try: queued, then failed after the last one.
      smtp.mode = 'refuse';
      const resent = await browser.post(`/settings/users/${userId}/invitation`, {}, { formPage: `/settings/users/${userId}` });
      assert.equal(resent.status, 202, resent.text);
      assert.match(resent.text, /We e-mailed .* a new invitation/);
      await waitFor(async () => (await newestRow(server, userId, 'invitation'))?.attempts === 1 && (await newestRow(server, userId, 'invitation'))?.status === 'queued');
      server.clock.advance(5_000);
      await server.deps.delivery.queue.drain();
      detail = await api.get(`/account/users/${userId}`, { token: admin.token });
      const failed = detail.body.deliveries.find((d: { kind: string }) => d.kind === 'invitation');
      assert.equal(failed.status, 'failed');
      assert.equal(failed.attempts, 2);
      assert.ok(failed.lastTryAt);
      page = await browser.get(`/settings/users/${userId}`);
      assert.match(page.text, /<dt>Invitation<\/dt><dd>failed after 2 tries, last \d{4}-\d\d-\d\d \d\d:\d\d UTC \(/);
      assert.equal((await api.post(`/invitations/${firstToken}`, { password: PASSWORD })).status, 410, 'the earlier link stopped working');

      const events = await server.deps.db.selectFrom('security_events').select('detail').where('type', '=', 'user_invited').where('subject_user_id', '=', userId).orderBy('at').execute();
      assert.deepEqual(events.map((event) => JSON.parse(event.detail)), [{ role: 'user' }, { role: 'user', resend: true }]);

      // support show-user prints the same, and nothing of the link.
      const shown = await showUser(server, email);
      assert.equal(shown.status, 0, shown.stderr);
      assert.match(shown.stdout, /invited, has not set a password yet/);
      assert.match(shown.stdout, /Email:\s+not verified/);
      assert.match(shown.stdout, /Invitation\s+failed after 2 tries/);
      assert.match(shown.stdout, /2FA:\s+not enabled/);
      assert.match(shown.stdout, /Last login:\s+never/);
      assert.doesNotMatch(shown.stdout, new RegExp(firstToken));
      const adminShown = await showUser(server, admin.email);
      assert.match(adminShown.stdout, /Email verification\s+(queued|failed|sent)/);
    });

    it('resend: 202 for a pending invitation via the API; 409 invitation_accepted once accepted; 404 for another account; 403 for a member', async () => {
      smtp.mode = 'accept';
      const api = apiClient(server.url);
      const admin = await signUp(api);
      const email = uniqueEmail('pending');
      const userId: string = (await api.post('/account/users', { email, name: 'Pat Pending', role: 'user' }, { token: admin.token })).body.user.id;
      const resent = await api.post(`/account/users/${userId}/invitation`, undefined, { token: admin.token });
      assert.equal(resent.status, 202, resent.text);
      await server.deps.delivery.queue.drain();
      const tokens = invitationTokenIn(smtp, email);
      assert.equal(tokens.length, 2);
      assert.equal((await api.post(`/invitations/${tokens[0]}`, { password: PASSWORD })).status, 410);
      assert.equal((await api.post(`/invitations/${tokens[1]}`, { password: PASSWORD })).status, 204);
      const again = await api.post(`/account/users/${userId}/invitation`, undefined, { token: admin.token });
      assert.equal(again.status, 409);
      assert.equal(again.body.error, 'invitation_accepted');
      const detail = await api.get(`/account/users/${userId}`, { token: admin.token });
      assert.equal(detail.body.invitationPending, false);
      assert.equal(detail.body.user.emailVerified, true);

      const stranger = await signUp(api);
      assert.equal((await api.post(`/account/users/${userId}/invitation`, undefined, { token: stranger.token })).status, 404);
      assert.equal((await api.get(`/account/users/${userId}`, { token: stranger.token })).status, 404);
      const member = await api.post('/login', { email, password: PASSWORD });
      assert.equal((await api.get(`/account/users/${userId}`, { token: member.body.token })).status, 403);
    });

    it('resend is capped like invitations (429 rate_limited with Retry-After) and sends nothing more', async () => {
      smtp.mode = 'accept';
      const api = apiClient(server.url);
      const admin = await signUp(api);
      const email = uniqueEmail('capped');
      const userId: string = (await api.post('/account/users', { email, name: 'Cap Ped', role: 'user' }, { token: admin.token })).body.user.id;
      const cap = server.config.policy.invitationsPerAccountPerHour;
      let answer = await api.post(`/account/users/${userId}/invitation`, undefined, { token: admin.token });
      for (let i = 1; answer.status === 202 && i <= cap; i += 1) answer = await api.post(`/account/users/${userId}/invitation`, undefined, { token: admin.token });
      assert.equal(answer.status, 429);
      assert.equal(answer.body.error, 'rate_limited');
      assert.ok(answer.headers.get('retry-after'));
      const rows = await server.deps.db.selectFrom('delivery_queue').select('id').where('user_id', '=', userId).where('kind', '=', 'invitation').execute();
      assert.ok(rows.length <= cap, `${rows.length} invitations for a cap of ${cap}`);
    });
  });
}
