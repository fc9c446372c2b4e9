/**
 * Forgot / reset password (PRODUCT.md §2.1). The forgot answer is the same whether or not the
 * email exists (the e-mail is sent in the background so timing does not tell either). A reset
 * consumes its single-use link, sets the password, revokes every session of the user, voids their
 * outstanding disable links (rule 44), and never logs anyone in: the next login still asks for
 * the second factor (SECURITY.md rule 11).
 */
import type { RequestOrigin } from '../audit/events.ts';
import { recordSecurityEvent } from '../audit/events.ts';
import { hmacHex } from '../crypto/tokens.ts';
import type { Deps } from '../deps.ts';
import { buildLinkURL, consumeLink, issueLink, voidLinks } from '../links/links.ts';
import { passwordResetEmail, passwordWasResetEmail } from '../notices/email-texts.ts';
import { queueSecurityNotice } from '../notices/security-notice.ts';
import { revokeUserSessions } from '../sessions/sessions.ts';
import { markEmailVerified } from '../users/email-verification.ts';
import { findUserByEmail, normalizeEmail, setPasswordHash } from '../users/users.ts';
import { endAllTrustedBrowsers } from '../trusted-browsers/trusted-browsers.ts';

const HOUR = 3_600_000;

/**
 * Rule 44: counts this request against the client IP's and the address's hourly caps in the
 * shared limit store, whether or not the address has an account (so the counting itself tells
 * nothing), and says whether an e-mail may go. The IP is charged first, and a request over its
 * IP's cap stops there: only requests that could have sent an e-mail spend the address's budget.
 */
async function withinResetCaps(deps: Deps, email: string, ip: string | null): Promise<boolean> {
  const { limits, keys, config } = deps;
  const byIP = await limits.hit(`reset-ip:${hmacHex(keys.hashing, ip ?? 'unknown')}`, HOUR);
  if (byIP.count > config.policy.passwordResetsPerIPPerHour) return false;
  const byEmail = await limits.hit(`reset-email:${hmacHex(keys.hashing, normalizeEmail(email))}`, HOUR);
  return byEmail.count <= config.policy.passwordResetsPerEmailPerHour;
}

/** Runs after the 202 is sent (the caller does not await it): a capped or unknown address just gets no e-mail. */
export async function requestPasswordReset(deps: Deps, email: string, origin: RequestOrigin): Promise<void> {
  if (!(await withinResetCaps(deps, email, origin.ip))) return;
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
  const outcome = await deps.db.transaction().execute(async (trx) => {
    const link = await consumeLink(trx, deps.clock, 'password_reset', token);
    if (!link) return { ok: false, reason: 'link_expired' } as const;
    const user = await trx.selectFrom('users').select(['id', 'account_id', 'email', 'name']).where('id', '=', link.userId).executeTakeFirstOrThrow();
    await setPasswordHash(trx, user.id, hashed.value);
    // The reset link went to the address alone, so using it proves the address (issue 17).
    await markEmailVerified(trx, deps.clock, user.id);
    await revokeUserSessions(trx, deps.delivery.queue, user.id, undefined, 'password_reset');
    // Whoever reads the mailbox can reset; that must not also let them use a disable link (rule 44).
    await voidLinks(trx, deps.clock, 'disable_2fa', user.id);
    // …nor let a browser trusted before the reset skip the code (rule 42).
    await endAllTrustedBrowsers(trx, deps.clock, { userId: user.id, accountId: user.account_id }, 'password_reset', { origin });
    await recordSecurityEvent(trx, deps.clock, { type: 'password_reset', accountId: user.account_id, actor: { kind: 'user', userId: user.id }, subjectUserId: user.id, origin });
    await queueSecurityNotice(deps, trx, { to: { userId: user.id, email: user.email, name: user.name }, kind: 'password_was_reset', text: passwordWasResetEmail({ name: user.name, atMs: deps.clock.now(), origin }) });
    return { ok: true } as const;
  });
  // The notice and the back-channel logout notices committed with the reset.
  if (outcome.ok) await deps.delivery.queue.afterCommit();
  return outcome;
}
