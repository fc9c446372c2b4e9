/**
 * E-mail over a real SMTP exchange: a local SMTP server (the smtp-server package) started by
 * the test receives what Twofold sends, and the test parses what arrived.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { SMTPServer } from 'smtp-server';
import { simpleParser, type ParsedMail } from 'mailparser';
import { createSMTPEmailSender } from '../../src/delivery/email/smtp-email.ts';
import { apiClient } from '../helpers/http.ts';
import { PASSWORD, signUp, waitFor } from '../helpers/fixtures.ts';
import { freePort, startTestServer, type TestServer } from '../helpers/server.ts';

interface Received {
  envelopeFrom: string;
  envelopeTo: string[];
  user: string | undefined;
  mail: ParsedMail;
}

async function startSMTPServer(): Promise<{ port: number; received: Received[]; close(): Promise<void> }> {
  const received: Received[] = [];
  const port = await freePort();
  const server = new SMTPServer({
    authOptional: false,
    allowInsecureAuth: true,
    disabledCommands: ['STARTTLS'],
    onAuth(auth, _session, callback) {
      if (auth.username === 'twofold' && auth.password === 'mail-secret') return callback(null, { user: auth.username });
      return callback(new Error('Invalid username or password'));
    },
    onData(stream, session, callback) {
      simpleParser(stream)
        .then((mail) => {
          received.push({
            envelopeFrom: session.envelope.mailFrom ? session.envelope.mailFrom.address : '',
            envelopeTo: session.envelope.rcptTo.map((r) => r.address),
            user: session.user as string | undefined,
            mail,
          });
          callback();
        })
        .catch(callback);
    },
  });
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  return { port, received, close: () => new Promise<void>((resolve) => server.close(() => resolve())) };
}

describe('SMTP delivery', () => {
  let smtp: Awaited<ReturnType<typeof startSMTPServer>>;
  before(async () => {
    smtp = await startSMTPServer();
  });
  after(async () => {
    await smtp.close();
  });

  it('delivers a message with the configured sender, recipient, subject and text after authenticating', async () => {
    const sender = createSMTPEmailSender(`smtp://twofold:mail-secret@127.0.0.1:${smtp.port}`, 'Twofold <no-reply@example.com>');
    await sender.sendEmail({ to: 'ada@example.com', subject: 'Hello', text: 'First line\nSecond line' });
    sender.close();
    const last = smtp.received.at(-1)!;
    assert.equal(last.user, 'twofold');
    assert.equal(last.envelopeFrom, 'no-reply@example.com');
    assert.deepEqual(last.envelopeTo, ['ada@example.com']);
    assert.equal(last.mail.subject, 'Hello');
    assert.equal(last.mail.text?.trim(), 'First line\nSecond line');
  });

  it('reports a refused login as a failure instead of pretending it was sent', async () => {
    const sender = createSMTPEmailSender(`smtp://twofold:wrong@127.0.0.1:${smtp.port}`, 'no-reply@example.com');
    await assert.rejects(sender.sendEmail({ to: 'ada@example.com', subject: 'x', text: 'y' }));
    sender.close();
  });

  describe('with a server configured for SMTP', () => {
    let server: TestServer;
    before(async () => {
      // Both channels have a real provider, so there is no outbox at all.
      server = await startTestServer('sqlite', {
        env: { SMTP_URL: `smtp://twofold:mail-secret@127.0.0.1:${smtp.port}`, MAIL_FROM: 'Twofold <no-reply@example.com>', SMS_PROVIDER: 'webhook', SMS_WEBHOOK_URL: 'http://127.0.0.1:9/sms', SMS_WEBHOOK_SECRET: 'w'.repeat(32) },
      });
    });
    after(async () => {
      await server.close();
    });

    it('has no development outbox once a real provider is configured', async () => {
      assert.equal(server.deps.delivery.outbox, null);
      const response = await apiClient(server.url).get('/dev/outbox');
      assert.equal(response.status, 404);
    });

    it('sends the password reset link over SMTP, built from PUBLIC_URL and not from the Host header', async () => {
      const api = apiClient(server.url);
      const admin = await signUp(api);
      // The sign-up's verification e-mail (issue 17) arrives first.
      await waitFor(() => smtp.received.some((received) => received.envelopeTo.includes(admin.email)));
      const before = smtp.received.length;
      const forgot = await api.post('/password/forgot', { email: admin.email }, { headers: { host: 'evil.example', 'x-forwarded-host': 'evil.example' } });
      assert.equal(forgot.status, 202);
      await waitFor(() => smtp.received.length > before);
      const mail = smtp.received.at(-1)!.mail;
      assert.deepEqual(smtp.received.at(-1)!.envelopeTo, [admin.email]);
      const link = /(http\S+\/password\/reset\/([A-Za-z0-9_-]{43}))/.exec(mail.text ?? '');
      assert.ok(link, mail.text);
      assert.ok(link[1]!.startsWith(`${server.url}/password/reset/`));
      assert.doesNotMatch(mail.text ?? '', /evil\.example/);
      const reset = await api.post('/password/reset', { token: link[2], password: 'a brand new password' });
      assert.equal(reset.status, 204);
      assert.equal((await api.post('/login', { email: admin.email, password: PASSWORD })).status, 401);
      assert.equal((await api.post('/login', { email: admin.email, password: 'a brand new password' })).status, 200);
    });
  });
});
