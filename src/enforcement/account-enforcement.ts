/**
 * Turning "Enforce Two-Factor Authentication (2FA)" on or off for an account (PRODUCT.md §2.4).
 * The change is one write to the account row — no per-user rows, so it costs the same for an
 * account of ten users or of 100,000 — and the security-log entry is written in the same
 * transaction. Sessions read the flag with every session lookup, so the change reaches every
 * session on its next request. Every user is then told by e-mail: the notices are written to the
 * delivery queue in batches after the change commits (one transaction for 100,000 users would
 * hold the database too long), and the queue's worker sends them.
 */
import type { RequestOrigin } from '../audit/events.ts';
import { recordSecurityEvent } from '../audit/events.ts';
import type { Deps } from '../deps.ts';
import { enforcementChangedEmail } from '../notices/email-texts.ts';
import { rearmStagedNotices } from './staged-enforcement.ts';
import { sendStagedNotices } from './staged-notices.ts';

export type EnforcementOutcome = { ok: true; changed: boolean } | { ok: false; reason: 'admin_2fa_required' };

export interface EnforcementActor {
  userId: string;
  accountId: string;
  accountName: string;
  name: string;
  methods: readonly string[];
}

export async function setAccountEnforcement(deps: Deps, actor: EnforcementActor, enforce: boolean, origin: RequestOrigin): Promise<EnforcementOutcome> {
  // An admin who could not pass the check themselves would lock the account out of its own policy.
  if (enforce && actor.methods.length === 0) return { ok: false, reason: 'admin_2fa_required' };
  let staged = false;
  const changed = await deps.db.transaction().execute(async (trx) => {
    const updated = await trx
      .updateTable('accounts')
      .set({ enforce_2fa: enforce ? 1 : 0 })
      .where('id', '=', actor.accountId)
      .where('enforce_2fa', '=', enforce ? 0 : 1)
      .returning('id')
      .executeTakeFirst();
    if (!updated) return false;
    // Staged enforcement (PRODUCT.md §2.10): with an "Enforce from" date ahead, turning it on arms the notices.
    staged = await rearmStagedNotices(trx, actor.accountId, deps.clock.now());
    await recordSecurityEvent(trx, deps.clock, { type: 'enforcement_changed', accountId: actor.accountId, actor: { kind: 'user', userId: actor.userId }, subjectUserId: null, origin, detail: { enforce2fa: enforce } });
    return true;
  });
  if (changed && staged) {
    // Staged: the users it will affect are told the date (staged-notices.ts); nobody else is sent to setup now.
    sendStagedNotices(deps, actor.accountId).catch((error: unknown) => {
      deps.log.error({ err: error instanceof Error ? error.message : String(error), accountId: actor.accountId }, 'staged enforcement notices failed; the periodic job retries');
    });
  } else if (changed) {
    notifyAccountUsers(deps, actor, enforce).catch((error: unknown) => {
      deps.log.error({ err: error instanceof Error ? error.message : String(error), accountId: actor.accountId }, 'enforcement notices failed');
    });
  }
  return { ok: true, changed };
}

const NOTICE_BATCH = 500;

/** Walks the account's active users by id in batches, so memory stays flat for any account size. */
async function notifyAccountUsers(deps: Deps, actor: EnforcementActor, enforce: boolean): Promise<void> {
  const atMs = deps.clock.now();
  let after = '';
  for (;;) {
    const users = await deps.db
      .selectFrom('users')
      .select(['id', 'email', 'name'])
      .where('account_id', '=', actor.accountId)
      .where('active', '=', 1)
      .where('id', '>', after)
      .orderBy('id')
      .limit(NOTICE_BATCH)
      .execute();
    if (users.length === 0) return;
    await deps.db.transaction().execute(async (trx) => {
      for (const user of users) {
        const notice = enforcementChangedEmail({ name: user.name, adminName: actor.name, accountName: actor.accountName, enforce, atMs });
        await deps.delivery.queue.enqueueEmail(trx, { to: user.email, ...notice }, { kind: 'enforcement_changed', userId: user.id });
      }
    });
    deps.delivery.queue.wake();
    after = users[users.length - 1]!.id;
  }
}
