/**
 * "This wasn't me" (PRODUCT.md §2.12, SECURITY.md rules 41, 43): the link at the end of every
 * security notice (notices/security-notice.ts). Opening it (peek) changes nothing — mail scanners
 * open links. Using it works without a session, once: the report row is consumed by one
 * conditional write, so of concurrent uses exactly one acts, and a used, expired or unknown
 * token all read as `link_expired`.
 *
 * What it does only takes access away, never grants any: every session of the user ends (and
 * every application sign-in, told by back-channel logout), every trusted browser, the factor the
 * notice announced as added (if it is still there), outstanding disable links; password logins
 * are blocked until a password reset, whose link is e-mailed to the user; the account's
 * administrators are e-mailed; `suspicious_activity_reported` is written to the security log.
 */
import type { RequestOrigin } from '../audit/events.ts';
import { recordSecurityEvent } from '../audit/events.ts';
import { hashToken, isWellFormedToken } from '../crypto/tokens.ts';
import type { Deps } from '../deps.ts';
import { removeEverySecondFactor } from '../factors/disable-two-factor.ts';
import { findSecondFactor, listConfirmedMethods } from '../factors/registry.ts';
import { buildLinkURL, issueLink, voidLinks } from '../links/links.ts';
import { accountSecuredEmail, suspiciousActivityAdminEmail } from '../notices/email-texts.ts';
import { revokeUserSessions } from '../sessions/sessions.ts';
import { endAllTrustedBrowsers } from '../trusted-browsers/trusted-browsers.ts';
import type { Database } from '../storage/schema.ts';
import { lockUser } from '../storage/user-lock.ts';

export type ReportOutcome = { ok: true } | { ok: false; reason: 'link_expired' };

type ReportDeps = Pick<Deps, 'db' | 'clock' | 'config' | 'delivery'>;

/** For the GET of the link: is it usable? Consumes nothing. */
export async function peekReport(deps: Pick<Deps, 'db' | 'clock'>, token: string): Promise<boolean> {
  if (!isWellFormedToken(token)) return false;
  const row = await deps.db.selectFrom('security_reports').select('user_id').where('token_hash', '=', hashToken(token)).where('consumed_at', 'is', null).where('expires_at', '>', deps.clock.now()).executeTakeFirst();
  return row !== undefined;
}

/**
 * Removes the factor the notice announced as added, if that very row is still there (a factor
 * enrolled again since has a new id and stays). A user left with no method loses the recovery
 * codes too, as when 2FA is turned off. Answers the kind removed, or null.
 */
async function removeAnnouncedFactor(trx: Database, deps: ReportDeps, userId: string, kind: string | null, factorId: string | null): Promise<string | null> {
  if (!kind || !factorId) return null;
  const factor = findSecondFactor(kind);
  if (!factor || factor.role !== 'method') return null;
  if (kind === 'webauthn') {
    const removed = await trx.deleteFrom('webauthn_credentials').where('id', '=', factorId).where('user_id', '=', userId).returning('id').executeTakeFirst();
    if (!removed) return null;
    const left = await trx.selectFrom('webauthn_credentials').select('id').where('user_id', '=', userId).executeTakeFirst();
    if (!left) await factor.remove(trx, userId);
  } else {
    const present = await trx.selectFrom('factors').select('id').where('id', '=', factorId).where('user_id', '=', userId).executeTakeFirst();
    if (!present) return null;
    await factor.remove(trx, userId);
  }
  if ((await listConfirmedMethods(trx, { id: userId })).length === 0) await removeEverySecondFactor(trx, deps.clock, userId);
  return kind;
}

export async function reportSuspiciousActivity(deps: ReportDeps, token: string, origin: RequestOrigin): Promise<ReportOutcome> {
  if (!isWellFormedToken(token)) return { ok: false, reason: 'link_expired' };
  const tokenHash = hashToken(token);
  const acted = await deps.db.transaction().execute(async (trx) => {
    const report = await trx.selectFrom('security_reports').select('user_id').where('token_hash', '=', tokenHash).executeTakeFirst();
    if (!report) return false;
    // The user's lock first (storage/user-lock.ts): removing a factor reads then writes their rows.
    await lockUser(trx, report.user_id);
    const now = deps.clock.now();
    // Single use: one conditional write decides which of concurrent uses acts (rule 43).
    const claimed = await trx
      .updateTable('security_reports')
      .set({ consumed_at: now })
      .where('token_hash', '=', tokenHash)
      .where('consumed_at', 'is', null)
      .where('expires_at', '>', now)
      .returning(['user_id', 'factor_kind', 'factor_id'])
      .executeTakeFirst();
    if (!claimed) return false;
    const user = await trx
      .selectFrom('users')
      .innerJoin('accounts', 'accounts.id', 'users.account_id')
      .select(['users.id', 'users.email', 'users.name', 'users.account_id', 'accounts.name as account_name'])
      .where('users.id', '=', claimed.user_id)
      .executeTakeFirstOrThrow();
    const sessions = await trx.selectFrom('sessions').select((eb) => eb.fn.countAll<string | number>().as('n')).where('user_id', '=', user.id).executeTakeFirstOrThrow();
    await revokeUserSessions(trx, deps.delivery.queue, user.id, undefined, 'security_report');
    await endAllTrustedBrowsers(trx, deps.clock, { userId: user.id, accountId: user.account_id }, 'suspicious_activity_reported', { origin });
    const factorRemoved = await removeAnnouncedFactor(trx, deps, user.id, claimed.factor_kind, claimed.factor_id);
    await voidLinks(trx, deps.clock, 'disable_2fa', user.id);
    await trx.updateTable('users').set({ password_login_blocked: 1 }).where('id', '=', user.id).execute();
    // Every other report link of the user is spent too: the account is already secured.
    await trx.updateTable('security_reports').set({ consumed_at: now }).where('user_id', '=', user.id).where('consumed_at', 'is', null).execute();
    await recordSecurityEvent(trx, deps.clock, {
      type: 'suspicious_activity_reported',
      accountId: user.account_id,
      actor: { kind: 'user', userId: user.id },
      subjectUserId: user.id,
      origin,
      detail: { sessionsEnded: Number(sessions.n), factorRemoved: factorRemoved ?? 'none', passwordLoginBlocked: true },
    });
    const resetToken = await issueLink(trx, deps.clock, 'password_reset', user.id, deps.config.policy.resetLinkMs);
    const resetLink = buildLinkURL(deps.config.publicURL, 'password_reset', resetToken);
    await deps.delivery.queue.enqueueEmail(trx, { to: user.email, ...accountSecuredEmail({ name: user.name, link: resetLink, factorRemoved: factorRemoved !== null, atMs: now }) }, { kind: 'account_secured', userId: user.id });
    const admins = await trx.selectFrom('users').select(['id', 'email', 'name']).where('account_id', '=', user.account_id).where('role', '=', 'admin').where('active', '=', 1).where('id', '!=', user.id).execute();
    for (const admin of admins) {
      const text = suspiciousActivityAdminEmail({ name: admin.name, userName: user.name, userEmail: user.email, accountName: user.account_name, atMs: now, origin });
      await deps.delivery.queue.enqueueEmail(trx, { to: admin.email, ...text }, { kind: 'suspicious_activity_admin', userId: admin.id });
    }
    return true;
  });
  if (!acted) return { ok: false, reason: 'link_expired' };
  await deps.delivery.queue.afterCommit();
  return { ok: true };
}
