/**
 * The pending login between the password and the second factor (PRODUCT.md §2.2, §4: 10
 * minutes, 5 wrong codes end it): the `login_challenges` record. It is its own record, bound to the half-authenticated
 * session by the hash of that session's token, with explicit expiry, attempts and consumption.
 *
 * Every transition is one conditional write: an attempt is charged only while the challenge
 * is open and under its budget (so a burst evaluates at most five codes), and it is consumed
 * at most once (so two concurrent right codes cannot each finish the login, rule 6).
 *
 * Charged attempts and wrong answers are counted apart. Only when five attempts have come back
 * wrong is the login over and its session ended; until then an attempt charged earlier may
 * still be in flight with the right code, and ending the session under it would let a burst
 * of wrong guesses cancel the user's own right one.
 */
import { randomUUID } from 'node:crypto';
import { sql } from 'kysely';
import type { Clock } from '../clock.ts';
import type { Database } from '../storage/schema.ts';

export interface ChallengePolicy {
  loginChallengeMs: number;
  wrongCodesPerChallenge: number;
}

export interface ChallengeSession {
  tokenHash: string;
  userId: string;
  /** When the password step created the session; the challenge runs from then. */
  createdAt: number;
}

/**
 * Makes sure the session has its challenge row. Created on first use, so the password step
 * needs to know nothing about it; the expiry still runs from the password step.
 */
export async function openLoginChallenge(db: Database, policy: ChallengePolicy, session: ChallengeSession): Promise<void> {
  await db
    .insertInto('login_challenges')
    .values({
      id: randomUUID(),
      session_token_hash: session.tokenHash,
      user_id: session.userId,
      created_at: session.createdAt,
      expires_at: session.createdAt + policy.loginChallengeMs,
      attempts: 0,
      failed_attempts: 0,
      consumed_at: null,
    })
    .onConflict((oc) => oc.column('session_token_hash').doNothing())
    .execute();
}

/**
 * Why no attempt could be charged: the login finished (`completed`), ran out of time or of
 * wrong answers (`over`: the session must end), or its five attempts are all still being
 * checked (`busy`: nothing is decided yet).
 */
export type ChallengeCharge = { ok: true; challengeId: string } | { ok: false; reason: 'completed' | 'over' | 'busy' };

/** Charges one attempt before the code is checked. */
export async function chargeLoginChallenge(db: Database, clock: Clock, policy: ChallengePolicy, session: ChallengeSession): Promise<ChallengeCharge> {
  await openLoginChallenge(db, policy, session);
  const now = clock.now();
  const row = await db
    .updateTable('login_challenges')
    .set({ attempts: sql<number>`attempts + 1` })
    .where('session_token_hash', '=', session.tokenHash)
    .where('user_id', '=', session.userId)
    .where('consumed_at', 'is', null)
    .where('expires_at', '>', now)
    .where('attempts', '<', policy.wrongCodesPerChallenge)
    .returning('id')
    .executeTakeFirst();
  if (row) return { ok: true, challengeId: row.id };
  // Only to say why: the decision above was the conditional write.
  const current = await db.selectFrom('login_challenges').select(['consumed_at', 'expires_at', 'failed_attempts']).where('session_token_hash', '=', session.tokenHash).executeTakeFirst();
  if (!current) return { ok: false, reason: 'over' };
  if (current.consumed_at !== null) return { ok: false, reason: Number(current.failed_attempts) >= policy.wrongCodesPerChallenge ? 'over' : 'completed' };
  if (Number(current.expires_at) <= now || Number(current.failed_attempts) >= policy.wrongCodesPerChallenge) return { ok: false, reason: 'over' };
  return { ok: false, reason: 'busy' };
}

/** Gives back an attempt that was charged but never evaluated (the user budget refused it). */
export async function refundLoginChallenge(db: Database, challengeId: string): Promise<void> {
  await db
    .updateTable('login_challenges')
    .set({ attempts: sql<number>`case when attempts > 0 then attempts - 1 else 0 end` })
    .where('id', '=', challengeId)
    .execute();
}

/**
 * Records a wrong answer. True when it was the last one allowed: every charged attempt has
 * then come back wrong, the challenge is closed and the caller ends the session.
 */
export async function recordWrongAnswer(db: Database, clock: Clock, policy: ChallengePolicy, challengeId: string): Promise<{ ended: boolean; wrongAnswers: number }> {
  const row = await db
    .updateTable('login_challenges')
    .set({ failed_attempts: sql<number>`failed_attempts + 1` })
    .where('id', '=', challengeId)
    .returning('failed_attempts')
    .executeTakeFirst();
  const wrongAnswers = row ? Number(row.failed_attempts) : policy.wrongCodesPerChallenge;
  if (wrongAnswers < policy.wrongCodesPerChallenge) return { ended: false, wrongAnswers };
  await db.updateTable('login_challenges').set({ consumed_at: clock.now() }).where('id', '=', challengeId).where('consumed_at', 'is', null).execute();
  return { ended: true, wrongAnswers };
}

/** Burns the challenge: true for exactly one caller (the one that may finish the login). */
export async function consumeLoginChallenge(db: Database, clock: Clock, challengeId: string): Promise<boolean> {
  const row = await db.updateTable('login_challenges').set({ consumed_at: clock.now() }).where('id', '=', challengeId).where('consumed_at', 'is', null).returning('id').executeTakeFirst();
  return row !== undefined;
}

/** The id of a pending login that can still be finished (creating its record on first use), or null. */
export async function openPendingLoginId(db: Database, clock: Clock, policy: ChallengePolicy, session: ChallengeSession): Promise<string | null> {
  await openLoginChallenge(db, policy, session);
  const row = await db
    .selectFrom('login_challenges')
    .select('id')
    .where('session_token_hash', '=', session.tokenHash)
    .where('user_id', '=', session.userId)
    .where('consumed_at', 'is', null)
    .where('expires_at', '>', clock.now())
    .executeTakeFirst();
  return row?.id ?? null;
}
