/**
 * SIGKILL during batched commits (issue 18): fifty clients finish logins (POST /login/verify, each
 * a different half-authenticated session with a right code) as fast as the server takes them, so
 * on SQLite nearly every moment is inside a shared commit, and the server is killed at a random
 * moment. After each kill, read on a fresh connection:
 * - every step answered 200 is durable: its new token works after a restart, its login is whole;
 * - every step whose answer was lost is whole (half session gone, one complete session, time step
 *   burned, challenge consumed, one login event) or absent (none of these) — never a part.
 * Runs on both databases: on PostgreSQL it holds the same property for its own commits.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { seedDatabase } from '../../bench/seed.ts';
import { hashToken } from '../../src/crypto/tokens.ts';
import { generateTOTP } from '../../src/factors/totp/totp.ts';
import { openStorage } from '../../src/storage/database.ts';
import { createTestDatabase, databaseTargets } from '../helpers/databases.ts';
import { TEST_ENCRYPTION_KEY } from '../helpers/server.ts';
import { killServer, seededRandom, sleep, startServer, stopServer } from './crash-harness.ts';

const ROUNDS = Number(process.env.CRASH_ROUNDS ?? 3);
const SEED = Number(process.env.CRASH_SEED ?? Math.floor(Math.random() * 2 ** 31));
const CLIENTS = 50;
const SESSIONS_PER_ROUND = 1500;
const targets = await databaseTargets();

console.log(`# group-commit-crash: CRASH_SEED=${SEED} CRASH_ROUNDS=${ROUNDS}`);

interface Step {
  userId: string;
  halfTokenHash: string;
  secret: Uint8Array;
  /** 'answered' with the new token, 'refused' with the status, or 'lost' (no answer). */
  outcome: { kind: 'answered'; token: string } | { kind: 'refused'; status: number; text: string } | { kind: 'lost' } | null;
}

async function verify(url: string, step: Step, halfToken: string): Promise<void> {
  let response: Response;
  let text: string;
  try {
    response = await fetch(`${url}/api/v1/login/verify`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${halfToken}` },
      body: JSON.stringify({ method: 'totp', code: generateTOTP(step.secret, Date.now()) }),
    });
    text = await response.text();
  } catch {
    step.outcome = { kind: 'lost' };
    return;
  }
  step.outcome = response.status === 200 ? { kind: 'answered', token: (JSON.parse(text) as { token: string }).token } : { kind: 'refused', status: response.status, text };
}

/** Fifty clients take the sessions in turn until `stopped` is set; each request's fate is recorded. */
async function runClients(url: string, steps: Step[], halfTokens: string[], stopped: () => boolean): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: CLIENTS }, async () => {
      while (!stopped() && next < steps.length) {
        const index = next++;
        await verify(url, steps[index]!, halfTokens[index]!);
      }
    }),
  );
}

type Database = ReturnType<typeof openStorage>['db'];

/** Which parts of a login's completion are in the database: all five, or none, is whole. */
async function partsPresent(db: Database, step: Step): Promise<string[]> {
  const parts: string[] = [];
  const half = await db.selectFrom('sessions').select('state').where('token_hash', '=', step.halfTokenHash).executeTakeFirst();
  if (!half) parts.push('half session gone');
  const complete = await db.selectFrom('sessions').select('token_hash').where('user_id', '=', step.userId).where('state', '=', 'complete').execute();
  if (complete.length > 1) parts.push(`${complete.length} complete sessions`);
  if (complete.length >= 1) parts.push('complete session');
  const factor = await db.selectFrom('factors').select('last_used_step').where('user_id', '=', step.userId).executeTakeFirstOrThrow();
  if (factor.last_used_step !== null) parts.push('time step burned');
  const consumed = await db.selectFrom('login_challenges').select('id').where('user_id', '=', step.userId).where('consumed_at', 'is not', null).execute();
  if (consumed.length > 0) parts.push('challenge consumed');
  const events = await db.selectFrom('security_events').select('id').where('subject_user_id', '=', step.userId).where('type', '=', 'login_succeeded').execute();
  if (events.length > 0) parts.push(`${events.length} login event(s)`);
  return parts;
}

const WHOLE = ['half session gone', 'complete session', 'time step burned', 'challenge consumed', '1 login event(s)'];

describe('crash safety: SIGKILL during batched commits of the second step', () => {
  for (const target of targets) {
    it(`[${target.kind}] keeps every answered step durable and every unanswered one whole or absent`, { skip: target.skip, timeout: 15 * 60_000 }, async () => {
      const random = seededRandom(SEED);
      const database = await createTestDatabase(target.kind);
      try {
        const plan = { totalUsers: 4 * ROUNDS * SESSIONS_PER_ROUND, bigAccountUsers: 10, accountSize: 100, verifyPool: ROUNDS * SESSIONS_PER_ROUND, fullLoginPool: 0, completeSessions: 1, loginEmails: 1 };
        const seeded = await seedDatabase(database.url, TEST_ENCRYPTION_KEY, plan);
        const halfTokens = seeded.halfSessions.map((session) => session.token);
        const owners = new Map<string, string>();
        const reading = openStorage(database.url);
        try {
          for (const row of await reading.db.selectFrom('sessions').select(['token_hash', 'user_id']).where('state', '=', 'password_only').execute()) owners.set(row.token_hash, row.user_id);
        } finally {
          await reading.close();
        }
        const steps: Step[] = seeded.halfSessions.map((session) => ({ userId: owners.get(hashToken(session.token))!, halfTokenHash: hashToken(session.token), secret: session.secret, outcome: null }));

        let server = await startServer(database.url);
        for (let round = 0; round < ROUNDS; round += 1) {
          const roundSteps = steps.slice(round * SESSIONS_PER_ROUND, (round + 1) * SESSIONS_PER_ROUND);
          const roundTokens = halfTokens.slice(round * SESSIONS_PER_ROUND, (round + 1) * SESSIONS_PER_ROUND);
          let stopped = false;
          const clients = runClients(server.url, roundSteps, roundTokens, () => stopped);
          // Killed once a random number of steps was answered (the server's warm-up and the
          // machine's load vary too much for a fixed delay), then a random few ms later.
          const answeredBeforeKill = 20 + Math.floor(random() * 200);
          const deadline = Date.now() + 120_000;
          while (roundSteps.filter((step) => step.outcome?.kind === 'answered').length < answeredBeforeKill && Date.now() < deadline) await sleep(5);
          await sleep(Math.floor(random() * 20));
          stopped = true;
          await killServer(server);
          await clients;

          const sent = roundSteps.filter((step) => step.outcome !== null);
          const answered = sent.filter((step) => step.outcome!.kind === 'answered');
          const lost = sent.filter((step) => step.outcome!.kind === 'lost');
          const refused = sent.filter((step) => step.outcome!.kind === 'refused');
          console.log(`# [${target.kind}] round ${round + 1}: ${answered.length} answered, ${lost.length} lost, ${refused.length} refused when killed`);
          assert.deepEqual(refused.map((step) => step.outcome), [], 'a right code on a fresh login was refused');
          assert.ok(answered.length > 0, 'nothing was answered before the kill: the round tested nothing');

          const storage = openStorage(database.url);
          const problems: string[] = [];
          let lostWhole = 0;
          try {
            for (const step of answered) {
              const parts = await partsPresent(storage.db, step);
              if (parts.join('|') !== WHOLE.join('|')) problems.push(`answered step of ${step.userId} not durable and whole: ${parts.join(', ') || 'nothing'}`);
            }
            for (const step of lost) {
              const parts = await partsPresent(storage.db, step);
              if (parts.length === 0) continue;
              if (parts.join('|') === WHOLE.join('|')) lostWhole += 1;
              else problems.push(`lost step of ${step.userId} left in part: ${parts.join(', ')}`);
            }
          } finally {
            await storage.close();
          }
          console.log(`# [${target.kind}] round ${round + 1}: of the lost, ${lostWhole} committed whole, ${lost.length - lostWhole} absent`);
          assert.deepEqual(problems, []);

          server = await startServer(database.url);
          for (const step of answered) {
            const me = await fetch(`${server.url}/api/v1/me`, { headers: { authorization: `Bearer ${(step.outcome as { token: string }).token}` } });
            assert.equal(me.status, 200, `the session answered to ${step.userId} before the kill does not work after it`);
            await me.arrayBuffer();
          }
        }
        await stopServer(server);
      } finally {
        await database.drop();
      }
    });
  }
});
