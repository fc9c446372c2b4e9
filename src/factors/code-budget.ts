/**
 * The per-user budget of wrong second-factor codes (PRODUCT.md §4: 10 in 15 minutes lock
 * second-factor attempts for 15 minutes; SECURITY.md rules 1, 3, 4).
 *
 * One budget per user, in the shared counters table, spent by every entry point that takes a
 * code (login, re-authentication, later disabling and SMS) and separate from the password
 * counters. Each attempt is charged BEFORE its code is checked, with one atomic increment that
 * returns the new count, so a burst of concurrent guesses can evaluate at most the budget. The
 * lock is its own counter row, set by one conditional upsert: exactly one request observes
 * "locked now", and only that one writes the security log and e-mails the user. It stays in the
 * database even when REDIS_URL is set: rule 1 asks for storage that survives restarts.
 */
import { sql } from 'kysely';
import type { RequestOrigin } from '../audit/events.ts';
import { recordSecurityEvent } from '../audit/events.ts';
import { hmacHex } from '../crypto/tokens.ts';
import type { Deps } from '../deps.ts';
import type { CodeOwner, CodeStage } from './factor.ts';
import { queueSecondFactorLockedNotice, recordWithNotice } from './notices.ts';
import { chargeWithinLimit, clearCounter, retryAfterSeconds, undoHit } from '../limits/counters.ts';

type BudgetDeps = Pick<Deps, 'db' | 'clock' | 'config' | 'keys' | 'delivery' | 'log'>;

function attemptsKey(deps: Pick<Deps, 'keys'>, userId: string): string {
  return `2fa-user:${hmacHex(deps.keys.hashing, userId)}`;
}

function lockKey(deps: Pick<Deps, 'keys'>, userId: string): string {
  return `2fa-lock:${hmacHex(deps.keys.hashing, userId)}`;
}

export type ChargeOutcome = { ok: true; count: number } | { ok: false; retryAfterSeconds: number };

/** Seconds until the user's second-factor lock lifts, or null when not locked. */
export async function secondFactorLockRetryAfter(deps: BudgetDeps, userId: string): Promise<number | null> {
  const lockMs = deps.config.policy.secondFactorLockMs;
  const row = await deps.db.selectFrom('rate_limit_counters').select('window_started_at').where('key', '=', lockKey(deps, userId)).executeTakeFirst();
  if (!row || Number(row.window_started_at) <= deps.clock.now() - lockMs) return null;
  return retryAfterSeconds(deps.clock, { count: 1, resetsAt: Number(row.window_started_at) + lockMs });
}

/**
 * Charges one attempt to the user's budget before the code is looked at. Refused while the
 * user is locked, or when this attempt would go past the budget (attempts still in flight
 * count: the budget is never exceeded by a burst).
 */
export async function chargeSecondFactorAttempt(deps: BudgetDeps, userId: string): Promise<ChargeOutcome> {
  const locked = await secondFactorLockRetryAfter(deps, userId);
  if (locked !== null) return { ok: false, retryAfterSeconds: locked };
  const policy = deps.config.policy;
  const key = attemptsKey(deps, userId);
  // Past the budget the attempt is not evaluated, so not a wrong code: the charge is given back.
  const charged = await chargeWithinLimit(deps.db, deps.clock, key, policy.wrongCodesWindowMs, policy.wrongCodesPerUser);
  if (!charged.ok) return { ok: false, retryAfterSeconds: charged.retryAfterSeconds };
  // The attempt that sets the lock clears the count (recordWrongSecondFactorCode), so an attempt
  // that read "not locked" above and was charged after that clear got a low count: looking at
  // the lock again refuses it. Without this a burst evaluated more codes than the budget.
  const lockedMeanwhile = await secondFactorLockRetryAfter(deps, userId);
  if (lockedMeanwhile !== null) {
    await undoHit(deps.db, key);
    return { ok: false, retryAfterSeconds: lockedMeanwhile };
  }
  return { ok: true, count: charged.state.count };
}

/** A right code: the wrong-code count starts again (rule 4). */
export async function resetSecondFactorBudget(deps: BudgetDeps, userId: string): Promise<void> {
  await clearCounter(deps.db, attemptsKey(deps, userId));
}

/**
 * Records a wrong code that was charged as attempt number `count`. The attempt that reaches
 * the budget sets the lock; the lock's conditional upsert lets exactly one request announce it.
 */
export async function recordWrongSecondFactorCode(
  deps: BudgetDeps,
  owner: CodeOwner,
  count: number,
  detail: { method: string; stage: CodeStage },
  origin: RequestOrigin,
): Promise<{ lockedNow: boolean }> {
  const { db, clock, config } = deps;
  await recordSecurityEvent(db, clock, { type: 'second_factor_failed', accountId: owner.accountId, actor: { kind: 'user', userId: owner.userId }, subjectUserId: owner.userId, origin, detail });
  if (count < config.policy.wrongCodesPerUser) return { lockedNow: false };
  const now = clock.now();
  const staleBefore = now - config.policy.secondFactorLockMs;
  const locked = await db
    .insertInto('rate_limit_counters')
    .values({ key: lockKey(deps, owner.userId), window_started_at: now, count: 1 })
    .onConflict((oc) =>
      oc
        .column('key')
        .doUpdateSet({ window_started_at: now, count: 1 })
        // An expired lock may be renewed; a running one is left as it is (and not announced twice).
        .where(sql<boolean>`rate_limit_counters.window_started_at <= ${staleBefore}`),
    )
    .returning('key')
    .executeTakeFirst();
  if (!locked) return { lockedNow: false };
  // The lock starts a fresh count: once it lifts the user has the whole budget again.
  await clearCounter(db, attemptsKey(deps, owner.userId));
  const lockMinutes = Math.round(config.policy.secondFactorLockMs / 60_000);
  // The record and the user's e-mail are kept together (the delivery queue's outbox rule).
  await recordWithNotice(deps, async (trx) => {
    await recordSecurityEvent(trx, clock, { type: 'second_factor_locked', accountId: owner.accountId, actor: { kind: 'user', userId: owner.userId }, subjectUserId: owner.userId, origin, detail: { minutes: lockMinutes } });
    await queueSecondFactorLockedNotice(deps, trx, { userId: owner.userId, email: owner.email, name: owner.name }, origin, lockMinutes);
  });
  return { lockedNow: true };
}
