/**
 * Crash safety (issue 8): a real `twofold serve` is SIGKILLed at a random moment while clients
 * enrol authenticator apps, log in, use the admin's disable links, turn 2FA off and flip account
 * enforcement; it is restarted on the same database (a cold start: the test holds no
 * connection across the kill) and after every restart:
 * - nobody is half-enrolled: a factor always has its ten recovery codes, and codes never outlive it;
 * - what was answered 2xx before the kill is in the database (answered ⇒ durable), and a lost
 *   request took effect completely or not at all;
 * - the security log has exactly one event per committed change, none without its change;
 * - the enforcement flag is the last answered value or the lost one, never anything else;
 * - a disable link is consumed exactly when the factor removal happened;
 * - nobody is locked out: every user logs in with the password and, if they have a factor,
 *   the code of the app they hold; sessions answered before the kill still work.
 *
 * CRASH_ROUNDS (default 4) kills per database; CRASH_SEED fixes the operation choices and kill
 * moments (timing still varies from run to run, so a failing seed narrows, not replays, a run).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { sql } from 'kysely';
import { openStorage } from '../../src/storage/database.ts';
import { createTestDatabase, databaseTargets, type DatabaseKind } from '../helpers/databases.ts';
import { PASSWORD, uniqueEmail } from '../helpers/fixtures.ts';
import { call, killServer, nextCode, seededRandom, sleep, startServer, stopServer, waitForNewLink, type AuthenticatorApp, type ServerProcess } from './crash-harness.ts';
import { checkNoHalfEnrolledUser, resolveEnforcement, resolveUser, type EnforcementModel, type RoundFacts, type UserModel } from './crash-model.ts';
import { runClients, type Admin, type Workload } from './crash-workload.ts';

const ROUNDS = Number(process.env.CRASH_ROUNDS ?? 4);
const SEED = Number(process.env.CRASH_SEED ?? Math.floor(Math.random() * 2 ** 31));
const USERS = 5;
const targets = await databaseTargets();

console.log(`# crash-safety: CRASH_SEED=${SEED} CRASH_ROUNDS=${ROUNDS}`);

interface World {
  kind: DatabaseKind;
  databaseURL: string;
  server: ServerProcess;
  admin: Admin & { app: AuthenticatorApp };
  users: UserModel[];
  enforcement: EnforcementModel;
}

function newUser(label: string, id: string, email: string): UserModel {
  return { label, id, email, factor: null, token: null, tokenEnrollmentOnly: false, pendingEnrollmentId: null, inFlight: null, linkRequests: 0, usedLinks: [], committed: { enrolled: 0, linkSent: 0, linkUsed: 0, selfRemoved: 0, logins: 0 }, loginsMaybe: 0 };
}

/** An account with a TOTP-enrolled admin (needed to enforce) and USERS invited users. */
async function setUp(kind: DatabaseKind, databaseURL: string): Promise<World> {
  const server = await startServer(databaseURL);
  const signup = await call(server, 'POST', '/signup', { accountName: 'Crash Test', name: 'Ada Admin', email: uniqueEmail('admin'), password: PASSWORD });
  assert.equal(signup.status, 201, signup.text);
  const token = signup.body.token as string;
  const started = await call(server, 'POST', '/me/2fa/totp', undefined, token);
  assert.equal(started.status, 201, started.text);
  const app: AuthenticatorApp = { secret: started.body.secret, lastStep: -Infinity };
  const confirmed = await call(server, 'POST', '/me/2fa/totp/confirm', { enrollmentId: started.body.enrollmentId, code: nextCode(app) }, token);
  assert.equal(confirmed.status, 200, confirmed.text);
  const users: UserModel[] = [];
  for (let i = 0; i < USERS; i += 1) {
    const email = uniqueEmail(`user${i}`);
    const invited = await call(server, 'POST', '/account/users', { email, name: `User ${i}`, role: 'user' }, token);
    assert.equal(invited.status, 201, invited.text);
    const invitation = await waitForNewLink(server, email, '/invitations/', 0);
    const accepted = await call(server, 'POST', `/invitations/${invitation}`, { password: PASSWORD });
    assert.equal(accepted.status, 204, accepted.text);
    const user = newUser(`${kind} user${i}`, invited.body.user.id, email);
    const login = await call(server, 'POST', '/login', { email, password: PASSWORD });
    assert.equal(login.body.state, 'authenticated', login.text);
    user.token = login.body.token;
    user.committed.logins += 1;
    users.push(user);
  }
  return { kind, databaseURL, server, admin: { id: signup.body.user.id, accountId: signup.body.account.id, token, app }, users, enforcement: { known: false, inFlight: null, committedChanges: 0 } };
}

/** Reads the database directly, on a connection opened after the restart. */
async function checkDatabase(world: World, facts: RoundFacts): Promise<string[]> {
  const problems: string[] = [];
  const storage = openStorage(world.databaseURL);
  try {
    await checkNoHalfEnrolledUser(storage.db, problems);
    for (const user of world.users) await resolveUser(storage.db, user, facts, problems);
    await resolveEnforcement(storage.db, world.admin.accountId, world.enforcement, facts, problems);
  } finally {
    await storage.close();
  }
  return problems;
}

/** Through the API: held sessions still work, and everyone can log in again. */
async function checkNobodyLockedOut(world: World): Promise<string[]> {
  const problems: string[] = [];
  const adminMe = await call(world.server, 'GET', '/me', undefined, world.admin.token);
  if (adminMe.status !== 200) problems.push(`the admin's session answered ${adminMe.status} after the restart`);
  for (const user of world.users) {
    const say = (text: string) => problems.push(`${user.label}: ${text}`);
    if (user.token) {
      const me = await call(world.server, 'GET', '/me', undefined, user.token);
      if (me.status !== 200 && !(me.status === 403 && me.body?.error === 'enrollment_required')) say(`a session held before the kill answered ${me.status} ${me.text}`);
    }
    const login = await call(world.server, 'POST', '/login', { email: user.email, password: PASSWORD });
    if (login.status !== 200) {
      say(`password step answered ${login.status} ${login.text}`);
      continue;
    }
    const expectedState = user.factor ? 'mfa_required' : world.enforcement.known ? 'enrollment_required' : 'authenticated';
    if (login.body.state !== expectedState) say(`logs in to state ${login.body.state}, expected ${expectedState}`);
    // A pending enrollment is no method.
    if (JSON.stringify(login.body.methods) !== JSON.stringify(user.factor ? ['totp'] : [])) say(`offered methods ${JSON.stringify(login.body.methods)} at login`);
    if (login.body.state === 'authenticated') user.committed.logins += 1;
    if (login.body.state !== 'mfa_required') {
      user.token = login.body.token;
      user.tokenEnrollmentOnly = login.body.state === 'enrollment_required';
      continue;
    }
    const factor = user.factor!;
    const code = nextCode(factor.app);
    const unusedRecovery = factor.recoveryCodes?.[factor.usedRecoveryCodes];
    // With both app steps in the window spent, a recovery code the client was given must work.
    const answer = code !== null ? { method: 'totp', code } : unusedRecovery ? { method: 'recovery', code: unusedRecovery } : null;
    if (!answer) continue;
    const verified = await call(world.server, 'POST', '/login/verify', answer, login.body.token);
    if (verified.status !== 200) {
      say(`second step with ${answer.method} answered ${verified.status} ${verified.text}`);
      continue;
    }
    if (answer.method === 'recovery') factor.usedRecoveryCodes += 1;
    user.committed.logins += 1;
    user.token = verified.body.token;
    user.tokenEnrollmentOnly = false;
  }
  return problems;
}

/**
 * Waits `delayMs`, then polls the security log (every change writes one event in its
 * transaction) and kills as soon as a new event is committed. The polling connection is closed
 * before the restart; the odd rounds keep the restart a cold one.
 */
async function killAtNextCommit(databaseURL: string, delayMs: number, kill: () => void): Promise<string> {
  const storage = openStorage(databaseURL);
  const count = async () => Number((await storage.db.selectFrom('security_events').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow()).n);
  try {
    await sleep(delayMs);
    const before = await count();
    const deadline = Date.now() + 5000;
    while (Date.now() < deadline) {
      if ((await count()) > before) {
        kill();
        return 'a commit';
      }
      await sleep(1);
    }
    kill();
    return 'the end of the wait for a commit';
  } finally {
    await storage.close();
  }
}

async function crashRounds(kind: DatabaseKind): Promise<void> {
  const database = await createTestDatabase(kind);
  let world: World | null = null;
  try {
    world = await setUp(kind, database.url);
    const random = seededRandom(SEED ^ (kind === 'sqlite' ? 0x51 : 0x9c));
    for (let round = 1; round <= ROUNDS; round += 1) {
      let stopped = false;
      const work: Workload = { server: world.server, admin: world.admin, users: world.users, enforcement: world.enforcement, random, stopped: () => stopped, problems: [], answered: new Map() };
      const killAfterMs = Math.round(300 + random() * 2200);
      // Odd rounds kill at a random moment; even rounds right after the next commit, the
      // moment where an answer is most likely to be lost although its change was made.
      const onCommit = round % 2 === 0;
      const clients = runClients(work);
      const server = world.server;
      const kill = () => {
        stopped = true;
        server.child.kill('SIGKILL');
      };
      const killedAt = onCommit ? await killAtNextCommit(database.url, killAfterMs, kill) : await sleep(killAfterMs).then(kill).then(() => 'a random moment');
      await killServer(server);
      await clients;
      const restartStarted = Date.now();
      world.server = await startServer(database.url);
      const restartMs = Date.now() - restartStarted;
      const facts: RoundFacts = { committed: [], rolledBack: [], unresolved: [] };
      const problems: string[] = [...work.problems, ...(await checkDatabase(world, facts))];
      problems.push(...(await checkNobodyLockedOut(world)));
      const done = [...work.answered].map(([name, count]) => `${count} ${name}`).join(', ') || 'nothing';
      console.log(`# [${kind}] round ${round}: killed at ${killedAt} after ${killAfterMs} ms, restarted in ${restartMs} ms; answered: ${done}; lost and committed: ${facts.committed.join(', ') || '-'}; lost and rolled back: ${facts.rolledBack.join(', ') || '-'}; lost, no durable effect to check: ${facts.unresolved.join(', ') || '-'}`);
      assert.deepEqual(problems, [], `[${kind}] round ${round} (CRASH_SEED=${SEED})`);
    }
  } finally {
    if (world) await stopServer(world.server);
    await database.drop();
  }
}

describe('crash safety: SIGKILL in the middle of 2FA changes', { concurrency: true }, () => {
  for (const target of targets) {
    it(`[${target.kind}] keeps every user whole, every answered change durable and the security log in step with the data`, { skip: target.skip, timeout: 600_000 }, async () => {
      await crashRounds(target.kind);
    });
  }

  it('[sqlite] opens the database in WAL mode with synchronous=FULL, so an answered commit survives a crash', async () => {
    const database = await createTestDatabase('sqlite');
    const storage = openStorage(database.url);
    try {
      const journal = await sql<{ journal_mode: string }>`pragma journal_mode`.execute(storage.db);
      const synchronous = await sql<{ synchronous: number }>`pragma synchronous`.execute(storage.db);
      assert.equal(journal.rows[0]?.journal_mode, 'wal');
      // 2 = FULL: the WAL is fsynced at every commit (NORMAL would survive a process crash too, but not a power cut).
      assert.equal(synchronous.rows[0]?.synchronous, 2);
    } finally {
      await storage.close();
      await database.drop();
    }
  });
});
