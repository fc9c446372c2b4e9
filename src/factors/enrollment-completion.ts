/**
 * What confirming any second factor does, the same for the authenticator app and for text
 * messages (PRODUCT.md §2.3, §2.7; SECURITY.md rules 9, 15, 16, 21):
 * - inside the transaction that stores the factor: a fresh set of recovery codes, the admin's
 *   outstanding disable links voided, the user's other sessions signed out, the
 *   `factor_enrolled` security event — so a crash can never leave a new factor beside the
 *   sessions it was meant to end;
 * - after it: a login that stopped at enrollment completed under a new token, and the user
 *   e-mailed.
 */
import type { RequestOrigin } from '../audit/events.ts';
import { recordSecurityEvent } from '../audit/events.ts';
import type { Deps } from '../deps.ts';
import { voidLinks } from '../links/links.ts';
import { recordCompletedLogin } from '../login/completed-login.ts';
import { revokeUserSessions, upgradeSession, type SessionContext } from '../sessions/sessions.ts';
import type { Database } from '../storage/schema.ts';
import type { FactorMethod } from './methods.ts';
import { sendFactorEnrolledNotice, type EnrolledFactor } from './notices.ts';
import { replaceRecoveryCodes } from './recovery-codes/recovery-codes.ts';

export interface CompletedEnrollment {
  ok: true;
  recoveryCodes: string[];
  /** Set when this confirmation completed an enrollment-required login (rule 9). */
  newToken: string | null;
}

type CompletionDeps = Pick<Deps, 'db' | 'clock' | 'keys' | 'delivery' | 'log'>;

/** Inside the factor's transaction; answers the new recovery codes. */
export async function recordFactorEnrolled(
  trx: Database,
  deps: Pick<Deps, 'clock' | 'keys'>,
  session: Pick<SessionContext, 'userId' | 'accountId' | 'tokenHash'>,
  input: { method: FactorMethod; replaced: boolean },
  origin: RequestOrigin,
): Promise<string[]> {
  const recoveryCodes = await replaceRecoveryCodes(trx, deps.clock, deps.keys, session.userId);
  // A user who has a working factor again no longer needs the admin's disable link (rule 21).
  await voidLinks(trx, deps.clock, 'disable_2fa', session.userId);
  // Whoever else holds a session of this user (perhaps the reason for a new factor) is out (rule 15).
  await revokeUserSessions(trx, session.userId, session.tokenHash);
  await recordSecurityEvent(trx, deps.clock, {
    type: 'factor_enrolled',
    accountId: session.accountId,
    actor: { kind: 'user', userId: session.userId },
    subjectUserId: session.userId,
    origin,
    detail: { method: input.method, replaced: input.replaced },
  });
  return recoveryCodes;
}

/** After the factor's transaction committed. */
export async function finishFactorEnrollment(
  deps: CompletionDeps,
  session: SessionContext,
  input: { factor: EnrolledFactor; replaced: boolean; recoveryCodes: string[] },
  origin: RequestOrigin,
): Promise<CompletedEnrollment> {
  const { db, clock } = deps;
  let newToken: string | null = null;
  // Only a login that stopped at enrollment changes level here. A complete session that the
  // guard treats as enrollment-only (enforcement turned on later) keeps its token.
  if (session.storedState === 'enrollment_required') {
    const upgraded = await upgradeSession(db, clock, session.tokenHash, 'enrollment_required', 'complete');
    if (upgraded) {
      newToken = upgraded.token;
      await recordCompletedLogin(db, clock, session, `password,${input.factor.method}_enrollment`, origin);
    }
  }
  sendFactorEnrolledNotice(deps, { email: session.email, name: session.name }, origin, input.factor, input.replaced);
  return { ok: true, recoveryCodes: input.recoveryCodes, newToken };
}
