/**
 * SECURITY.md section F — disabling 2FA, the admin's disable link, support (rules 20–24).
 * Every test attacks over real HTTP (or the real `twofold` command) and reads the outcome
 * from the answers, the outbox, the logs and the database.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { describe, it } from 'node:test';
import { inviteAndAccept, linkFromOutbox, logIn, PASSWORD, signUp, waitFor } from '../../helpers/fixtures.ts';
import { request } from '../../helpers/http.ts';
import { SMTPServer } from 'smtp-server';
import { simpleParser } from 'mailparser';
import { freePort, TEST_ENCRYPTION_KEY, type TestServer } from '../../helpers/server.ts';
import { forEachDatabase } from '../../helpers/suites.ts';
import { currentCode, enrollAuthenticatorApp, nextStepCode, passwordStep, securityEvents, wrongCode } from '../../helpers/two-factor.ts';
import { adminAndEnrolledUser, onSQLiteServer, pageForm, rawRequest, secondFactorGuesses, sendDisableLink, sessionCookie, stateSnapshot } from './helpers.ts';
import { twofoldBin } from '../../helpers/twofold-command.ts';

async function secondFactorRows(server: TestServer, userId: string): Promise<{ factors: number; recoveryCodes: number; openLinks: number }> {
  const db = server.deps.db;
  const factors = await db.selectFrom('factors').select('id').where('user_id', '=', userId).execute();
  const recoveryCodes = await db.selectFrom('recovery_codes').select('id').where('user_id', '=', userId).execute();
  const openLinks = await db.selectFrom('links').select('token_hash').where('user_id', '=', userId).where('kind', '=', 'disable_2fa').where('consumed_at', 'is', null).where('expires_at', '>', server.clock.now()).execute();
  return { factors: factors.length, recoveryCodes: recoveryCodes.length, openLinks: openLinks.length };
}

const HOUR = 3_600_000;

onSQLiteServer('F. disabling, links, support', (context) => {
  describe('rule 20: self-disable needs the password or a current code, is refused under enforcement, and removes every factor, recovery code and pending link', () => {
    it('refuses a wrong password and changes nothing', async () => {
      const { api, server } = context();
      const { user, token } = await adminAndEnrolledUser(server, api);
      const before = await stateSnapshot(server);
      const refused = await api.delete('/me/2fa', { password: 'not the password' }, { token });
      assert.equal(refused.status, 401);
      assert.equal(refused.body.error, 'invalid_credentials');
      assert.equal(await stateSnapshot(server), before);
      assert.equal((await secondFactorRows(server, user.userId)).factors, 1);
    });

    it('counts a wrong code against the shared second-factor budget, so disable guesses lock the login step too', async () => {
      const { api, server } = context();
      const { user, token, secret } = await adminAndEnrolledUser(server, api);
      const wrong = await api.delete('/me/2fa', { code: wrongCode(server, secret) }, { token });
      assert.equal(wrong.status, 401);
      assert.equal(wrong.body.error, 'invalid_code');
      assert.equal(await secondFactorGuesses(server, user.userId), 1);
      for (let i = 1; i < server.config.policy.wrongCodesPerUser; i += 1) await api.delete('/me/2fa', { code: wrongCode(server, secret) }, { token });
      const halfToken = await passwordStep(api, user.email);
      const login = await api.post('/login/verify', { method: 'totp', code: nextStepCode(server, secret) }, { token: halfToken });
      assert.equal(login.status, 429, 'the right code at login is refused once the disable form spent the budget');
      assert.equal((await secondFactorRows(server, user.userId)).factors, 1);
    });

    it('refuses with 403 2fa_enforced while the account enforces 2FA, even with the right password', async () => {
      const { api, server } = context();
      const { admin, user, token } = await adminAndEnrolledUser(server, api);
      const adminEnrolled = await enrollAuthenticatorApp(server, api, admin.token);
      assert.equal((await api.patch('/account', { enforce2fa: true }, { token: adminEnrolled.token })).status, 200);
      const refused = await api.delete('/me/2fa', { password: PASSWORD }, { token });
      assert.equal(refused.status, 403);
      assert.equal(refused.body.error, '2fa_enforced');
      assert.equal((await secondFactorRows(server, user.userId)).factors, 1);
    });

    it('removes every factor, every recovery code and the pending disable link', async () => {
      const { api, server } = context();
      const { admin, user, token } = await adminAndEnrolledUser(server, api);
      const link = await sendDisableLink(server, api, admin.token, user);
      const before = await secondFactorRows(server, user.userId);
      assert.deepEqual(before, { factors: 1, recoveryCodes: 10, openLinks: 1 });
      assert.equal((await api.delete('/me/2fa', { password: PASSWORD }, { token })).status, 204);
      assert.deepEqual(await secondFactorRows(server, user.userId), { factors: 0, recoveryCodes: 0, openLinks: 0 });
      assert.equal((await api.post(`/2fa/disable-links/${link.token}`, { password: PASSWORD })).status, 410, 'the link is void');
    });
  });

  describe('rule 21: only a recently authenticated admin of the same account issues a disable link; its token is 256-bit, hashed, single-use, 24 h, newest-only and never shown to the admin', () => {
    it('refuses a plain user, an admin of another account, a half-authenticated admin and a stale admin session', async () => {
      const { api, server } = context();
      const { admin, user } = await adminAndEnrolledUser(server, api);
      const mailsBefore = server.outbox.list().filter((m) => m.to === user.email).length;
      const plainUser = await logIn(api, (await inviteAndAccept(server, api, admin.token)).email);
      assert.equal((await api.post(`/account/users/${user.userId}/2fa-disable-link`, undefined, { token: plainUser.token })).status, 403);
      const stranger = await signUp(api);
      const foreign = await api.post(`/account/users/${user.userId}/2fa-disable-link`, undefined, { token: stranger.token });
      assert.equal(foreign.status, 404, 'another account\'s user does not exist for this admin');
      const adminEnrolled = await enrollAuthenticatorApp(server, api, admin.token);
      const halfAdmin = await passwordStep(api, admin.email);
      assert.equal((await api.post(`/account/users/${user.userId}/2fa-disable-link`, undefined, { token: halfAdmin })).status, 401);
      server.clock.advance(15 * 60_000 + 1000);
      const stale = await api.post(`/account/users/${user.userId}/2fa-disable-link`, undefined, { token: adminEnrolled.token });
      assert.equal(stale.status, 403);
      assert.equal(stale.body.error, 'reauthentication_required');
      await new Promise((resolve) => setTimeout(resolve, 100));
      assert.equal(server.outbox.list().filter((m) => m.to === user.email).length, mailsBefore, 'no link was e-mailed');
    });

    it('issues a 256-bit random token and stores only its SHA-256 hash', async () => {
      const { api, server } = context();
      const { admin, user } = await adminAndEnrolledUser(server, api);
      const first = await sendDisableLink(server, api, admin.token, user);
      const second = await sendDisableLink(server, api, admin.token, user);
      for (const { token } of [first, second]) {
        assert.ok(Buffer.from(token, 'base64url').length >= 32, `token ${token.length} chars is at least 256 bits`);
      }
      assert.notEqual(first.token, second.token);
      const rows = await server.deps.db.selectFrom('links').select('token_hash').where('user_id', '=', user.userId).execute();
      const stored = rows.map((r) => r.token_hash);
      assert.ok(stored.includes(createHash('sha256').update(second.token).digest('hex')));
      assert.ok(!JSON.stringify(rows).includes(first.token) && !JSON.stringify(rows).includes(second.token), 'no token in clear');
    });

    it('expires the link after 24 hours: the form still opens just before, the POST is refused just after', async () => {
      const { api, server } = context();
      const { admin, user } = await adminAndEnrolledUser(server, api);
      const link = await sendDisableLink(server, api, admin.token, user);
      server.clock.advance(24 * HOUR - 60_000);
      assert.equal((await fetch(`${server.url}/2fa/disable/${link.token}`)).status, 200, 'valid just before 24 h');
      server.clock.advance(2 * 60_000);
      const late = await api.post(`/2fa/disable-links/${link.token}`, { password: PASSWORD });
      assert.equal(late.status, 410);
      assert.equal(late.body.error, 'link_expired');
      assert.equal((await secondFactorRows(server, user.userId)).factors, 1);
    });

    it('keeps only the newest link: a second link voids the first', async () => {
      const { api, server } = context();
      const { admin, user } = await adminAndEnrolledUser(server, api);
      const first = await sendDisableLink(server, api, admin.token, user);
      server.clock.advance(1000);
      const second = await sendDisableLink(server, api, admin.token, user);
      assert.equal((await api.post(`/2fa/disable-links/${first.token}`, { password: PASSWORD })).status, 410);
      assert.equal((await api.post(`/2fa/disable-links/${second.token}`, { password: PASSWORD })).status, 204);
    });

    it('never shows the token to the admin: not in the API answer, the admin page, the admin\'s mail, the server log or the security log', async () => {
      const { api, server } = context();
      const { admin, user } = await adminAndEnrolledUser(server, api);
      const viaAPI = await sendDisableLink(server, api, admin.token, user);
      assert.ok(!viaAPI.responseText.includes(viaAPI.token) && !viaAPI.responseHeaders.includes(viaAPI.token), 'API answer');

      // The same through the admin's page, as a browser does it.
      const adminCookie = sessionCookie(admin.token);
      const form = await pageForm(server, `/settings/users/${user.userId}`, adminCookie);
      const before = server.outbox.list().length;
      const page = await fetch(`${server.url}/settings/users/${user.userId}/2fa-disable-link`, { method: 'POST', headers: { cookie: form.cookie, origin: server.origin, 'content-type': 'application/x-www-form-urlencoded' }, body: `_csrf=${encodeURIComponent(form.csrf)}`, redirect: 'follow' });
      assert.ok(page.status < 400, `page answered ${page.status}`);
      await waitFor(() => server.outbox.list().length > before);
      const viaPage = linkFromOutbox(server, user.email, '/2fa/disable/');
      assert.notEqual(viaPage, viaAPI.token);
      const pageHTML = await page.text();
      assert.ok(!pageHTML.includes(viaPage), 'admin page');

      const adminMail = server.outbox.list().filter((m) => m.to === admin.email).map((m) => m.body).join('\n');
      const serverLog = server.logLines.filter((line) => !line.includes('"outbox":true')).join('\n');
      const securityLogAPI = (await api.get('/account/security-log', { token: admin.token })).text;
      const securityLogCSV = (await api.get('/account/security-log.csv', { token: admin.token })).text;
      const securityLogRows = JSON.stringify(await server.deps.db.selectFrom('security_events').selectAll().execute());
      for (const token of [viaAPI.token, viaPage]) {
        for (const [where, text] of Object.entries({ adminMail, serverLog, securityLogAPI, securityLogCSV, securityLogRows })) assert.ok(!text.includes(token), `the token is in the ${where}`);
      }
      assert.ok((await securityEvents(server, user.userId, 'disable_link_sent')).length >= 2, 'the sending itself is logged');
    });
  });

  describe('rule 22: opening a link changes nothing; only the POST with the user\'s password acts, and it sets no session', () => {
    it('lets mail scanners GET and HEAD the link page repeatedly without changing or consuming anything', async () => {
      const { api, server } = context();
      const { admin, user } = await adminAndEnrolledUser(server, api);
      const link = await sendDisableLink(server, api, admin.token, user);
      const before = await stateSnapshot(server);
      for (let i = 0; i < 3; i += 1) {
        const page = await fetch(`${server.url}/2fa/disable/${link.token}`);
        assert.equal(page.status, 200);
        assert.match(await page.text(), /Disable Two Factor/);
        assert.equal((await fetch(`${server.url}/2fa/disable/${link.token}`, { method: 'HEAD' })).status, 200);
      }
      assert.equal(await stateSnapshot(server), before, 'opening the link changed the database');
      assert.equal((await api.post(`/2fa/disable-links/${link.token}`, { password: PASSWORD })).status, 204, 'the link still works');
    });

    it('acts only with the user\'s password, and answers the API POST with no cookie and no token', async () => {
      const { api, server } = context();
      const { admin, user } = await adminAndEnrolledUser(server, api);
      const link = await sendDisableLink(server, api, admin.token, user);
      assert.equal((await api.post(`/2fa/disable-links/${link.token}`, {})).status, 400);
      assert.equal((await api.post(`/2fa/disable-links/${link.token}`, { password: 'not the password' })).status, 401);
      assert.equal((await secondFactorRows(server, user.userId)).factors, 1);
      const used = await api.post(`/2fa/disable-links/${link.token}`, { password: PASSWORD });
      assert.equal(used.status, 204);
      assert.equal(used.text, '');
      assert.equal(used.headers.get('set-cookie'), null);
      assert.equal((await secondFactorRows(server, user.userId)).factors, 0);
    });

    it('sets no session cookie when the link page form is posted', async () => {
      const { api, server } = context();
      const { admin, user } = await adminAndEnrolledUser(server, api);
      const link = await sendDisableLink(server, api, admin.token, user);
      const form = await pageForm(server, `/2fa/disable/${link.token}`);
      const posted = await fetch(`${server.url}/2fa/disable/${link.token}`, { method: 'POST', headers: { cookie: form.cookie, origin: server.origin, 'content-type': 'application/x-www-form-urlencoded' }, body: `_csrf=${encodeURIComponent(form.csrf)}&password=${encodeURIComponent(PASSWORD)}`, redirect: 'manual' });
      assert.ok(posted.status < 400, `answered ${posted.status}`);
      assert.ok(!posted.headers.getSetCookie().some((c) => /session=[^;]/.test(c)), 'no session cookie');
      assert.equal((await secondFactorRows(server, user.userId)).factors, 0);
      const me = await request(server.url, 'GET', '/api/v1/me', undefined, { cookie: form.cookie });
      assert.equal(me.status, 401, 'the browser that used the link is not logged in');
    });
  });

  describe('rule 23: links are built from PUBLIC_URL, never from the Host or X-Forwarded-Host header', () => {
    const hostile = { host: 'evil.example', 'x-forwarded-host': 'evil.example', 'x-forwarded-proto': 'https', forwarded: 'host=evil.example;proto=https' };

    it('e-mails disable, reset and invitation links on PUBLIC_URL when the request names another host', async () => {
      const { api, server } = context();
      const { admin, user } = await adminAndEnrolledUser(server, api);
      const publicURL = server.config.publicURL.toString().replace(/\/$/, '');
      const sent = await rawRequest(server.url, 'POST', `/api/v1/account/users/${user.userId}/2fa-disable-link`, { ...hostile, authorization: `Bearer ${admin.token}` });
      assert.equal(sent.status, 202, sent.text);
      const forgot = await rawRequest(server.url, 'POST', '/api/v1/password/forgot', { ...hostile, 'content-type': 'application/json' }, JSON.stringify({ email: user.email }));
      assert.equal(forgot.status, 202);
      const inviteeEmail = `invitee-${Date.now()}@example.com`;
      const invited = await rawRequest(server.url, 'POST', '/api/v1/account/users', { ...hostile, authorization: `Bearer ${admin.token}`, 'content-type': 'application/json' }, JSON.stringify({ email: inviteeEmail, name: 'I', role: 'user' }));
      assert.equal(invited.status, 201, invited.text);
      await waitFor(() => server.outbox.list().some((m) => m.to === inviteeEmail) && server.outbox.list().some((m) => m.to === user.email && m.body.includes('/password/reset/')));
      const mails = server.outbox.list().filter((m) => m.to === user.email || m.to === inviteeEmail).map((m) => m.body).join('\n');
      assert.doesNotMatch(mails, /evil\.example/);
      for (const path of ['/2fa/disable/', '/password/reset/', '/invitations/']) assert.ok(mails.includes(`${publicURL}${path}`), `${path} link on PUBLIC_URL`);
    });
  });

  describe('rule 24: every way of disabling revokes all sessions, voids codes and links, e-mails the user and writes the security log', () => {
    /** The user's sessions and open codes before disabling: two complete sessions and a pending login. */
    async function outstanding(server: TestServer, email: string, token: string, secret: string) {
      const { api } = context();
      const second = await api.post('/login', { email, password: PASSWORD });
      const secondComplete = await api.post('/login/verify', { method: 'totp', code: nextStepCode(server, secret) }, { token: second.body.token });
      assert.equal(secondComplete.status, 200);
      const pendingLogin = await passwordStep(api, email);
      return { sessions: [token, secondComplete.body.token as string], pendingLogin };
    }

    async function assertDisabledEverywhere(server: TestServer, user: { email: string; userId: string }, before: { sessions: string[]; pendingLogin: string }, secret: string, eventType: string) {
      const { api } = context();
      for (const token of before.sessions) assert.equal((await api.get('/me', { token })).status, 401, 'a session survived');
      const pending = await api.post('/login/verify', { method: 'totp', code: nextStepCode(server, secret) }, { token: before.pendingLogin });
      assert.equal(pending.status, 401, 'a pending login survived');
      assert.deepEqual(await secondFactorRows(server, user.userId), { factors: 0, recoveryCodes: 0, openLinks: 0 });
      assert.equal((await securityEvents(server, user.userId, eventType)).length, 1, `${eventType} logged`);
      await waitFor(() => server.outbox.list().some((m) => m.to === user.email && /turned off/i.test(m.subject ?? '')));
    }

    it('self-disable (every other session; the one that disabled stays signed in, PRODUCT.md §2.5)', async () => {
      const { api, server } = context();
      const { user, token, secret } = await adminAndEnrolledUser(server, api);
      const before = await outstanding(server, user.email, token, secret);
      assert.equal((await api.delete('/me/2fa', { code: nextStepCode(server, secret) }, { token })).status, 204);
      await assertDisabledEverywhere(server, user, { ...before, sessions: before.sessions.filter((session) => session !== token) }, secret, 'factor_removed');
      assert.equal((await api.get('/me', { token })).status, 200, 'the session that disabled stays');
    });

    it('the admin\'s disable link', async () => {
      const { api, server } = context();
      const { admin, user, token, secret } = await adminAndEnrolledUser(server, api);
      const before = await outstanding(server, user.email, token, secret);
      const link = await sendDisableLink(server, api, admin.token, user);
      assert.equal((await api.post(`/2fa/disable-links/${link.token}`, { password: PASSWORD })).status, 204);
      await assertDisabledEverywhere(server, user, before, secret, 'disable_link_used');
    });

    it('the support command, which records the operator\'s reason and never shows or sets a factor', async () => {
      const { api, server } = context();
      const { user, token, secret, recoveryCodes } = await adminAndEnrolledUser(server, api);
      const before = await outstanding(server, user.email, token, secret);
      const setAttempt = await support(server, ['disable-2fa', '--email', user.email, '--reason', 'T-9', '--yes', '--secret', 'JBSWY3DPEHPK3PXP']);
      assert.notEqual(setAttempt.status, 0, 'the command takes no factor to set');
      assert.equal((await secondFactorRows(server, user.userId)).factors, 1);
      const smtp = await startSMTPServer();
      const result = await support(server, ['disable-2fa', '--email', user.email, '--reason', 'Ticket 5150: phone lost', '--yes'], smtp.url);
      assert.equal(result.status, 0, result.stderr);
      const printed = result.stdout + result.stderr;
      for (const secretValue of [secret, ...recoveryCodes, currentCode(server, secret)]) assert.ok(!printed.includes(secretValue), 'the command printed a factor');
      const [event] = await securityEvents(server, user.userId, 'support_reset');
      assert.equal(JSON.parse(event!.detail).reason, 'Ticket 5150: phone lost');
      await waitFor(() => smtp.mails.some((mail) => mail.to === user.email && /turned off/i.test(mail.subject)), 10_000).finally(() => smtp.close());
      for (const sessionToken of before.sessions) assert.equal((await api.get('/me', { token: sessionToken })).status, 401);
      assert.equal((await api.post('/login/verify', { method: 'totp', code: nextStepCode(server, secret) }, { token: before.pendingLogin })).status, 401);
      assert.deepEqual(await secondFactorRows(server, user.userId), { factors: 0, recoveryCodes: 0, openLinks: 0 });
    });
  });
});

/** A real SMTP server, so the e-mail the support command sends can be read. */
async function startSMTPServer(): Promise<{ url: string; mails: Array<{ to: string; subject: string }>; close(): Promise<void> }> {
  const mails: Array<{ to: string; subject: string }> = [];
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS'],
    onData: (stream, _session, done) => void simpleParser(stream).then((mail) => (mails.push({ to: (mail.to as { text: string }).text, subject: mail.subject ?? '' }), done()), done),
  });
  const port = await freePort();
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  return { url: `smtp://127.0.0.1:${port}`, mails, close: () => new Promise<void>((resolve) => server.close(() => resolve())) };
}

function support(server: TestServer, args: string[], smtpURL?: string): Promise<{ status: number | null; stdout: string; stderr: string }> {
  const env: Record<string, string | undefined> = { ...process.env, NODE_ENV: 'test', DATABASE_URL: server.database.url, ENCRYPTION_KEY: TEST_ENCRYPTION_KEY, LOG_LEVEL: 'warn' };
  if (smtpURL) env.SMTP_URL = smtpURL;
  const child = spawn(process.execPath, [twofoldBin, 'support', ...args], { env });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk) => (stdout += chunk));
  child.stderr.on('data', (chunk) => (stderr += chunk));
  child.stdin.end('');
  const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
  return new Promise((resolve) => child.on('close', (status) => (clearTimeout(timer), resolve({ status, stdout, stderr }))));
}

forEachDatabase('F. disable links on each database', (context) => {
  describe('rule 21: a disable link is used exactly once under concurrent posts, and is stored only hashed', () => {
    it('ten concurrent posts of one link: one 204, the rest 410, one log entry, no token in the table', async () => {
      const { api, server } = context();
      const { admin, user } = await adminAndEnrolledUser(server, api);
      const link = await sendDisableLink(server, api, admin.token, user);
      const rows = JSON.stringify(await server.deps.db.selectFrom('links').selectAll().execute());
      assert.ok(!rows.includes(link.token));
      const answers = await Promise.all(Array.from({ length: 10 }, () => api.post(`/2fa/disable-links/${link.token}`, { password: PASSWORD })));
      assert.equal(answers.filter((a) => a.status === 204).length, 1);
      assert.ok(answers.every((a) => a.status === 204 || a.status === 410), answers.map((a) => a.status).join());
      assert.equal((await securityEvents(server, user.userId, 'disable_link_used')).length, 1);
    });
  });
});
