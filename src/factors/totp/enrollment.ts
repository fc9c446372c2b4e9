/**
 * Turning the authenticator app on (PRODUCT.md §2.3 Mobile App, §3 POST /me/2fa/totp/confirm):
 * the confirmation stores the factor with a fresh set of recovery codes and the security-log
 * entry in one transaction, then signs out the user's other sessions and e-mails the user
 * (rule 15). A session that was only allowed to enrol (account enforces 2FA) becomes complete
 * under a new token (rule 9).
 */
import type { RequestOrigin } from '../../audit/events.ts';
import type { Deps } from '../../deps.ts';
import type { SessionContext } from '../../sessions/sessions.ts';
import { finishFactorEnrollment, recordFactorEnrolled, type CompletedEnrollment } from '../enrollment-completion.ts';
import { confirmTOTPEnrollment } from './authenticator-app.ts';

export type EnrollmentConfirmation = CompletedEnrollment | { ok: false; reason: 'enrollment_expired' | 'invalid_code' };

type FlowDeps = Pick<Deps, 'db' | 'clock' | 'keys' | 'delivery' | 'log'>;

export async function confirmAuthenticatorApp(deps: FlowDeps, session: SessionContext, input: { enrollmentId: string; code: string }, origin: RequestOrigin): Promise<EnrollmentConfirmation> {
  const confirmed = await confirmTOTPEnrollment(deps, { userId: session.userId, enrollmentId: input.enrollmentId, code: input.code }, (trx, replaced) =>
    recordFactorEnrolled(trx, deps, session, { method: 'totp', replaced }, origin),
  );
  if (!confirmed.ok) return confirmed;
  return finishFactorEnrollment(deps, session, { factor: { method: 'totp' }, replaced: confirmed.replacedFactor, recoveryCodes: confirmed.extra }, origin);
}
