/**
 * The delivery queue across real `twofold serve` processes (issue 13, "Nothing lost"):
 * - SIGKILL while a message is being sent (the SMTP server holds it without answering): the
 *   message is not lost — a restarted server takes the dead worker's claim back once its lease
 *   has run out and sends it, once; on SQLite and PostgreSQL.
 * - three instances on one PostgreSQL database, every first try refused so that all three race
 *   for every retry: each message arrives exactly once (the claim is one conditional write).
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { openStorage } from '../../src/storage/database.ts';
import { createTestDatabase, databaseTargets, type TestDatabase } from '../helpers/databases.ts';
import { PASSWORD, uniqueEmail, waitFor } from '../helpers/fixtures.ts';
import { apiClient } from '../helpers/http.ts';
import { freePort, TEST_ENCRYPTION_KEY } from '../helpers/server.ts';
import { startControlledSMTP, type ControlledSMTP } from '../helpers/smtp.ts';
import { acrossInstances, startCluster, type Cluster } from '../api/multi-instance/instances.ts';

const bin = fileURLToPath(new URL('../../bin/twofold.js', import.meta.url));

interface ServerProcess {
  url: string;
  child: ChildProcess;
  exited: Promise<unknown>;
}

async function startServer(databaseURL: string, env: Record<string, string>): Promise<ServerProcess> {
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const child = spawn(process.execPath, [bin, 'serve'], {
    env: { ...process.env, NODE_ENV: 'development', PORT: String(port), PUBLIC_URL: url, DATABASE_URL: databaseURL, ENCRYPTION_KEY: TEST_ENCRYPTION_KEY, LOG_LEVEL: 'error', SMS_PROVIDER: 'outbox', REDIS_URL: '', ...env },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  const exited = new Promise((resolve) => child.once('exit', resolve));
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`twofold serve exited with ${child.exitCode}`);
    if (await fetch(`${url}/healthz`).then((r) => r.ok, () => false)) return { url, child, exited };
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  child.kill('SIGKILL');
  throw new Error('twofold serve did not answer within 60 s');
}

async function stop(server: ServerProcess, signal: NodeJS.Signals): Promise<void> {
  if (server.child.exitCode === null && server.child.signalCode === null) server.child.kill(signal);
  await server.exited;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

for (const target of await databaseTargets()) {
  describe(`a message in flight when its server is SIGKILLed [${target.kind}]`, { skip: target.skip }, () => {
    let smtp: ControlledSMTP;
    let database: TestDatabase;
    before(async () => {
      smtp = await startControlledSMTP('stall');
      database = await createTestDatabase(target.kind);
    });
    after(async () => {
      await smtp.close();
      await database.drop();
    });

    it('is sent exactly once by the restarted server after the dead claim lapses', async () => {
      // A short lease, so the test waits seconds rather than a minute for the dead claim to lapse.
      const env = { SMTP_URL: smtp.url, DELIVERY_LEASE_SECONDS: '4', DELIVERY_POLL_MS: '100' };
      const first = await startServer(database.url, env);
      const email = uniqueEmail('admin');
      try {
        const api = apiClient(first.url);
        // The sign-up's verification e-mail (issue 17) goes out first; the reset is the message in flight.
        smtp.mode = 'accept';
        assert.equal((await api.post('/signup', { accountName: 'Crash', name: 'Cy Crash', email, password: PASSWORD })).status, 201);
        await waitFor(() => smtp.received.length === 1, 10_000);
        smtp.received.length = 0;
        smtp.mode = 'stall';
        assert.equal((await api.post('/password/forgot', { email })).status, 202);
        // The SMTP server has the message and holds its answer: the send is in flight.
        await waitFor(() => smtp.stalled === 1, 10_000);
      } finally {
        await stop(first, 'SIGKILL');
      }
      assert.equal(smtp.received.length, 0);

      smtp.mode = 'accept';
      const second = await startServer(database.url, env);
      try {
        await waitFor(() => smtp.received.length >= 1, 20_000);
        await sleep(1000);
        assert.equal(smtp.received.length, 1, 'sent exactly once after the restart');
        assert.match(smtp.received[0]!.text ?? '', /\/password\/reset\/[A-Za-z0-9_-]{43}/);
        const storage = openStorage(database.url);
        try {
          const row = await storage.db.selectFrom('delivery_queue').selectAll().where('kind', '=', 'password_reset').executeTakeFirstOrThrow();
          assert.equal(row.status, 'sent');
          assert.equal(row.attempts, 2, 'the dead worker\'s try and the one after the restart');
          assert.equal(row.payload_encrypted, null);
        } finally {
          await storage.close();
        }
      } finally {
        await stop(second, 'SIGTERM');
      }
    });
  });
}

const [, postgres] = await databaseTargets();
describe('three instances on one PostgreSQL database sharing the delivery queue', { skip: postgres!.skip }, () => {
  let smtp: ControlledSMTP;
  let cluster: Cluster;
  before(async () => {
    smtp = await startControlledSMTP('refuse');
    cluster = await startCluster(3, { SMTP_URL: smtp.url, DELIVERY_POLL_MS: '50', DELIVERY_RETRY_SECONDS: '1' });
  });
  after(async () => {
    await cluster?.stop();
    await smtp.close();
  });

  it('sends each message exactly once while all three race for every retry', async () => {
    // Ten accounts, each e-mailed a verification link at sign-up, asking for a password reset and
    // inviting two users: 40 messages, queued through all three instances.
    const admins = await acrossInstances(cluster.instances, 10, async (instance) => {
      const email = uniqueEmail('admin');
      const signedUp = await instance.api.post('/signup', { accountName: 'Three', name: 'Tri Admin', email, password: PASSWORD });
      assert.equal(signedUp.status, 201, signedUp.text);
      return { email, token: signedUp.body.token as string };
    });
    const recipients: string[] = admins.map((admin) => admin.email);
    await acrossInstances(cluster.instances, 10, async (instance, i) => {
      const admin = admins[i]!;
      recipients.push(admin.email);
      assert.equal((await instance.api.post('/password/forgot', { email: admin.email })).status, 202);
      for (let n = 0; n < 2; n += 1) {
        const email = uniqueEmail('invitee');
        recipients.push(email);
        const invited = await instance.api.post('/account/users', { email, name: 'Ivy Invited', role: 'user' }, { token: admin.token });
        assert.equal(invited.status, 201, invited.text);
      }
    });
    // Every first try is refused; from then on any instance may take any retry.
    const db = cluster.storage.db;
    await waitFor(async () => {
      const rows = await db.selectFrom('delivery_queue').select(['status', 'attempts']).execute();
      return rows.length === 40 && rows.every((row) => row.status === 'queued' && row.attempts >= 1);
    }, 30_000);
    smtp.mode = 'accept';
    await waitFor(() => smtp.received.length >= 40, 30_000);
    await sleep(2000);
    const delivered = smtp.received.flatMap((mail) => (mail.to && 'value' in mail.to ? mail.to.value.map((a) => a.address ?? '') : []));
    assert.equal(delivered.length, 40, `each message once, got ${delivered.length}`);
    assert.deepEqual([...delivered].sort(), [...recipients].sort());
    const rows = await db.selectFrom('delivery_queue').select(['status', 'payload_encrypted']).execute();
    assert.ok(rows.every((row) => row.status === 'sent' && row.payload_encrypted === null));
  });
});
