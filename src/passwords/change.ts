/**
 * Change password on User Details (issue 17). The current password is checked like every other
 * password prompt (password-check.ts: charged to the failed-password limit first, a lock holds
 * here too); the new one meets the sign-up policy and blocklist and differs from the current one.
 * The change bumps password_version (voiding outstanding disable links, like a reset), signs out
 * every OTHER session of the user and their applications (back-channel logout), is written to the
 * security log as `password_reset` with detail {change: true} — the fixed event list has no
 * separate type, and for a reader of the log it is the same fact: the password was replaced —
 * and e-mails a security notice.
 */
import type { RequestOrigin } from '../audit/events.ts';
import { recordSecurityEvent } from '../audit/events.ts';
import type { Deps } from '../deps.ts';
import { passwordChangedEmail } from '../notices/email-texts.ts';
import { queueSecurityNotice } from '../notices/security-notice.ts';
import { revokeUserSessions, type SessionContext } from '../sessions/sessions.ts';
import { lockUser } from '../storage/user-lock.ts';
import { endAllTrustedBrowsers } from '../trusted-browsers/trusted-browsers.ts';
import { findUserById, setPasswordHash } from '../users/users.ts';
import { checkUserPassword, type PasswordCheckOutcome } from './password-check.ts';
import { passwordWeakness, type PasswordWeakness } from './policy.ts';

export type ChangePasswordOutcome =
  | { ok: true }
  | Exclude<PasswordCheckOutcome, { ok: true }>
  | { ok: false; reason: 'weak_password'; weakness: PasswordWeakness | 'same' };

export async function changePassword(
  deps: Deps,
  session: Pick<SessionContext, 'tokenHash' | 'userId' | 'email' | 'name' | 'accountId'>,
  input: { currentPassword: string; newPassword: string },
  origin: RequestOrigin,
): Promise<ChangePasswordOutcome> {
  // The policy first: a weak new password costs no guess at the current one.
  const weakness = passwordWeakness(deps.config.policy, input.newPassword);
  if (weakness) return { ok: false, reason: 'weak_password', weakness };
  const before = await findUserById(deps.db, session.userId);
  if (!before) return { ok: false, reason: 'invalid_credentials' };
  const checked = await checkUserPassword(deps, session, input.currentPassword, origin, 'change_password');
  if (!checked.ok) return checked;
  if (input.newPassword === input.currentPassword) return { ok: false, reason: 'weak_password', weakness: 'same' };
  const hashed = await deps.hasher.hashPassword(input.newPassword);
  if (!hashed.ok) return { ok: false, reason: 'busy' };

  const changed = await deps.db.transaction().execute(async (trx) => {
    await lockUser(trx, session.userId);
    // The password checked must still be the current one: of two concurrent changes made with the
    // same old password, the second finds the version moved and is refused like a wrong password.
    const current = await trx.selectFrom('users').select('password_version').where('id', '=', session.userId).executeTakeFirst();
    if (!current || Number(current.password_version) !== Number(before.password_version)) return false;
    await setPasswordHash(trx, session.userId, hashed.value);
    await revokeUserSessions(trx, deps.delivery.queue, session.userId, session.tokenHash, 'password_changed');
    // A changed password ends every trusted browser (PRODUCT.md §2.11).
    await endAllTrustedBrowsers(trx, deps.clock, { userId: session.userId, accountId: session.accountId }, 'password_changed', { origin });
    await recordSecurityEvent(trx, deps.clock, {
      type: 'password_reset',
      accountId: session.accountId,
      actor: { kind: 'user', userId: session.userId },
      subjectUserId: session.userId,
      origin,
      detail: { change: true },
    });
    // A security notice with its "This wasn't me" link, written with the change (PRODUCT.md §2.12).
    const text = passwordChangedEmail({ name: session.name, atMs: deps.clock.now(), origin });
    await queueSecurityNotice(deps, trx, { to: { userId: session.userId, email: session.email, name: session.name }, kind: 'password_changed', text });
    return true;
  });
  if (!changed) return { ok: false, reason: 'invalid_credentials' };
  // The notice and the back-channel logout tokens committed with the change.
  await deps.delivery.queue.afterCommit();
  return { ok: true };
}
