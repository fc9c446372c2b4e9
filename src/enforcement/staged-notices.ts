/**
 * The e-mails of staged enforcement (PRODUCT.md §2.10): each user the enforcement will affect is
 * told when it is saved, 7 days before and 1 day before the date. Any number of instances run
 * this; each e-mail goes out once:
 *
 * - The account's policy row holds the stage being sent (`notice_stage`) and, while it is being
 *   sent, the id of the last user it reached (`notice_cursor`; null once the stage is done).
 * - Starting a stage is a conditional write (stage n → m where the row still says n and no
 *   stage is in progress); sending a batch of 100 users is a conditional write of the cursor
 *   (from the value this sender read) in the SAME transaction as those users' queued e-mails.
 *   Of two instances reading the same cursor only one write matches (PostgreSQL re-checks the
 *   WHERE after the first commits; SQLite serialises writers), and the loser's transaction
 *   queues nothing. A sender that dies mid-stage leaves the cursor where its last commit put it,
 *   and the next run goes on from there.
 * - Batches keep memory flat and no transaction long, for accounts of 100,000 users.
 * - The users are chosen at send time, so someone who set up 2FA in the meantime is not reminded.
 */
import type { Deps } from '../deps.ts';
import { stagedEnforcementEmail } from '../notices/email-texts.ts';
import { DAY_MS, dueNoticeStage, formatDay, readAffectedScope, selectUsersLackingTwoFactor } from './staged-enforcement.ts';
import { startPeriodicJob, type JobLog } from '../maintenance/periodic-job.ts';

export const NOTICE_BATCH = 100;
/** Accounts looked at per run; the next run takes the rest. */
const ACCOUNTS_PER_RUN = 100;

type NoticeDeps = Pick<Deps, 'db' | 'clock' | 'delivery' | 'config'>;

/** The periodic job: every account with a notice stage due or in progress. Returns how many e-mails this instance queued. */
export async function sendDueStagedNotices(deps: NoticeDeps): Promise<number> {
  const now = deps.clock.now();
  const accounts = await deps.db
    .selectFrom('account_policies')
    .innerJoin('accounts', 'accounts.id', 'account_policies.account_id')
    .select('account_policies.account_id')
    .where('accounts.enforce_2fa', '=', 1)
    .where('account_policies.enforce_from', '>', now)
    .where((eb) =>
      eb.or([
        eb('account_policies.notice_cursor', 'is not', null),
        eb.and([eb('account_policies.notice_stage', '<', 2), eb('account_policies.enforce_from', '<=', now + 7 * DAY_MS)]),
        eb.and([eb('account_policies.notice_stage', '<', 3), eb('account_policies.enforce_from', '<=', now + DAY_MS)]),
      ]),
    )
    .orderBy('account_policies.account_id')
    .limit(ACCOUNTS_PER_RUN)
    .execute();
  let queued = 0;
  for (const { account_id } of accounts) queued += await sendStagedNotices(deps, account_id);
  return queued;
}

/** Sends what is due for one account: called by the job, and right after a save. */
export async function sendStagedNotices(deps: NoticeDeps, accountId: string): Promise<number> {
  let queued = 0;
  for (;;) {
    const now = deps.clock.now();
    const row = await deps.db
      .selectFrom('account_policies')
      .innerJoin('accounts', 'accounts.id', 'account_policies.account_id')
      .select(['accounts.enforce_2fa', 'accounts.name as account_name', 'account_policies.enforce_from', 'account_policies.enforce_for', 'account_policies.notice_stage', 'account_policies.notice_cursor'])
      .where('account_policies.account_id', '=', accountId)
      .executeTakeFirst();
    if (!row || row.enforce_2fa !== 1 || row.enforce_from === null || Number(row.enforce_from) <= now) return queued;
    const from = Number(row.enforce_from);
    const stage = Number(row.notice_stage);
    if (row.notice_cursor === null) {
      const due = dueNoticeStage(now, from);
      if (due <= stage) return queued;
      await deps.db
        .updateTable('account_policies')
        .set({ notice_stage: due, notice_cursor: '' })
        .where('account_id', '=', accountId)
        .where('notice_stage', '=', stage)
        .where('notice_cursor', 'is', null)
        .where('enforce_from', '=', from)
        .execute();
      continue; // Won or lost, read again: the stage is now in progress either way.
    }
    const sent = await sendBatch(deps, { accountId, accountName: row.account_name, from, enforceFor: row.enforce_for, stage, cursor: row.notice_cursor, now });
    if (sent === null) continue; // Another sender moved the cursor: read where it is now.
    queued += sent;
    deps.delivery.queue.wake();
  }
}

interface BatchClaim {
  accountId: string;
  accountName: string;
  from: number;
  enforceFor: string;
  stage: number;
  cursor: string;
  now: number;
}

/** One batch: null when another sender claimed it first (nothing queued here). */
async function sendBatch(deps: NoticeDeps, claim: BatchClaim): Promise<number | null> {
  const scope = await readAffectedScope(deps.db, claim.accountId);
  const users = await selectUsersLackingTwoFactor(deps.db, scope)
    .select(['users.id', 'users.email', 'users.name'])
    .where('users.id', '>', claim.cursor)
    .orderBy('users.id')
    .limit(NOTICE_BATCH)
    .execute();
  const nextCursor = users.length < NOTICE_BATCH ? null : users[users.length - 1]!.id;
  const day = formatDay(claim.from);
  const daysLeft = Math.max(1, Math.ceil((claim.from - claim.now) / DAY_MS));
  const setupURL = new URL('/user', deps.config.publicURL).toString();
  return deps.db.transaction().execute(async (trx) => {
    const claimed = await trx
      .updateTable('account_policies')
      .set({ notice_cursor: nextCursor })
      .where('account_id', '=', claim.accountId)
      .where('notice_stage', '=', claim.stage)
      .where('notice_cursor', '=', claim.cursor)
      .where('enforce_from', '=', claim.from)
      .where('enforce_for', '=', scope.enforceFor)
      .executeTakeFirst();
    if (Number(claimed.numUpdatedRows) !== 1) return null;
    for (const user of users) {
      const notice = stagedEnforcementEmail({ name: user.name, accountName: claim.accountName, day, daysLeft, setupURL });
      await deps.delivery.queue.enqueueEmail(trx, { to: user.email, ...notice }, { kind: 'staged_enforcement', userId: user.id });
    }
    return users.length;
  });
}

const RUN_INTERVAL_MS = 10 * 60 * 1000;

/**
 * Runs the job every ten minutes on every instance (the conditional writes make that safe),
 * starting at a random moment in the first minute. Returns the function that stops it.
 */
export function startStagedNotices(deps: NoticeDeps, log: JobLog): () => void {
  return startPeriodicJob('staged enforcement notices', RUN_INTERVAL_MS, async () => {
    const queued = await sendDueStagedNotices(deps);
    if (queued > 0) log.info({ queued }, 'staged enforcement notices queued');
  }, log);
}
