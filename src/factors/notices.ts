/**
 * E-mails telling a user what happened to their second factor (PRODUCT.md §2.8, SECURITY.md
 * rules 4 and 15). Their words are in notices/email-texts.ts. Each is written to the delivery
 * queue with `trx`, the transaction that records what happened, so the notice is kept exactly
 * when the change is; the caller wakes the queue after that transaction commits.
 */
import type { RequestOrigin } from '../audit/events.ts';
import type { Deps } from '../deps.ts';
import { factorEnrolledEmail, recoveryCodeUsedEmail, secondFactorLockedEmail, type NoticeFactor } from '../notices/email-texts.ts';
import { queueSecurityNotice } from '../notices/security-notice.ts';
import type { Database } from '../storage/schema.ts';

export interface NoticeRecipient {
  userId: string;
  email: string;
  name: string;
}

type NoticeDeps = Pick<Deps, 'clock' | 'config' | 'delivery'>;

/**
 * Runs `write` (what happened, and the notice about it) in one transaction: the caller's when
 * `db` is already one (a login's second step), else a new one. The queue is woken afterwards;
 * inside the caller's transaction it cannot wait for a commit that has not happened yet, so the
 * worker sees the message at its next look (at once on SQLite, whose one connection makes the
 * worker wait for the commit; within DELIVERY_POLL_MS on PostgreSQL).
 */
export async function recordWithNotice(deps: Pick<Deps, 'db' | 'delivery'>, write: (trx: Database) => Promise<void>): Promise<void> {
  if (deps.db.isTransaction) {
    await write(deps.db);
    deps.delivery.queue.wake();
    return;
  }
  await deps.db.transaction().execute(write);
  await deps.delivery.queue.afterCommit();
}

/** The factor a notice is about; a phone number appears only masked (rule 30). */
export type EnrolledFactor = NoticeFactor;

export async function queueFactorEnrolledNotice(deps: NoticeDeps, trx: Database, to: NoticeRecipient, origin: RequestOrigin, factor: EnrolledFactor, replaced: boolean): Promise<void> {
  // The report link removes this very factor (PRODUCT.md §2.12).
  await queueSecurityNotice(deps, trx, { to, kind: 'factor_enrolled', text: factorEnrolledEmail({ name: to.name, factor, replaced, atMs: deps.clock.now(), origin }), addedFactorKind: factor.method });
}

export async function queueRecoveryCodeUsedNotice(deps: NoticeDeps, trx: Database, to: NoticeRecipient, origin: RequestOrigin, remaining: number): Promise<void> {
  await queueSecurityNotice(deps, trx, { to, kind: 'recovery_code_used', text: recoveryCodeUsedEmail({ name: to.name, remaining, atMs: deps.clock.now(), origin }) });
}

export async function queueSecondFactorLockedNotice(deps: NoticeDeps, trx: Database, to: NoticeRecipient, origin: RequestOrigin, lockMinutes: number): Promise<void> {
  await queueSecurityNotice(deps, trx, { to, kind: 'second_factor_locked', text: secondFactorLockedEmail({ name: to.name, lockMinutes, atMs: deps.clock.now(), origin }) });
}
