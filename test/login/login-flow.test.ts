/**
 * The login flow at the domain level (src/login/), on SQLite with the manual clock: no HTTP, so
 * each state and transition of `login/flow.ts` is exercised directly, and time is moved, never
 * waited for. The HTTP, browser and attack suites cover the same flow from outside.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Writable } from 'node:stream';
import * as OTPAuth from 'otpauth';
import pino from 'pino';
import { signUpAccount } from '../../src/accounts/signup.ts';
import { ManualClock } from '../../src/clock.ts';
import { loadConfig } from '../../src/config.ts';
import type { Deps } from '../../src/deps.ts';
import { METHOD_KINDS } from '../../src/factors/registry.ts';
import { confirmAuthenticatorApp, startTOTPEnrollment } from '../../src/factors/totp/pending-enrollment.ts';
import { generateTOTP } from '../../src/factors/totp/totp.ts';
import { completeEnrollment } from '../../src/login/enrollment-step.ts';
import { LOGIN_STATES } from '../../src/login/flow.ts';
import { performPasswordStep } from '../../src/login/password-step.ts';
import { performSecondFactorStep } from '../../src/login/second-step.ts';
import { createDeps, loggerOptions } from '../../src/server.ts';
import { migrateToLatest } from '../../src/storage/migrate.ts';
import { openStorage, type Storage } from '../../src/storage/database.ts';
import { validateSessionToken, type SessionContext } from '../../src/sessions/sessions.ts';
import { createTestDatabase, type TestDatabase } from '../helpers/databases.ts';
import { PASSWORD, uniqueEmail } from '../helpers/fixtures.ts';
import { TEST_ENCRYPTION_KEY } from '../helpers/server.ts';

const origin = { ip: '203.0.113.9', userAgent: 'login-flow-test' };

describe('the login flow (domain level, SQLite, manual clock)', () => {
  let database: TestDatabase;
  let storage: Storage;
  let clock: ManualClock;
  let deps: Deps;

  before(async () => {
    database = await createTestDatabase('sqlite');
    const config = loadConfig({ NODE_ENV: 'test', PORT: '3999', PUBLIC_URL: 'http://127.0.0.1:3999', DATABASE_URL: database.url, ENCRYPTION_KEY: TEST_ENCRYPTION_KEY, LOG_LEVEL: 'info' });
    storage = openStorage(config.databaseURL);
    await migrateToLatest(storage.db);
    clock = new ManualClock(Date.UTC(2026, 11, 1, 12, 0, 0));
    deps = createDeps(config, storage, pino(loggerOptions('info'), new Writable({ write: (_chunk, _encoding, done) => done() })), clock);
  });

  after(async () => {
    await storage.close();
    await database.drop();
  });

  async function session(token: string): Promise<SessionContext | null> {
    return validateSessionToken(deps.db, clock, deps.config.policy, token, METHOD_KINDS);
  }

  async function signUp(): Promise<{ email: string; token: string; userId: string; accountId: string }> {
    const email = uniqueEmail('flow');
    const result = await signUpAccount(deps, { accountName: 'Flow', name: 'Flo', email, password: PASSWORD }, origin);
    assert.ok(result.ok);
    return { email, token: result.token, userId: result.user.id, accountId: result.account.id };
  }

  /** Turns the authenticator app on from a complete session; answers its secret and recovery codes. */
  async function enrolApp(token: string): Promise<{ secret: Uint8Array; recoveryCodes: string[] }> {
    const current = (await session(token))!;
    const started = await startTOTPEnrollment(deps, { userId: current.userId, email: current.email, issuer: 'Twofold', lifetimeMs: deps.config.policy.totpEnrollmentMs });
    const secret = new Uint8Array(OTPAuth.Secret.fromBase32(started.secretBase32).buffer);
    const done = await completeEnrollment(deps, current, confirmAuthenticatorApp(deps, current, { enrollmentId: started.enrollmentId, code: generateTOTP(secret, clock.now()) }, origin), origin);
    assert.ok(done.ok);
    assert.ok(done.recoveryCodes, 'the first method issues recovery codes');
    // The confirming code's step is burned: the next login uses the next step's code.
    clock.advance(30_000);
    return { secret, recoveryCodes: done.recoveryCodes };
  }

  it('records amr password for a login without a second factor, and completes it', async () => {
    const { email } = await signUp();
    const step = await performPasswordStep(deps, { email, password: PASSWORD }, origin);
    assert.ok(step.ok);
    assert.equal(step.state, LOGIN_STATES.complete);
    const read = await session(step.token);
    assert.deepEqual(read?.authMethods, ['password']);
    assert.equal(read?.authenticatedAt, clock.now());
  });

  it('records amr password, totp after a password + authenticator-app login, under a new token', async () => {
    const user = await signUp();
    const { secret } = await enrolApp(user.token);
    const step = await performPasswordStep(deps, { email: user.email, password: PASSWORD }, origin);
    assert.ok(step.ok);
    assert.equal(step.state, LOGIN_STATES.passwordOnly);
    assert.deepEqual(step.methods, ['totp']);
    const half = (await session(step.token))!;
    assert.deepEqual(half.authMethods, ['password']);
    clock.advance(5_000);
    const second = await performSecondFactorStep(deps, half, { method: 'totp', code: generateTOTP(secret, clock.now()) }, origin);
    assert.ok(second.ok);
    assert.equal(await session(step.token), null, 'the password step token stops working');
    const complete = (await session(second.token))!;
    assert.equal(complete.state, LOGIN_STATES.complete);
    assert.deepEqual(complete.authMethods, ['password', 'totp']);
    assert.equal(complete.authenticatedAt, clock.now());
  });

  it('records amr password, recovery after a recovery-code login', async () => {
    const user = await signUp();
    const { recoveryCodes } = await enrolApp(user.token);
    const step = await performPasswordStep(deps, { email: user.email, password: PASSWORD }, origin);
    assert.ok(step.ok);
    const second = await performSecondFactorStep(deps, (await session(step.token))!, { method: 'recovery', code: recoveryCodes[0] }, origin);
    assert.ok(second.ok);
    assert.deepEqual((await session(second.token))?.authMethods, ['password', 'recovery']);
  });

  it('sends a login that must enrol to enrollment_required, and a confirmed factor completes it with amr password, totp', async () => {
    const user = await signUp();
    await deps.db.updateTable('accounts').set({ enforce_2fa: 1 }).where('id', '=', user.accountId).execute();
    const step = await performPasswordStep(deps, { email: user.email, password: PASSWORD }, origin);
    assert.ok(step.ok);
    assert.equal(step.state, LOGIN_STATES.enrollmentRequired);
    const pending = (await session(step.token))!;
    const started = await startTOTPEnrollment(deps, { userId: pending.userId, email: pending.email, issuer: 'Twofold', lifetimeMs: deps.config.policy.totpEnrollmentMs });
    const secret = new Uint8Array(OTPAuth.Secret.fromBase32(started.secretBase32).buffer);
    const done = await completeEnrollment(deps, pending, confirmAuthenticatorApp(deps, pending, { enrollmentId: started.enrollmentId, code: generateTOTP(secret, clock.now()) }, origin), origin);
    assert.ok(done.ok && done.newToken);
    const complete = (await session(done.newToken))!;
    assert.equal(complete.state, LOGIN_STATES.complete);
    assert.deepEqual(complete.authMethods, ['password', 'totp']);
  });

  it('ends the login at its fifth wrong code and says so in the outcome (PRODUCT.md §4)', async () => {
    const user = await signUp();
    await enrolApp(user.token);
    const step = await performPasswordStep(deps, { email: user.email, password: PASSWORD }, origin);
    assert.ok(step.ok);
    const half = (await session(step.token))!;
    const ended: boolean[] = [];
    for (let attempt = 0; attempt < 5; attempt += 1) {
      const outcome = await performSecondFactorStep(deps, half, { method: 'totp', code: '000000' }, origin);
      assert.ok(!outcome.ok && outcome.reason === 'invalid_code');
      ended.push(outcome.loginEnded);
    }
    assert.deepEqual(ended, [false, false, false, false, true]);
    assert.equal(await session(step.token), null);
  });

  it('refuses a code after the pending login has run out of time (10 minutes) and ends the session', async () => {
    const user = await signUp();
    const { secret } = await enrolApp(user.token);
    const step = await performPasswordStep(deps, { email: user.email, password: PASSWORD }, origin);
    assert.ok(step.ok);
    const half = (await session(step.token))!;
    clock.advance(deps.config.policy.loginChallengeMs);
    const outcome = await performSecondFactorStep(deps, half, { method: 'totp', code: generateTOTP(secret, clock.now()) }, origin);
    assert.deepEqual(outcome, { ok: false, reason: 'challenge_ended' });
    assert.equal(await session(step.token), null);
  });

  it('refuses a texted code for a user without text messages before anything is charged', async () => {
    const user = await signUp();
    await enrolApp(user.token);
    const step = await performPasswordStep(deps, { email: user.email, password: PASSWORD }, origin);
    assert.ok(step.ok);
    const outcome = await performSecondFactorStep(deps, (await session(step.token))!, { method: 'sms', code: '123456' }, origin);
    assert.deepEqual(outcome, { ok: false, reason: 'method_unavailable' });
    const challenges = await deps.db.selectFrom('login_challenges').select('attempts').where('user_id', '=', user.userId).execute();
    assert.ok(challenges.every((row) => Number(row.attempts) === 0));
  });
});
