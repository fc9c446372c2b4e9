/**
 * User enumeration by timing (SECURITY.md rule 31): an unknown email costs the same argon2id
 * work as a known one, so the medians stay close. The margin is wide (2x) because the machine
 * is shared; without the dummy hash the unknown email answers about 20x faster and fails here.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import pg from 'pg';
import { databaseTargets } from '../helpers/databases.ts';
import { signUp, uniqueEmail, waitFor } from '../helpers/fixtures.ts';
import { apiClient } from '../helpers/http.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';
import { forEachDatabase } from '../helpers/suites.ts';

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

forEachDatabase('enumeration by timing', (context) => {
  it('takes about as long to refuse an unknown email as a wrong password for a known one', async () => {
    const { api, server } = context();
    const admin = await signUp(api);
    const known: number[] = [];
    const unknown: number[] = [];
    for (let i = 0; i < 16; i += 1) {
      if (i % 8 === 7) server.clock.advance(15 * 60_000 + 1); // stay below the failed-password lock
      for (const [email, sink] of [[admin.email, known], [uniqueEmail('ghost'), unknown]] as const) {
        const started = performance.now();
        const response = await api.post('/login', { email, password: `wrong password ${i}` });
        sink.push(performance.now() - started);
        assert.equal(response.status, 401);
      }
    }
    const ratio = median(unknown) / median(known);
    assert.ok(ratio > 0.5 && ratio < 2, `unknown/known median ratio ${ratio.toFixed(2)} (known ${median(known).toFixed(1)} ms, unknown ${median(unknown).toFixed(1)} ms)`);
  });
}, { productionPasswordCost: true }); // rule 31: the answer times compared include argon2id at its real cost

/**
 * Rule 31, the deterministic form of the timing test above: the password step must do the same
 * work before answering for a known and an unknown email. A known email with a wrong password used
 * to await the `login_failed` insert (0.6–1.9 ms at p50 more, issue 13), which the medians above
 * cannot resolve on a shared machine; here another connection holds a lock on the security log
 * for two seconds, so an answer that waits for that write is two seconds late, not one millisecond.
 * PostgreSQL only: an SQLite lock stalls the server's synchronous driver, and with it this process
 * (server and client share it), whether or not the answer waited.
 */
const targets = await databaseTargets();
const postgres = targets.find((target) => target.kind === 'postgres')!;
describe('rule 31: the password step answers before the security-log write, for known and unknown emails alike [postgres]', { skip: postgres.skip }, () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer('postgres');
  });
  after(async () => {
    await server.close();
  });

  it('a wrong password for a known email is answered while the security log is locked, as fast as an unknown email, and the event is written afterwards', async () => {
    const api = apiClient(server.url);
    const admin = await signUp(api);
    const locker = new pg.Client({ connectionString: server.database.url });
    await locker.connect();
    try {
      await locker.query('begin');
      await locker.query('lock table security_events in exclusive mode');
      const released = new Promise((resolve) => setTimeout(resolve, 2000)).then(() => locker.query('commit'));
      const times: Record<string, number> = {};
      for (const [name, email] of [['known', admin.email], ['unknown', uniqueEmail('ghost')]] as const) {
        const started = performance.now();
        const response = await api.post('/login', { email, password: 'not the password' });
        times[name] = performance.now() - started;
        assert.equal(response.status, 401);
      }
      assert.ok(times.known! < 1500, `the known email waited for the security log: ${times.known!.toFixed(0)} ms (unknown ${times.unknown!.toFixed(0)} ms)`);
      await released;
    } finally {
      await locker.end();
    }
    // The event is still recorded, once the lock is gone.
    await waitFor(async () => (await server.deps.db.selectFrom('security_events').select('id').where('subject_user_id', '=', admin.userId).where('type', '=', 'login_failed').execute()).length === 1);
  });
});
