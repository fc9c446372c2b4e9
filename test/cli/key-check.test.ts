/**
 * The start-time key check (issue 13): a server started with a key that does not open what the
 * database stores refuses to start with one line naming ENCRYPTION_KEY and
 * PREVIOUS_ENCRYPTION_KEYS, instead of saying "ready" and answering 500 at a user's code step.
 * Real `twofold serve` and `twofold rotate-key` processes, on SQLite and PostgreSQL.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { rmSync } from 'node:fs';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { systemClock } from '../../src/clock.ts';
import { deriveKeys } from '../../src/crypto/keys.ts';
import { claimDueMessages, enqueueMessage } from '../../src/delivery/queue/queue-store.ts';
import { openStorage } from '../../src/storage/database.ts';
import { createTestDatabase, databaseTargets, type TestDatabase } from '../helpers/databases.ts';
import { freePort } from '../helpers/server.ts';

const bin = fileURLToPath(new URL('../../bin/twofold.js', import.meta.url));
const KEY_A = randomBytes(32).toString('base64');
const KEY_B = randomBytes(32).toString('base64');

interface Started {
  served: boolean;
  exitCode: number | null;
  stderr: string;
}

/** Starts `twofold serve`; stops it once it answers, or reports how it exited. */
async function tryToServe(database: TestDatabase, env: Record<string, string>): Promise<Started> {
  const port = await freePort();
  const child = spawn(process.execPath, [bin, 'serve'], {
    env: { ...process.env, NODE_ENV: 'development', PORT: String(port), PUBLIC_URL: `http://127.0.0.1:${port}`, DATABASE_URL: database.url, LOG_LEVEL: 'error', SMTP_URL: '', REDIS_URL: '', ENCRYPTION_KEY: '', PREVIOUS_ENCRYPTION_KEYS: '', ...env },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline && child.exitCode === null) {
    if (await fetch(`http://127.0.0.1:${port}/healthz`).then((r) => r.ok, () => false)) {
      child.kill('SIGTERM');
      return { served: true, exitCode: await exited, stderr };
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  if (child.exitCode === null) child.kill('SIGKILL');
  return { served: false, exitCode: await exited, stderr };
}

function rotateKey(database: TestDatabase, env: Record<string, string>) {
  return spawnSync(process.execPath, [bin, 'rotate-key'], { env: { ...process.env, DATABASE_URL: database.url, LOG_LEVEL: 'error', ...env }, encoding: 'utf8' });
}

for (const target of await databaseTargets()) {
  describe(`the start-time key check [${target.kind}]`, { skip: target.skip }, () => {
    let database: TestDatabase;
    before(async () => {
      database = await createTestDatabase(target.kind);
    });
    after(async () => {
      await database.drop();
    });

    it('refuses to start with a key that does not open the stored check, in one line naming both variables', async () => {
      assert.equal((await tryToServe(database, { ENCRYPTION_KEY: KEY_A })).served, true, 'the first start writes the check');
      const wrong = await tryToServe(database, { ENCRYPTION_KEY: KEY_B });
      assert.equal(wrong.served, false, 'started with the wrong key');
      assert.equal(wrong.exitCode, 2);
      const lines = wrong.stderr.trim().split('\n');
      assert.equal(lines.length, 1, wrong.stderr);
      assert.match(lines[0]!, /^twofold: ENCRYPTION_KEY does not open .*PREVIOUS_ENCRYPTION_KEYS/);
      assert.doesNotMatch(wrong.stderr, new RegExp(KEY_B.slice(0, 16).replace(/[+/]/g, '.')), 'the key itself is never printed');
    });

    it('starts with the new key while the old one is a previous key, and with the new key alone after rotate-key', async () => {
      assert.equal((await tryToServe(database, { ENCRYPTION_KEY: KEY_B, PREVIOUS_ENCRYPTION_KEYS: KEY_A })).served, true);
      // A message still waiting in the delivery queue, written under the old key.
      const storage = openStorage(database.url);
      const oldKeys = deriveKeys(Buffer.from(KEY_A, 'base64'));
      const waiting = await enqueueMessage(storage.db, systemClock, oldKeys, 'gone-instance', { channel: 'email', kind: 'test', userId: null, payload: { to: 'ada@example.com', subject: 's', text: 't' } });
      const rotated = rotateKey(database, { ENCRYPTION_KEY: KEY_B, PREVIOUS_ENCRYPTION_KEYS: KEY_A });
      assert.equal(rotated.status, 0, rotated.stderr);
      assert.match(rotated.stdout, /1 queued messages/);
      // The new key alone opens it now: the queued message survives removing the old key.
      const claimed = await claimDueMessages(storage.db, { now: () => Date.now() + 60_000 }, deriveKeys(Buffer.from(KEY_B, 'base64')), { instanceId: 'test', leaseMs: 1000, handoffMs: 0, limit: 10 });
      await storage.close();
      assert.deepEqual(claimed.map((m) => [m.id, m.unreadable, m.payload]), [[waiting, null, { to: 'ada@example.com', subject: 's', text: 't' }]]);
      assert.equal((await tryToServe(database, { ENCRYPTION_KEY: KEY_B })).served, true, 'rotate-key rewrote the check under the new key');
      assert.equal((await tryToServe(database, { ENCRYPTION_KEY: KEY_A })).served, false, 'the old key alone no longer opens it');
    });

    it('refuses a rotate-key whose PREVIOUS_ENCRYPTION_KEYS is the new key itself', () => {
      const refused = rotateKey(database, { ENCRYPTION_KEY: KEY_B, PREVIOUS_ENCRYPTION_KEYS: KEY_B });
      assert.equal(refused.status, 2);
      assert.match(refused.stderr, /PREVIOUS_ENCRYPTION_KEYS holds ENCRYPTION_KEY itself/);
    });
  });
}

describe('the start-time key check with the generated development key', () => {
  let database: TestDatabase;
  before(async () => {
    database = await createTestDatabase('sqlite');
  });
  after(async () => {
    await database.drop();
  });

  it('names the generated key file when a new one no longer opens the database', async () => {
    assert.equal((await tryToServe(database, {})).served, true);
    const keyFile = `${dirname(database.url.slice('sqlite:'.length))}/dev-encryption.key`;
    rmSync(keyFile); // lost: the next start generates another
    const refused = await tryToServe(database, {});
    assert.equal(refused.served, false);
    assert.ok(refused.stderr.includes(keyFile), refused.stderr);
    assert.match(refused.stderr, /ENCRYPTION_KEY/);
  });
});
