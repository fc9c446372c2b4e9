/**
 * Every configuration mistake an operator makes at start is refused by the real process
 * (`twofold serve`) with a non-zero exit and one line that names the variable to fix — not a
 * driver's or logger's internal message, and never the database password.
 */
import assert from 'node:assert/strict';
import { spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { deriveKeys } from '../../src/crypto/keys.ts';
import { openStorage } from '../../src/storage/database.ts';
import { checkEncryptionKeys } from '../../src/storage/key-check.ts';
import { migrateToLatest } from '../../src/storage/migrate.ts';
import { databaseTargets, POSTGRES_ADMIN_URL } from '../helpers/databases.ts';
import { freePort, TEST_ENCRYPTION_KEY } from '../helpers/server.ts';
import { twofoldBin as bin } from '../helpers/twofold-command.ts';

const postgres = (await databaseTargets()).find((target) => target.kind === 'postgres')!;

/** Starts `twofold serve` as an operator would, with `env` over a valid development setup. */
async function serve(env: Record<string, string>) {
  const port = await freePort();
  const result = spawnSync(process.execPath, [bin, 'serve'], {
    env: { ...process.env, NODE_ENV: 'development', PORT: String(port), ENCRYPTION_KEY: TEST_ENCRYPTION_KEY, DATABASE_URL: 'sqlite::memory:', LOG_LEVEL: 'info', ...env },
    encoding: 'utf8',
    timeout: 60_000,
  });
  return result;
}

/** The process did not start and said why in one line of standard error that names `variable`. */
function assertRefusedNaming(result: SpawnSyncReturns<string>, variable: string, words: RegExp): string {
  assert.equal(result.signal, null, `the process did not exit by itself (${result.signal}): ${result.stderr}`);
  assert.notEqual(result.status, 0, 'the server must not start');
  assert.equal(result.stdout, '', 'nothing is logged before the refusal');
  const lines = result.stderr.trim().split('\n');
  assert.equal(lines.length, 1, `expected one line, got:\n${result.stderr}`);
  assert.ok(lines[0]!.startsWith(`twofold: ${variable}`), `the line does not start with ${variable}: ${lines[0]}`);
  assert.match(lines[0]!, words);
  return lines[0]!;
}

/** A PostgreSQL URL on the test server with a different database, role or password. */
function postgresURL(change: (url: URL) => void): string {
  const url = new URL(POSTGRES_ADMIN_URL);
  change(url);
  return url.toString();
}

describe('start errors name their variable in one line', () => {
  let folder: string;
  before(() => {
    folder = mkdtempSync(join(tmpdir(), 'twofold-start-'));
  });
  after(() => {
    rmSync(folder, { recursive: true, force: true });
  });

  it('DATABASE_URL at a closed port: says nothing accepts connections there, without the password', async () => {
    const closedPort = await freePort();
    const line = assertRefusedNaming(await serve({ DATABASE_URL: `postgres://twofold:hunter2-secret@127.0.0.1:${closedPort}/twofold` }), 'DATABASE_URL', /nothing accepts connections.*127\.0\.0\.1:\d+/);
    assert.ok(!line.includes('hunter2-secret'), line);
  });

  it('DATABASE_URL naming a database that does not exist: says so and how to create it', { skip: postgres.skip }, async () => {
    const url = postgresURL((u) => (u.pathname = '/twofold_no_such_database'));
    assertRefusedNaming(await serve({ DATABASE_URL: url }), 'DATABASE_URL', /twofold_no_such_database.*database does not exist.*createdb/);
  });

  it('DATABASE_URL naming a role that does not exist: says so and how to create it', { skip: postgres.skip }, async () => {
    const url = postgresURL((u) => (u.username = 'twofold_no_such_role'));
    assertRefusedNaming(await serve({ DATABASE_URL: url }), 'DATABASE_URL', /twofold_no_such_role.*role does not exist.*createuser/);
  });

  it('DATABASE_URL with SQLite in a folder that cannot be created, with ENCRYPTION_KEY set: names the database file', async () => {
    const blocker = join(folder, 'a-file');
    writeFileSync(blocker, '');
    assertRefusedNaming(await serve({ DATABASE_URL: `sqlite:${join(blocker, 'data', 'twofold.db')}` }), 'DATABASE_URL', /cannot open the SQLite database .*a-file\/data\/twofold\.db/);
  });

  it('DATABASE_URL with SQLite in a folder that cannot be created, without ENCRYPTION_KEY: names DATABASE_URL, not the key file', async () => {
    const blocker = join(folder, 'another-file');
    writeFileSync(blocker, '');
    assertRefusedNaming(await serve({ ENCRYPTION_KEY: '', DATABASE_URL: `sqlite:${join(blocker, 'data', 'twofold.db')}` }), 'DATABASE_URL', /cannot write in .*another-file\/data/);
  });

  it('LOG_LEVEL=verbose: lists the levels instead of pino\'s internal message', async () => {
    assertRefusedNaming(await serve({ LOG_LEVEL: 'verbose' }), 'LOG_LEVEL', /one of fatal, error, warn, info, debug, trace, silent, got "verbose"/);
  });

  it('TRUSTED_PROXIES=garbage: says addresses or CIDR ranges are expected (rule 2)', async () => {
    assertRefusedNaming(await serve({ TRUSTED_PROXIES: '10.0.0.0/8,garbage' }), 'TRUSTED_PROXIES', /IP addresses or CIDR ranges.*"garbage" is not one/);
  });

  it('SESSION_IDLE_MINUTES=-5: says it must be a positive whole number', async () => {
    assertRefusedNaming(await serve({ SESSION_IDLE_MINUTES: '-5' }), 'SESSION_IDLE_MINUTES', /must be a positive whole number from 1 to \d+, got "-5"/);
  });

  it('NODE_ENV=prod: refuses to start instead of running in development with the outbox on', async () => {
    assertRefusedNaming(await serve({ NODE_ENV: 'prod' }), 'NODE_ENV', /production, development or test, got "prod"/);
  });

  it('DATABASE_POOL_SIZE=0: says the range', async () => {
    assertRefusedNaming(await serve({ DATABASE_POOL_SIZE: '0' }), 'DATABASE_POOL_SIZE', /between 1 and 1000/);
  });

  it('PUBLIC_URL on http:// in production: says https:// is required (rule 25)', async () => {
    assertRefusedNaming(await serve({ NODE_ENV: 'production', SMTP_URL: 'smtp://127.0.0.1:2525', PUBLIC_URL: 'http://login.example.com' }), 'PUBLIC_URL', /must start with https:\/\/ in production.*"http:\/\/login\.example\.com"/);
  });

  it('DELIVERY_POLL_MS and SHUTDOWN_DRAIN_SECONDS out of range or not numbers: say the range', async () => {
    assertRefusedNaming(await serve({ DELIVERY_POLL_MS: '5' }), 'DELIVERY_POLL_MS', /between 10 and 60000, got 5/);
    assertRefusedNaming(await serve({ SHUTDOWN_DRAIN_SECONDS: 'soon' }), 'SHUTDOWN_DRAIN_SECONDS', /whole number from 0 to 300, got "soon"/);
  });

  it('ENCRYPTION_KEY that does not open the database (the start-time key check): one line naming it and PREVIOUS_ENCRYPTION_KEYS', async () => {
    const url = `sqlite:${join(folder, 'key-check.db')}`;
    const storage = openStorage(url);
    try {
      await migrateToLatest(storage.db);
      // What a first start under another key leaves behind.
      const otherKey = new Uint8Array(32).fill(9);
      assert.equal(await checkEncryptionKeys(storage.db, deriveKeys(otherKey), Date.now()), 'written');
    } finally {
      await storage.close();
    }
    assertRefusedNaming(await serve({ DATABASE_URL: url }), 'ENCRYPTION_KEY', /does not open what this database stores.*PREVIOUS_ENCRYPTION_KEYS.*twofold rotate-key/);
  });
});
