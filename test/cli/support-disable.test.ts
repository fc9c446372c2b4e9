/**
 * `twofold support disable-2fa` run as the operator would, against the database a running
 * server uses, with e-mail going to a real SMTP server started by the test.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { after, before, it } from 'node:test';
import { SMTPServer } from 'smtp-server';
import { simpleParser, type ParsedMail } from 'mailparser';
import { inviteAndAccept, logIn, signUp } from '../helpers/fixtures.ts';
import { freePort, TEST_ENCRYPTION_KEY } from '../helpers/server.ts';
import { forEachDatabase } from '../helpers/suites.ts';
import { enrollAuthenticatorApp, securityEvents } from '../helpers/two-factor.ts';
import { twofoldBin } from '../helpers/twofold-command.ts';

const mails: ParsedMail[] = [];
let smtp: SMTPServer;
let smtpPort = 0;

before(async () => {
  smtpPort = await freePort();
  smtp = new SMTPServer({ authOptional: true, disabledCommands: ['STARTTLS'], onData: (stream, _session, done) => void simpleParser(stream).then((mail) => (mails.push(mail), done()), done) });
  await new Promise<void>((resolve) => smtp.listen(smtpPort, '127.0.0.1', resolve));
});
after(async () => {
  await new Promise<void>((resolve) => smtp.close(() => resolve()));
});

/** Runs the command without blocking this process: the SMTP server above must keep answering. */
function support(databaseURL: string, args: string[], input = ''): Promise<{ status: number | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, [twofoldBin, 'support', ...args], {
    env: { ...process.env, DATABASE_URL: databaseURL, ENCRYPTION_KEY: TEST_ENCRYPTION_KEY, SMTP_URL: `smtp://127.0.0.1:${smtpPort}`, LOG_LEVEL: 'warn' },
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk) => (stdout += chunk));
  child.stderr.on('data', (chunk) => (stderr += chunk));
  child.stdin.end(input);
  const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
  return new Promise((resolve) => child.on('close', (status) => (clearTimeout(timer), resolve({ status, stdout, stderr }))));
}

forEachDatabase('support disable-2fa', (context) => {
  it('turns a user\'s 2FA off, signs out their sessions, records the reason as support and e-mails them', async () => {
    const { api, server } = context();
    const admin = await signUp(api);
    const enrolled = await enrollAuthenticatorApp(server, api, admin.token);
    const result = await support(server.database.url, ['disable-2fa', '--email', admin.email, '--reason', 'Ticket 4711: lost phone, identity checked by video call', '--yes']);
    assert.equal(result.status, 0, result.stderr);
    assert.match(result.stdout, /Turned off two-factor authentication for/);
    assert.match(result.stdout, /support_reset/);
    assert.doesNotMatch(result.stdout, new RegExp(enrolled.secret), 'the command never shows a factor');
    const factors = await server.deps.db.selectFrom('factors').select('id').where('user_id', '=', admin.userId).execute();
    assert.equal(factors.length, 0);
    assert.equal((await api.get('/me', { token: enrolled.token })).status, 401);
    const [event] = await securityEvents(server, admin.userId, 'support_reset');
    assert.ok(event);
    assert.equal(JSON.parse(event.detail).reason, 'Ticket 4711: lost phone, identity checked by video call');
    const row = await server.deps.db.selectFrom('security_events').select('actor_kind').where('type', '=', 'support_reset').where('subject_user_id', '=', admin.userId).executeTakeFirstOrThrow();
    assert.equal(row.actor_kind, 'support');
    assert.ok(mails.some((mail) => (mail.to as { text: string }).text.includes(admin.email) && /turned off/.test(mail.subject ?? '') && /support team/.test(mail.text ?? '')));
  });

  it('asks first and changes nothing when the operator does not confirm', async () => {
    const { api, server } = context();
    const admin = await signUp(api);
    await enrollAuthenticatorApp(server, api, admin.token);
    const result = await support(server.database.url, ['disable-2fa', '--email', admin.email, '--reason', 'T-1'], 'n\n');
    assert.equal(result.status, 1);
    assert.match(result.stdout, /Nothing changed/);
    const factors = await server.deps.db.selectFrom('factors').select('id').where('user_id', '=', admin.userId).execute();
    assert.equal(factors.length, 1);
  });

  it('exits non-zero with a clear message for an unknown email or a missing reason', async () => {
    const { server } = context();
    const unknown = await support(server.database.url, ['disable-2fa', '--email', 'nobody@example.com', '--reason', 'T-2', '--yes']);
    assert.notEqual(unknown.status, 0);
    assert.match(unknown.stderr, /no user has the email nobody@example\.com/);
    const noReason = await support(server.database.url, ['disable-2fa', '--email', 'nobody@example.com', '--yes']);
    assert.notEqual(noReason.status, 0);
    assert.match(noReason.stderr, /--reason/);
  });

  it('helps a sole admin of an enforcing account who lost their device: they log in, set 2FA up again, and enforcement stays on', async () => {
    const { api, server } = context();
    const admin = await signUp(api);
    const enrolled = await enrollAuthenticatorApp(server, api, admin.token);
    assert.equal((await api.patch('/account', { enforce2fa: true }, { token: enrolled.token })).status, 200);
    const result = await support(server.database.url, ['disable-2fa', '--email', admin.email, '--reason', 'T-4: sole admin, phone lost', '--yes']);
    assert.equal(result.status, 0, result.stderr);
    const login = await logIn(api, admin.email);
    assert.equal(login.state, 'enrollment_required');
    assert.equal((await api.get('/account', { token: login.token })).status, 403, 'nothing but setup until a factor is confirmed');
    const again = await enrollAuthenticatorApp(server, api, login.token);
    const account = await api.get('/account', { token: again.token });
    assert.equal(account.status, 200);
    assert.equal(account.body.enforce2fa, true);
  });

  it('lets a plain user of an enforcing account set 2FA up again at the next login', async () => {
    const { api, server } = context();
    const admin = await signUp(api);
    const user = await inviteAndAccept(server, api, admin.token);
    const login = await logIn(api, user.email);
    await enrollAuthenticatorApp(server, api, login.token);
    await server.deps.db.updateTable('accounts').set({ enforce_2fa: 1 }).where('id', '=', admin.accountId).execute();
    const result = await support(server.database.url, ['disable-2fa', '--email', user.email, '--reason', 'T-3', '--yes']);
    assert.equal(result.status, 0, result.stderr);
    assert.match(result.stdout, /set it up again at their next login/);
    assert.equal((await logIn(api, user.email)).state, 'enrollment_required');
  });
});
