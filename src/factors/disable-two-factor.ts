/**
 * Turning 2FA off, by any path (PRODUCT.md §2.5-2.7, SECURITY.md rules 20 and 24): the user's
 * own "Disable Two Factor", the admin's disable link, and the operator's support command.
 * Every path removes every factor, every recovery code, any pending enrollment and every
 * outstanding disable link, revokes the user's sessions and writes the security log — all in
 * one transaction — and then e-mails the user. The user's own "Disable Two Factor" keeps the
 * session that did it (PRODUCT.md §2.5): that session just proved the password or a code, and
 * signing it out would throw the user off the page they were on; every other session ends.
 */
import type { RequestOrigin, SecurityEventInput } from '../audit/events.ts';
import { recordSecurityEvent } from '../audit/events.ts';
import type { Clock } from '../clock.ts';
import type { Deps } from '../deps.ts';
import { voidLinks } from '../links/links.ts';
import { methodRemovedEmail, twoFactorDisabledEmail } from '../notices/email-texts.ts';
import { queueSecurityNotice } from '../notices/security-notice.ts';
import { revokeUserSessions } from '../sessions/sessions.ts';
import type { Database } from '../storage/schema.ts';
import { lockUser } from '../storage/user-lock.ts';
import { findSecondFactor, listConfirmedMethods, SECOND_FACTORS } from './registry.ts';
import { endAllTrustedBrowsers, type TrustEndReason } from '../trusted-browsers/trusted-browsers.ts';

export interface DisableSubject {
  userId: string;
  accountId: string;
  email: string;
  name: string;
}

export type DisablePath =
  /** `keepSessionTokenHash`: the session that asked, which stays signed in. */
  | { kind: 'self'; keepSessionTokenHash: string }
  | { kind: 'disable_link' }
  | { kind: 'support'; reason: string };

/** Deletes every second-factor record of the user; returns the methods that were on. */
export async function removeEverySecondFactor(db: Database, clock: Clock, userId: string): Promise<string[]> {
  const methods = await listConfirmedMethods(db, { id: userId });
  // Every kind removes its own records, pending enrollments and codes in flight too (rule 24).
  for (const factor of SECOND_FACTORS) await factor.remove(db, userId);
  await voidLinks(db, clock, 'disable_2fa', userId);
  return methods;
}

/** Every path that turns 2FA off ends the user's trusted browsers (PRODUCT.md §2.11), saying which. */
const TRUST_END_REASONS: Record<DisablePath['kind'], TrustEndReason> = { self: 'factor_removed', disable_link: 'disable_link_used', support: 'support_reset' };

function eventFor(path: DisablePath, subject: DisableSubject, methods: string[], origin: RequestOrigin): SecurityEventInput {
  const base = { accountId: subject.accountId, subjectUserId: subject.userId, origin };
  switch (path.kind) {
    case 'self':
      return { ...base, type: 'factor_removed', actor: { kind: 'user', userId: subject.userId }, detail: { methods: methods.join(','), all: true } };
    case 'disable_link':
      return { ...base, type: 'disable_link_used', actor: { kind: 'user', userId: subject.userId }, detail: { methods: methods.join(',') } };
    case 'support':
      return { ...base, type: 'support_reset', actor: { kind: 'support' }, detail: { methods: methods.join(','), reason: path.reason.slice(0, 500) } };
  }
}

/**
 * `claim` runs first inside the same transaction (the disable link consumes itself there): when
 * it answers false nothing changes and the result is null, so a used link never half-disables.
 */
export async function disableTwoFactor(
  deps: Pick<Deps, 'db' | 'clock' | 'config' | 'delivery'>,
  subject: DisableSubject,
  path: DisablePath,
  origin: RequestOrigin,
  claim?: (trx: Database) => Promise<boolean>,
): Promise<{ methods: string[] } | null> {
  const methods = await deps.db.transaction().execute(async (trx) => {
    // Serialised with removing one method and with enrolment, so the methods read are the ones removed.
    await lockUser(trx, subject.userId);
    if (claim && !(await claim(trx))) return null;
    const removed = await removeEverySecondFactor(trx, deps.clock, subject.userId);
    await revokeUserSessions(trx, deps.delivery.queue, subject.userId, path.kind === 'self' ? path.keepSessionTokenHash : undefined, path.kind === 'support' ? 'support' : 'two_factor_disabled');
    await endAllTrustedBrowsers(trx, deps.clock, subject, TRUST_END_REASONS[path.kind], { origin, actor: path.kind === 'support' ? { kind: 'support' } : { kind: 'user', userId: subject.userId } });
    await recordSecurityEvent(trx, deps.clock, eventFor(path, subject, removed, origin));
    const enforced = await trx.selectFrom('accounts').select('enforce_2fa').where('id', '=', subject.accountId).executeTakeFirst();
    const notice = twoFactorDisabledEmail({ name: subject.name, by: path.kind, accountEnforces: enforced?.enforce_2fa === 1, atMs: deps.clock.now(), origin });
    await queueSecurityNotice(deps, trx, { to: subject, kind: 'two_factor_disabled', text: notice });
    return removed;
  });
  if (methods === null) return null;
  await deps.delivery.queue.afterCommit();
  return { methods };
}

/**
 * Removes one method of a user who has two, keeping the other (and the recovery codes).
 * Sessions stay: the user still has two-factor authentication. The read of the methods and the
 * delete are serialised on the user (issue 13): two concurrent removals of different methods
 * would otherwise both see two methods and leave none. The second one then finds one method and
 * is refused as 'last_method' — turning 2FA off is its own action ("Disable Two Factor", refused
 * under enforcement, with its own event and notice; PRODUCT.md §2.5), never a side effect of a race.
 */
export async function removeOneMethod(deps: Pick<Deps, 'db' | 'clock' | 'config' | 'delivery'>, subject: DisableSubject, method: string, origin: RequestOrigin): Promise<{ ok: true } | { ok: false; reason: 'not_enrolled' | 'last_method' }> {
  const outcome = await deps.db.transaction().execute(async (trx) => {
    await lockUser(trx, subject.userId);
    const methods = await listConfirmedMethods(trx, { id: subject.userId });
    if (!methods.includes(method)) return { ok: false, reason: 'not_enrolled' } as const;
    if (methods.length < 2) return { ok: false, reason: 'last_method' } as const;
    await findSecondFactor(method)!.remove(trx, subject.userId);
    await endAllTrustedBrowsers(trx, deps.clock, subject, 'factor_removed', { origin });
    await recordSecurityEvent(trx, deps.clock, { type: 'factor_removed', accountId: subject.accountId, actor: { kind: 'user', userId: subject.userId }, subjectUserId: subject.userId, origin, detail: { methods: method, all: false } });
    await queueSecurityNotice(deps, trx, { to: subject, kind: 'method_removed', text: methodRemovedEmail({ name: subject.name, methodName: findSecondFactor(method)!.sentenceName, atMs: deps.clock.now(), origin }) });
    return { ok: true } as const;
  });
  if (outcome.ok) await deps.delivery.queue.afterCommit();
  return outcome;
}
