/**
 * The durable delivery queue (issue 13, "Nothing lost") in one server, on SQLite and PostgreSQL,
 * against a real SMTP server: a refused message is retried after its backoff and arrives exactly
 * once; an unreachable mail server never fails the request that queued the message; and once
 * sent, nothing of the message — the link's token above all (SECURITY.md rule 29) — is left in
 * the database.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync, existsSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { databaseTargets } from '../helpers/databases.ts';
import { signUp, uniqueEmail, waitFor } from '../helpers/fixtures.ts';
import { apiClient, request } from '../helpers/http.ts';
import { freePort, startTestServer, type TestServer } from '../helpers/server.ts';
import { startControlledSMTP, type ControlledSMTP } from '../helpers/smtp.ts';

const METRICS_TOKEN = 'delivery-metrics-token-0123456789';

async function queueRow(server: TestServer, kind: string) {
  return server.deps.db.selectFrom('delivery_queue').selectAll().where('kind', '=', kind).orderBy('created_at', 'desc').executeTakeFirst();
}

/** Until the newest message of `kind` has had `attempts` tries and waits for the next one. */
async function untilWaitingForRetry(server: TestServer, kind: string, attempts: number): Promise<void> {
  await waitFor(async () => {
    const row = await queueRow(server, kind);
    return row?.status === 'queued' && row.attempts === attempts;
  });
}

/** Everything the database holds, as an attacker with a dump or the raw files would see it. */
function dumpDatabase(server: TestServer): string {
  const url = server.database.url;
  if (url.startsWith('sqlite:')) {
    const path = url.slice('sqlite:'.length);
    return [path, `${path}-wal`].filter((file) => existsSync(file)).map((file) => readFileSync(file).toString('latin1')).join('\n');
  }
  return execFileSync('pg_dump', ['--data-only', url], { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
}

for (const target of await databaseTargets()) {
  describe(`the delivery queue [${target.kind}]`, { skip: target.skip }, () => {
    let smtp: ControlledSMTP;
    let server: TestServer;
    before(async () => {
      smtp = await startControlledSMTP('refuse');
      server = await startTestServer(target.kind, { env: { SMTP_URL: smtp.url, MAIL_FROM: 'Twofold <no-reply@example.com>', METRICS_TOKEN } });
    });
    after(async () => {
      await server.close();
      await smtp.close();
    });

    it('retries an e-mail the SMTP server refused, after the backoff, and delivers it exactly once', async () => {
      const api = apiClient(server.url);
      // The sign-up's verification e-mail (issue 17) goes out first, so only the reset is counted below.
      smtp.mode = 'accept';
      const admin = await signUp(api);
      await server.deps.delivery.queue.drain();
      smtp.received.length = 0;
      smtp.mode = 'refuse';
      assert.equal((await api.post('/password/forgot', { email: admin.email })).status, 202);
      // The first try is refused (451): the message waits in the queue for its retry.
      await untilWaitingForRetry(server, 'password_reset', 1);
      assert.equal(smtp.received.length, 0);
      assert.ok(smtp.refused >= 1);
      const waiting = (await queueRow(server, 'password_reset'))!;
      assert.match(waiting.last_error ?? '', /451|Try again/);
      assert.ok(waiting.payload_encrypted, 'the message is kept until it is sent');
      assert.ok(!waiting.payload_encrypted.includes(admin.email), 'kept encrypted: not even the address in clear');

      smtp.mode = 'accept';
      // Not due before its backoff (DELIVERY_RETRY_SECONDS, 5 s), whatever wakes the worker.
      await server.deps.delivery.queue.drain();
      assert.equal(smtp.received.length, 0, 'retried before the backoff ran out');
      server.clock.advance(5_000);
      await server.deps.delivery.queue.drain();
      assert.equal(smtp.received.length, 1);
      // Nothing more goes out, however often the worker looks.
      await server.deps.delivery.queue.drain();
      await new Promise((resolve) => setTimeout(resolve, 300));
      assert.equal(smtp.received.length, 1, 'sent exactly once');
      assert.deepEqual(smtp.received[0]!.to && 'value' in smtp.received[0]!.to ? smtp.received[0]!.to.value.map((a) => a.address) : [], [admin.email]);

      const sent = (await queueRow(server, 'password_reset'))!;
      assert.equal(sent.status, 'sent');
      assert.equal(sent.attempts, 2);
      assert.equal(sent.payload_encrypted, null, 'the body is erased once sent');
      assert.equal(sent.user_id, admin.userId);

      // Rule 29: a dump taken now shows neither the reset token nor the message.
      const token = /\/password\/reset\/([A-Za-z0-9_-]{43})/.exec(smtp.received[0]!.text ?? '')![1]!;
      const dump = dumpDatabase(server);
      assert.ok(dump.length > 0);
      assert.ok(!dump.includes(token), 'the reset token is in the database dump');
      assert.ok(!dump.includes(`/password/reset/`), 'the e-mail body is in the database dump');

      // The queue's state and the attempts are in the metrics, with closed labels.
      const metrics = await request(server.url, 'GET', '/metrics', undefined, { token: METRICS_TOKEN });
      assert.equal(metrics.status, 200);
      // Two sent: the sign-up's verification e-mail and the reset.
      assert.match(metrics.text, /twofold_delivery_queue_messages\{channel="email",status="sent"\} 2\b/);
      assert.match(metrics.text, /twofold_delivery_queue_messages\{channel="email",status="queued"\} 0\b/);
      assert.match(metrics.text, /twofold_delivery_attempts_total\{channel="email",outcome="retry"\} 1\b/);
      assert.match(metrics.text, /twofold_delivery_attempts_total\{channel="email",outcome="sent"\} 2\b/);
    });

    it('gives a message up as failed after DELIVERY_MAX_ATTEMPTS tries and erases it', async () => {
      const local = await startTestServer(target.kind, { env: { SMTP_URL: smtp.url, DELIVERY_MAX_ATTEMPTS: '2' } });
      try {
        smtp.mode = 'refuse';
        const api = apiClient(local.url);
        const admin = await signUp(api);
        assert.equal((await api.post('/password/forgot', { email: admin.email })).status, 202);
        await untilWaitingForRetry(local, 'password_reset', 1);
        local.clock.advance(5_000);
        await local.deps.delivery.queue.drain();
        const row = (await queueRow(local, 'password_reset'))!;
        assert.equal(row.status, 'failed');
        assert.equal(row.attempts, 2);
        assert.equal(row.payload_encrypted, null);
      } finally {
        smtp.mode = 'accept';
        await local.close();
      }
    });
  });

  describe(`inviting while the mail server is unreachable [${target.kind}]`, { skip: target.skip }, () => {
    let server: TestServer;
    before(async () => {
      // Nothing listens on this port: every SMTP connection is refused.
      server = await startTestServer(target.kind, { env: { SMTP_URL: `smtp://127.0.0.1:${await freePort()}` } });
    });
    after(async () => {
      await server.close();
    });

    it('answers 201 and keeps the invitation queued for a retry instead of losing it', async () => {
      const api = apiClient(server.url);
      const admin = await signUp(api);
      const email = uniqueEmail('invitee');
      const invited = await api.post('/account/users', { email, name: 'Ivy Invited', role: 'user' }, { token: admin.token });
      assert.equal(invited.status, 201, invited.text);
      await untilWaitingForRetry(server, 'invitation', 1);
      const row = (await queueRow(server, 'invitation'))!;
      assert.equal(row.status, 'queued');
      assert.equal(row.user_id, invited.body.user.id);
      assert.ok(row.payload_encrypted, 'the invitation waits, whole, for the next try');
      assert.ok(row.next_attempt_at > server.clock.now());
      assert.ok(row.last_error);
    });
  });
}
