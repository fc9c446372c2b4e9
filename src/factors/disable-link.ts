/**
 * The admin's disable link (PRODUCT.md §2.6, SECURITY.md rules 21-24). An administrator asks;
 * the USER receives a single-use link (256-bit, hash at rest, 24 hours, newest only). The admin
 * never sees the token — not in the answer, the page, the security log or the server log — and
 * cannot switch anyone's 2FA off directly: only the user's own password on the link's page does.
 */
import type { RequestOrigin } from '../audit/events.ts';
import { recordSecurityEvent } from '../audit/events.ts';
import { hmacHex } from '../crypto/tokens.ts';
import type { Deps } from '../deps.ts';
import { chargeWithinLimit } from '../limits/counters.ts';
import { buildLinkURL, consumeLinkUnderSamePassword, issueLink, peekLink } from '../links/links.ts';
import { disableLinkEmail } from '../notices/email-texts.ts';
import { queueSecurityNotice } from '../notices/security-notice.ts';
import { checkUserPassword, type PasswordCheckOutcome } from '../passwords/password-check.ts';
import { findAccountUser, findUserById } from '../users/users.ts';
import { disableTwoFactor } from './disable-two-factor.ts';
import { listConfirmedMethods } from './registry.ts';

/** Links one user can be sent per hour: enough to resend, too few to flood their inbox. */
const LINKS_PER_USER_PER_HOUR = 3;

export interface LinkRequester {
  userId: string;
  accountId: string;
  name: string;
}

export type SendLinkOutcome =
  | { ok: true }
  | { ok: false; reason: 'not_found' | 'two_factor_not_enabled' }
  | { ok: false; reason: 'rate_limited'; retryAfterSeconds: number };

export async function sendDisableLink(deps: Deps, admin: LinkRequester, targetUserId: string, origin: RequestOrigin): Promise<SendLinkOutcome> {
  const target = await findAccountUser(deps.db, admin.accountId, targetUserId);
  if (!target || target.active !== 1) return { ok: false, reason: 'not_found' };
  if ((await listConfirmedMethods(deps.db, target)).length === 0) return { ok: false, reason: 'two_factor_not_enabled' };
  // Per user, a security limit: in the database, not deps.limits, so it survives a Redis restart.
  const key = `disable-link:${hmacHex(deps.keys.hashing, target.id)}`;
  const sent = await chargeWithinLimit(deps.db, deps.clock, key, 3_600_000, LINKS_PER_USER_PER_HOUR);
  if (!sent.ok) return { ok: false, reason: 'rate_limited', retryAfterSeconds: sent.retryAfterSeconds };
  await deps.db.transaction().execute(async (trx) => {
    const token = await issueLink(trx, deps.clock, 'disable_2fa', target.id, deps.config.policy.disableLinkMs);
    await recordSecurityEvent(trx, deps.clock, { type: 'disable_link_sent', accountId: admin.accountId, actor: { kind: 'user', userId: admin.userId }, subjectUserId: target.id, origin });
    const link = buildLinkURL(deps.config.publicURL, 'disable_2fa', token);
    await queueSecurityNotice(deps, trx, { to: { userId: target.id, email: target.email, name: target.name }, kind: 'disable_link', text: disableLinkEmail({ name: target.name, adminName: admin.name, link, atMs: deps.clock.now(), ip: origin.ip }) });
  });
  await deps.delivery.queue.afterCommit();
  return { ok: true };
}

export type UseLinkOutcome = { ok: true } | { ok: false; reason: 'link_expired' } | Exclude<PasswordCheckOutcome, { ok: true }>;

/**
 * The POST of the link's page. The password is checked before the link is consumed, so a
 * mistyped password does not burn the link; the consume is one conditional write, so two
 * concurrent posts cannot both disable. No session is created (rule 22). The password must be
 * one that existed when the link was sent (rule 44): otherwise mailbox access alone — a reset,
 * then this link — would turn 2FA off.
 */
export async function consumeDisableLink(deps: Deps, token: string, password: string, origin: RequestOrigin): Promise<UseLinkOutcome> {
  const link = await peekLink(deps.db, deps.clock, 'disable_2fa', token);
  if (!link) return { ok: false, reason: 'link_expired' };
  const user = await findUserById(deps.db, link.userId);
  if (!user || user.active !== 1) return { ok: false, reason: 'link_expired' };
  const checked = await checkUserPassword(deps, { userId: user.id, email: user.email, accountId: user.account_id }, password, origin, 'disable_link');
  if (!checked.ok) return checked;
  const subject = { userId: user.id, accountId: user.account_id, email: user.email, name: user.name };
  const disabled = await disableTwoFactor(deps, subject, { kind: 'disable_link' }, origin, async (trx) => (await consumeLinkUnderSamePassword(trx, deps.clock, 'disable_2fa', token))?.userId === user.id);
  return disabled ? { ok: true } : { ok: false, reason: 'link_expired' };
}
