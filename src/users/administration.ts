/**
 * An administrator changes a user's role, deactivates them or reactivates them. An account always keeps at least
 * one active admin: the check and the change run in one transaction that first locks the
 * account row, so two admins demoting each other at the same moment cannot both succeed.
 */
import type { RequestOrigin } from '../audit/events.ts';
import { recordSecurityEvent } from '../audit/events.ts';
import type { Clock } from '../clock.ts';
import type { LogoutQueue } from '../sessions/application-sessions.ts';
import { revokeUserSessions } from '../sessions/sessions.ts';
import type { Database, Role, User } from '../storage/schema.ts';

export interface UserChange {
  role?: Role;
  active?: boolean;
}

export type UserChangeOutcome = { ok: true; user: User } | { ok: false; reason: 'not_found' | 'last_admin' };

export async function changeUser(db: Database, clock: Clock, queue: LogoutQueue, actor: { userId: string; accountId: string }, targetId: string, change: UserChange, origin: RequestOrigin): Promise<UserChangeOutcome> {
  const outcome = await db.transaction().execute(async (trx) => {
    // A no-op write takes the account's row lock (PostgreSQL) or the write lock (SQLite).
    await trx.updateTable('accounts').set((eb) => ({ name: eb.ref('name') })).where('id', '=', actor.accountId).execute();
    const target = await trx.selectFrom('users').selectAll().where('id', '=', targetId).where('account_id', '=', actor.accountId).executeTakeFirst();
    if (!target) return { ok: false, reason: 'not_found' } as const;
    const role = change.role ?? target.role;
    const active = change.active === undefined ? target.active : change.active ? 1 : 0;
    const losesAdmin = target.role === 'admin' && target.active === 1 && (role !== 'admin' || active !== 1);
    if (losesAdmin) {
      const others = await trx
        .selectFrom('users')
        .select((eb) => eb.fn.countAll<number>().as('n'))
        .where('account_id', '=', actor.accountId)
        .where('role', '=', 'admin')
        .where('active', '=', 1)
        .where('id', '!=', target.id)
        .executeTakeFirstOrThrow();
      if (Number(others.n) === 0) return { ok: false, reason: 'last_admin' } as const;
    }
    await trx.updateTable('users').set({ role, active }).where('id', '=', target.id).execute();
    const by = { kind: 'user' as const, userId: actor.userId };
    if (role !== target.role) {
      await recordSecurityEvent(trx, clock, { type: 'role_changed', accountId: actor.accountId, actor: by, subjectUserId: target.id, origin, detail: { from: target.role, to: role } });
    }
    if (active !== target.active && active === 0) {
      await revokeUserSessions(trx, queue, target.id, undefined, 'administrator');
      await recordSecurityEvent(trx, clock, { type: 'user_deactivated', accountId: actor.accountId, actor: by, subjectUserId: target.id, origin, detail: { active: false } });
    }
    if (active !== target.active && active === 1) {
      // PRODUCT.md §6 fixes the list of event types: a reactivation is the same event with active: true.
      await recordSecurityEvent(trx, clock, { type: 'user_deactivated', accountId: actor.accountId, actor: by, subjectUserId: target.id, origin, detail: { active: true } });
    }
    return { ok: true, user: { ...target, role, active } } as const;
  });
  // The deactivated user's back-channel logout notices, committed with the change.
  queue.wake();
  return outcome;
}
