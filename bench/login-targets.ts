/**
 * Issue 18, targets 3–5 (the login path), judged on figures of the same run:
 *   3. second step POST /login/verify, c=50: ≥ 2,000/s on SQLite, ≥ 800/s on PostgreSQL
 *   4. full password + TOTP logins/s ≥ 0.9 × a bare argon2id verify loop at the same concurrency
 *   5. session-check p99 at a fixed rate during a login flood ≤ 2 × its idle p99
 * The bare loop runs in the bench process on the same machine, just after the full logins: the
 * password hash is the floor of a login, so everything else in it should vanish beside it.
 */
import { verify } from '@node-rs/argon2';
import { createPasswordHasher } from '../src/crypto/password-hasher.ts';
import type { DatabaseKind } from '../test/helpers/databases.ts';
import { runClosedLoop, type LoadFigures } from './load.ts';
import { loadRow, type ResultRow } from './report.ts';
import { BENCH_PASSWORD } from './seed.ts';

const SECOND_STEP_PER_SECOND: Record<DatabaseKind, number> = { sqlite: 2000, postgres: 800 };
const FULL_LOGIN_SHARE_OF_BARE_HASH = 0.9;
const FLOOD_P99_LIMIT = 2;

/** argon2id verifications back to back at `concurrency`, with the server's parameters (OWASP). */
export async function measureBareArgon2Verify(seconds: number, concurrency: number): Promise<LoadFigures> {
  const hashed = await createPasswordHasher(1, 1).hashPassword(BENCH_PASSWORD);
  if (!hashed.ok) throw new Error('The password hasher refused the bench hash');
  return runClosedLoop(seconds, concurrency, async () => ((await verify(hashed.value, BENCH_PASSWORD)) ? 'ok' : { error: 'the right password did not verify' }));
}

export interface LoginFigures {
  secondStep: LoadFigures;
  fullLogin: LoadFigures;
  bareArgon2: LoadFigures;
  fullLoginConcurrency: number;
  sessionCheckIdle: LoadFigures;
  sessionCheckDuringFlood: LoadFigures;
}

/** A target counts as met only when its loads ran, and without errors (a load that got nothing through proves nothing). */
const clean = (...figures: LoadFigures[]) => figures.every((f) => f.errors === 0 && f.requestsPerSecond > 0);

export function loginTargetRows(database: DatabaseKind, figures: LoginFigures): ResultRow[] {
  const stepTarget = SECOND_STEP_PER_SECOND[database];
  const stepRatio = figures.secondStep.requestsPerSecond / stepTarget;
  const loginRatio = figures.fullLogin.requestsPerSecond / Math.max(figures.bareArgon2.requestsPerSecond, 0.001);
  const floodRatio = figures.sessionCheckDuringFlood.p99Ms / Math.max(figures.sessionCheckIdle.p99Ms, 0.001);
  return [
    loadRow(database, 'issue18-login-verify', 'issue 18 #3: second step POST /login/verify, c=50', figures.secondStep, {
      ratio: stepRatio,
      ratioOf: `× ${stepTarget}/s`,
      target: `≥ ${stepTarget} verifies/s`,
      met: stepRatio >= 1 && clean(figures.secondStep),
    }),
    loadRow(database, 'issue18-bare-argon2id', `bare argon2id verify loop (${figures.fullLoginConcurrency} at once, bench process)`, figures.bareArgon2),
    loadRow(database, 'issue18-full-login', `issue 18 #4: full password + TOTP logins (${figures.fullLoginConcurrency} at once)`, figures.fullLogin, {
      ratio: loginRatio,
      ratioOf: '× bare argon2id',
      target: `≥ ${FULL_LOGIN_SHARE_OF_BARE_HASH} × bare argon2id`,
      met: loginRatio >= FULL_LOGIN_SHARE_OF_BARE_HASH && clean(figures.fullLogin, figures.bareArgon2),
    }),
    loadRow(database, 'issue18-session-check-during-flood', 'issue 18 #5: session-check p99 during the login flood', figures.sessionCheckDuringFlood, {
      ratio: floodRatio,
      ratioOf: '× idle p99',
      target: `p99 ≤ ${FLOOD_P99_LIMIT} × idle`,
      met: floodRatio <= FLOOD_P99_LIMIT && clean(figures.sessionCheckDuringFlood, figures.sessionCheckIdle),
    }),
  ];
}
