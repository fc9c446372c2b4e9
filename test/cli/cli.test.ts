/** The `twofold` command, run as a user would: a real process with the same environment. */
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { after, before, describe, it } from 'node:test';
import { createTestDatabase, databaseTargets, type TestDatabase } from '../helpers/databases.ts';
import { freePort, TEST_ENCRYPTION_KEY } from '../helpers/server.ts';
import { installedTwofoldBin, twofoldBin } from '../helpers/twofold-command.ts';

function run(args: string[], env: Record<string, string>, input?: string, bin = twofoldBin) {
  return spawnSync(process.execPath, [bin, ...args], { env: { ...process.env, ENCRYPTION_KEY: TEST_ENCRYPTION_KEY, LOG_LEVEL: 'warn', ...env }, input, encoding: 'utf8', timeout: 60_000 });
}

for (const target of await databaseTargets()) {
  describe(`twofold command [${target.kind}]`, { skip: target.skip }, () => {
    let database: TestDatabase;
    before(async () => {
      database = await createTestDatabase(target.kind);
    });
    after(async () => {
      await database.drop();
    });

    it('migrates a new database, then reports it up to date', () => {
      const first = run(['migrate'], { DATABASE_URL: database.url });
      assert.equal(first.status, 0, first.stderr);
      assert.match(first.stdout, /Applied migrations: 001_foundation/);
      const second = run(['migrate'], { DATABASE_URL: database.url });
      assert.equal(second.status, 0, second.stderr);
      assert.match(second.stdout, /up to date/);
    });

    it('creates an account whose admin can then log in through the served API, and stops on SIGTERM', async () => {
      const created = run(['create-account', '--account-name', 'Ops', '--name', 'Olga', '--email', 'olga@example.com', '--password-stdin'], { DATABASE_URL: database.url }, 'a long enough password\n');
      assert.equal(created.status, 0, created.stderr);
      assert.match(created.stdout, /Created account "Ops"/);

      const port = await freePort();
      const server = spawn(process.execPath, [twofoldBin, 'serve'], { env: { ...process.env, ENCRYPTION_KEY: TEST_ENCRYPTION_KEY, DATABASE_URL: database.url, PORT: String(port), LOG_LEVEL: 'warn' }, stdio: ['ignore', 'pipe', 'pipe'] });
      const exited = new Promise<number | null>((resolve) => server.once('exit', (code) => resolve(code)));
      try {
        // Loading the app through tsx takes several seconds on a busy machine (the suite runs
        // beside others); the wait ends as soon as the server answers.
        let healthy = false;
        const deadline = Date.now() + 60_000;
        while (!healthy && Date.now() < deadline) {
          healthy = await fetch(`http://127.0.0.1:${port}/healthz`).then((r) => r.ok, () => false);
          if (!healthy) await new Promise((resolve) => setTimeout(resolve, 100));
        }
        assert.ok(healthy, 'the server answers /healthz');
        assert.equal((await fetch(`http://127.0.0.1:${port}/readyz`)).status, 200);
        const login = await fetch(`http://127.0.0.1:${port}/api/v1/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ email: 'olga@example.com', password: 'a long enough password' }) });
        assert.equal(login.status, 200);
      } finally {
        server.kill('SIGTERM');
      }
      assert.equal(await exited, 0, 'a graceful shutdown exits 0');
    });

    it('shows support the user\'s account, role, 2FA status, last login and recent events', () => {
      const shown = run(['support', 'show-user', '--email', 'OLGA@example.com'], { DATABASE_URL: database.url });
      assert.equal(shown.status, 0, shown.stderr);
      assert.match(shown.stdout, /User: +Olga <olga@example\.com>/);
      assert.match(shown.stdout, /Account: +Ops/);
      assert.match(shown.stdout, /Role: +admin/);
      assert.match(shown.stdout, /2FA: +not enabled/);
      assert.match(shown.stdout, /Last login: +\d{4}-/, 'the login through the served API is shown');
      assert.match(shown.stdout, /login_succeeded/);
      const unknown = run(['support', 'show-user', '--email', 'nobody@example.com'], { DATABASE_URL: database.url });
      assert.equal(unknown.status, 2);
      assert.match(unknown.stderr, /no user has the email nobody@example\.com/);
    });

    it('refuses a second account for the same email with a clear message and a non-zero exit', () => {
      const again = run(['create-account', '--account-name', 'Ops 2', '--name', 'Olga', '--email', 'olga@example.com', '--password-stdin'], { DATABASE_URL: database.url }, 'a long enough password');
      assert.notEqual(again.status, 0);
      assert.match(again.stderr, /already exists/);
    });
  });
}

describe('twofold command errors', () => {
  it('explains an unknown command and exits non-zero', () => {
    // Through bin/twofold.js, as installed: the other tests may run the runner's bundle.
    const result = run(['frobnicate'], {}, undefined, installedTwofoldBin);
    assert.equal(result.status, 2);
    assert.match(result.stderr, /Unknown command "frobnicate"/);
  });

  it('explains invalid configuration in one line instead of a stack trace', () => {
    const result = run(['migrate'], { DATABASE_URL: 'mysql://nope' });
    assert.equal(result.status, 2);
    assert.match(result.stderr, /DATABASE_URL must be sqlite/);
    assert.doesNotMatch(result.stderr, /\n\s+at /);
  });

  it('refuses a password given on the command line instead of standard input', () => {
    const result = run(['create-account', '--account-name', 'A', '--name', 'B', '--email', 'c@example.com', '--password', 'x'], {});
    assert.equal(result.status, 2);
  });
});
