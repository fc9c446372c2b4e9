/**
 * Forgot / reset password (PRODUCT.md §2.1). The forgot answer is the same whether or not the
 * email exists (the e-mail is sent in the background so timing does not tell either). A reset
 * consumes its single-use link, sets the password, revokes every session of the user, and never
 * logs anyone in: the next login still asks for the second factor (SECURITY.md rule 11).
 */
import type { RequestOrigin } from '../audit/events.ts';
import { recordSecurityEvent } from '../audit/events.ts';
import type { Deps } from '../deps.ts';
import { buildLinkURL, consumeLink, issueLink } from '../links/links.ts';
import { passwordResetEmail } from '../notices/email-texts.ts';
import { revokeUserSessions } from '../sessions/sessions.ts';
import { findUserByEmail, setPasswordHash } from '../users/users.ts';

export async function requestPasswordReset(deps: Deps, email: string, origin: RequestOrigin): Promise<void> {
  const user = await findUserByEmail(deps.db, email);
  if (!user || user.active !== 1) return;
  await deps.db.transaction().execute(async (trx) => {
    const token = await issueLink(trx, deps.clock, 'password_reset', user.id, deps.config.policy.resetLinkMs);
    const link = buildLinkURL(deps.config.publicURL, 'password_reset', token);
    await deps.delivery.queue.enqueueEmail(trx, { to: user.email, ...passwordResetEmail({ name: user.name, link, atMs: deps.clock.now(), ip: origin.ip }) }, { kind: 'password_reset', userId: user.id });
  });
  // Wakes the worker without waiting, even in development: the answer must not depend on
  // whether the address has an account.
  deps.delivery.queue.wake();
}

export type ResetOutcome = { ok: true } | { ok: false; reason: 'link_expired' | 'busy' };

export async function resetPassword(deps: Deps, token: string, password: string, origin: RequestOrigin): Promise<ResetOutcome> {
  const hashed = await deps.hasher.hashPassword(password);
  if (!hashed.ok) return { ok: false, reason: 'busy' };
  return deps.db.transaction().execute(async (trx) => {
    const link = await consumeLink(trx, deps.clock, 'password_reset', token);
    if (!link) return { ok: false, reason: 'link_expired' } as const;
    const user = await trx.selectFrom('users').select(['id', 'account_id']).where('id', '=', link.userId).executeTakeFirstOrThrow();
    await setPasswordHash(trx, user.id, hashed.value);
    await revokeUserSessions(trx, user.id);
    await recordSecurityEvent(trx, deps.clock, { type: 'password_reset', accountId: user.account_id, actor: { kind: 'user', userId: user.id }, subjectUserId: user.id, origin });
    return { ok: true } as const;
  });
}
