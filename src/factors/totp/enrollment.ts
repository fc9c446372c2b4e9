/**
 * Turning the authenticator app on (PRODUCT.md §2.3 Mobile App, §3 POST /me/2fa/totp/confirm):
 * the confirmation stores the factor with a fresh set of recovery codes and the security-log
 * entry in one transaction, then signs out the user's other sessions and e-mails the user
 * (rule 15). A session that was only allowed to enrol (account enforces 2FA) becomes complete
 * under a new token (rule 9).
 */
import { recordCompletedLogin } from '../../login/completed-login.ts';
import type { RequestOrigin } from '../../audit/events.ts';
import { recordSecurityEvent } from '../../audit/events.ts';
import type { Deps } from '../../deps.ts';
import { revokeUserSessions, upgradeSession, type SessionContext } from '../../sessions/sessions.ts';
import { voidLinks } from '../../links/links.ts';
import { sendFactorEnrolledNotice } from '../notices.ts';
import { replaceRecoveryCodes } from '../recovery-codes/recovery-codes.ts';
import { confirmTOTPEnrollment } from './authenticator-app.ts';

export type EnrollmentConfirmation =
  | { ok: true; recoveryCodes: string[]; newToken: string | null }
  | { ok: false; reason: 'enrollment_expired' | 'invalid_code' };

type FlowDeps = Pick<Deps, 'db' | 'clock' | 'keys' | 'delivery' | 'log'>;

export async function confirmAuthenticatorApp(deps: FlowDeps, session: SessionContext, input: { enrollmentId: string; code: string }, origin: RequestOrigin): Promise<EnrollmentConfirmation> {
  const { db, clock, keys } = deps;
  const confirmed = await confirmTOTPEnrollment(deps, { userId: session.userId, enrollmentId: input.enrollmentId, code: input.code }, async (trx, replacedFactor) => {
    const recoveryCodes = await replaceRecoveryCodes(trx, clock, keys, session.userId);
    // A user who has a working factor again no longer needs the admin's disable link (rule 21).
    await voidLinks(trx, clock, 'disable_2fa', session.userId);
    await recordSecurityEvent(trx, clock, {
      type: 'factor_enrolled',
      accountId: session.accountId,
      actor: { kind: 'user', userId: session.userId },
      subjectUserId: session.userId,
      origin,
      detail: { method: 'totp', replaced: replacedFactor },
    });
    return recoveryCodes;
  });
  if (!confirmed.ok) return confirmed;

  // Whoever else holds a session of this user (perhaps the reason for a new factor) is out.
  await revokeUserSessions(db, session.userId, session.tokenHash);
  let newToken: string | null = null;
  // Only a login that stopped at enrollment changes level here. A complete session that the
  // guard treats as enrollment-only (enforcement turned on later) keeps its token.
  if (session.storedState === 'enrollment_required') {
    const upgraded = await upgradeSession(db, clock, session.tokenHash, 'enrollment_required', 'complete');
    if (upgraded) {
      newToken = upgraded.token;
      await recordCompletedLogin(db, clock, session, 'password,totp_enrollment', origin);
    }
  }
  sendFactorEnrolledNotice(deps, { email: session.email, name: session.name }, origin, confirmed.replacedFactor);
  return { ok: true, recoveryCodes: confirmed.extra, newToken };
}
