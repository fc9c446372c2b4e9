/**
 * Two real server processes on one PostgreSQL database, sharing nothing but it (issue 3: "across
 * two server processes sharing one PostgreSQL"). A login started on one instance completes on
 * the other, and one TOTP code sent to both at once succeeds exactly once.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { createTestDatabase, databaseTargets, type TestDatabase } from '../helpers/databases.ts';
import { PASSWORD, uniqueEmail } from '../helpers/fixtures.ts';
import { apiClient, type APIClient } from '../helpers/http.ts';
import { freePort, TEST_ENCRYPTION_KEY } from '../helpers/server.ts';
import { oathtoolCode } from '../factors/two-factor-helpers.ts';

const bin = fileURLToPath(new URL('../../bin/twofold.js', import.meta.url));
const postgres = (await databaseTargets()).find((target) => target.kind === 'postgres')!;

async function startInstance(databaseURL: string): Promise<{ api: APIClient; process: ChildProcess }> {
  const port = await freePort();
  const child = spawn(process.execPath, [bin, 'serve'], {
    env: { ...process.env, PORT: String(port), DATABASE_URL: databaseURL, ENCRYPTION_KEY: TEST_ENCRYPTION_KEY, LOG_LEVEL: 'warn', REQUESTS_PER_MINUTE_PER_IP: '100000' },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  const url = `http://127.0.0.1:${port}`;
  for (let i = 0; i < 150; i += 1) {
    if (await fetch(`${url}/healthz`).then((r) => r.ok, () => false)) return { api: apiClient(url), process: child };
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  child.kill('SIGKILL');
  throw new Error('instance did not start');
}

describe('two instances on one PostgreSQL', { skip: postgres.skip }, () => {
  let database: TestDatabase;
  let a: Awaited<ReturnType<typeof startInstance>>;
  let b: Awaited<ReturnType<typeof startInstance>>;
  before(async () => {
    database = await createTestDatabase('postgres');
    // Started together: the migration lock lets exactly one of them migrate.
    [a, b] = await Promise.all([startInstance(database.url), startInstance(database.url)]);
  });
  after(async () => {
    for (const instance of [a, b]) {
      if (!instance) continue;
      const exited = new Promise((resolve) => instance.process.once('exit', resolve));
      instance.process.kill('SIGTERM');
      await exited;
    }
    await database.drop();
  });

  it('completes a login started on one instance on the other, and accepts one code exactly once across both', async () => {
    const email = uniqueEmail('multi');
    const signup = await a.api.post('/signup', { accountName: 'Multi', name: 'Mia', email, password: PASSWORD });
    assert.equal(signup.status, 201, signup.text);
    const started = await b.api.post('/me/2fa/totp', undefined, { token: signup.body.token });
    assert.equal(started.status, 201, 'a session made on A works on B');
    const confirmed = await a.api.post('/me/2fa/totp/confirm', { enrollmentId: started.body.enrollmentId, code: oathtoolCode(started.body.secret, Date.now()) });
    assert.equal(confirmed.status, 401, 'no session, no confirmation');
    const confirmedWithSession = await a.api.post('/me/2fa/totp/confirm', { enrollmentId: started.body.enrollmentId, code: oathtoolCode(started.body.secret, Date.now()) }, { token: signup.body.token });
    assert.equal(confirmedWithSession.status, 200, confirmedWithSession.text);

    const passwordStep = await a.api.post('/login', { email, password: PASSWORD });
    assert.equal(passwordStep.body.state, 'mfa_required');
    // The next time step's code: within the ±1 window and after the step that confirmed enrollment.
    const code = oathtoolCode(started.body.secret, Date.now() + 30_000);
    const answers = await Promise.all(Array.from({ length: 50 }, (_, i) => (i % 2 === 0 ? a : b).api.post('/login/verify', { method: 'totp', code }, { token: passwordStep.body.token })));
    const successes = answers.filter((answer) => answer.status === 200);
    assert.equal(successes.length, 1, answers.map((answer) => answer.status).join(','));
    const token = successes[0]!.body.token;
    assert.equal((await a.api.get('/me', { token })).status, 200);
    assert.equal((await b.api.get('/me', { token })).status, 200);
    assert.equal((await b.api.get('/me', { token: passwordStep.body.token })).status, 401, 'the half-authenticated token is gone on every instance');

    // Revocation on one instance is effective on the other at the very next request.
    assert.equal((await a.api.post('/logout', undefined, { token })).status, 204);
    assert.equal((await b.api.get('/me', { token })).status, 401);
  });
});
