/**
 * The way out of the enrollment-required state (PRODUCT.md §2.4; SECURITY.md rule 9), and what
 * follows every factor confirmation: the factor's kind stores it (with its recovery codes, in one
 * transaction), then this step completes a login that stopped at enrollment under a new token and
 * e-mails the user.
 */
import type { RequestOrigin } from '../audit/events.ts';
import type { Deps } from '../deps.ts';
import type { StoredFactor } from '../factors/enrollment-completion.ts';
import { queueFactorEnrolledNotice } from '../factors/notices.ts';
import { upgradeSession, type SessionContext } from '../sessions/sessions.ts';
import { recordCompletedLogin } from './completed-login.ts';
import { LOGIN_STATES } from './flow.ts';

export interface CompletedEnrollment {
  ok: true;
  /** Null when the user already had another method and keeps their recovery codes. */
  recoveryCodes: string[] | null;
  /** Set when this confirmation completed an enrollment-required login (rule 9). */
  newToken: string | null;
}

type CompletionDeps = Pick<Deps, 'db' | 'clock' | 'config' | 'keys' | 'delivery' | 'log'>;

/**
 * `confirmation` is the kind's own confirmation (`confirmAuthenticatorApp`, `confirmSMSEnrollment`);
 * its refusals pass through unchanged.
 */
export async function completeEnrollment<Refusal extends { ok: false }>(
  deps: CompletionDeps,
  session: SessionContext,
  confirmation: Promise<StoredFactor | Refusal>,
  origin: RequestOrigin,
): Promise<CompletedEnrollment | Refusal> {
  const stored = await confirmation;
  if (!stored.ok) return stored;
  const { db, clock } = deps;
  let newToken: string | null = null;
  // Only a login that stopped at enrollment changes level here. A complete session that the
  // guard treats as enrollment-only (enforcement turned on later) keeps its token.
  // A method the account's policy does not allow never completes a login (rule 37).
  if (session.storedState === LOGIN_STATES.enrollmentRequired && session.allowedMethods.includes(stored.factor.method)) {
    const upgraded = await upgradeSession(db, clock, session.tokenHash, {
      from: LOGIN_STATES.enrollmentRequired,
      to: LOGIN_STATES.complete,
      // The code that confirmed the factor proved it, as a login code would.
      authMethods: [...session.authMethods, stored.factor.method],
    });
    if (upgraded) {
      newToken = upgraded.token;
      await recordCompletedLogin(db, clock, session, `password,${stored.factor.method}_enrollment`, origin);
    }
  }
  // The factor is stored by its kind's own transaction; the notice follows it at once.
  await queueFactorEnrolledNotice(deps, db, { userId: session.userId, email: session.email, name: session.name }, origin, stored.factor, stored.replaced);
  await deps.delivery.queue.afterCommit();
  return { ok: true, recoveryCodes: stored.recoveryCodes, newToken };
}
