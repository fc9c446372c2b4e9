/**
 * The second step of a login (PRODUCT.md §2.2 step 2, §3 POST /login/verify): a
 * half-authenticated session presents a code and, if it is right, becomes a complete session
 * under a NEW token (rule 9).
 *
 * Order matters and each step is one conditional write: charge the challenge (5 per login),
 * charge the user's budget (10 per 15 minutes, shared with every other code entry point),
 * check the code (burning its time step or recovery code), burn the challenge, swap the
 * session. The challenge is burned atomically before the session is upgraded, so two
 * concurrent right codes cannot each mint a session.
 */
import type { RequestOrigin } from '../audit/events.ts';
import type { Deps } from '../deps.ts';
import { checkSecondFactorCode } from '../factors/code-check.ts';
import { findSecondFactor } from '../factors/registry.ts';
import { revokeSession, upgradeSession, type SessionContext } from '../sessions/sessions.ts';
import { recordCompletedLogin } from './completed-login.ts';
import { LOGIN_STATES } from './flow.ts';
import { grantTrustedBrowser } from '../trusted-browsers/trusted-browsers.ts';
import { chargeLoginChallenge, consumeLoginChallenge, recordWrongAnswer, refundLoginChallenge } from './pending-login.ts';

export type SecondStepOutcome =
  /** `trustedBrowser`: the secret for the trusted-browser cookie, when trust was asked for and granted. */
  | { ok: true; token: string; trustedBrowser: { secret: string; expiresAt: number } | null }
  | { ok: false; reason: 'locked'; retryAfterSeconds: number }
  /** The challenge is over (expired, spent or finished elsewhere); the session is gone. */
  | { ok: false; reason: 'challenge_ended' }
  /** A code the server sends (a text) for a user who does not have that factor: nothing was charged. */
  | { ok: false; reason: 'method_unavailable' }
  /** A method the account's policy does not allow (rule 37): refused before anything is charged. */
  | { ok: false; reason: 'method_disallowed' }
  /**
   * `loginEnded`: this was the login's last allowed wrong code; its session is gone.
   * `attemptsLeft`: codes this login may still try before it ends or the user's budget locks —
   * the smaller of the two, so the page never promises more tries than the user has.
   */
  | { ok: false; reason: 'malformed' | 'invalid_code'; loginEnded: boolean; attemptsLeft: number };

/** `method`: a kind from the factor registry. */
export interface SecondStepInput {
  method: string;
  code: unknown;
  /** "Trust this browser": granted only after a method (not a recovery code), and only if the code is right. */
  trustBrowser?: boolean;
}

type StepDeps = Pick<Deps, 'db' | 'clock' | 'config' | 'keys' | 'delivery' | 'log' | 'limits' | 'metrics'>;

/**
 * The whole step is one transaction. Its nine or so writes then cost one commit instead of nine
 * (the commit, not the statement, is what costs — bench/NOTES.md), and a crash leaves the step
 * done or undone, never a burned challenge beside an un-upgraded session. Concurrent steps still
 * meet at the rows they write first — this login's challenge, then the user's code budget — so
 * they run one after another exactly where the rules need them to, on every database and instance.
 * Nothing inside waits for anything but the database (e-mails go out in the background).
 */
export async function performSecondFactorStep(deps: StepDeps, session: SessionContext, input: SecondStepInput, origin: RequestOrigin): Promise<SecondStepOutcome> {
  return deps.db.transaction().execute((trx) => secondFactorStepIn({ ...deps, db: trx }, session, input, origin));
}

async function secondFactorStepIn(deps: StepDeps, session: SessionContext, input: SecondStepInput, origin: RequestOrigin): Promise<SecondStepOutcome> {
  const { db, clock, config } = deps;
  const factor = findSecondFactor(input.method);
  if (!factor) throw new Error(`unknown second factor kind ${input.method}`);
  // Rule 37: only the methods the account allows finish a login (security keys only when a
  // phishing-resistant method is required); recovery codes, the fallback, always may.
  if (factor.role === 'method' && !session.allowedMethods.includes(factor.kind)) return { ok: false, reason: 'method_disallowed' };
  // A user without text messages has no texted code to guess: refused before anything is charged.
  if (factor.sentByServer && !session.methods.includes(factor.kind)) return { ok: false, reason: 'method_unavailable' };

  const challenge = await chargeLoginChallenge(db, clock, config.policy, { tokenHash: session.tokenHash, userId: session.userId, createdAt: session.createdAt });
  if (!challenge.ok) {
    if (challenge.reason === 'busy') return { ok: false, reason: 'locked', retryAfterSeconds: 1 };
    // A completed login's session is being (or was) swapped for a new token by the winner;
    // only a login that is over ends its session here.
    if (challenge.reason === 'over') await revokeSession(db, session.tokenHash);
    deps.metrics.secondFactor(input.method, 'expired');
    return { ok: false, reason: 'challenge_ended' };
  }
  const owner = { userId: session.userId, accountId: session.accountId, email: session.email, name: session.name };
  // The pending login's id: a texted code counts only for the login it was sent for (rule 7).
  const checked = await checkSecondFactorCode(deps, owner, { method: factor.kind, code: input.code, stage: 'login', loginId: challenge.challengeId }, origin);
  if (!checked.ok) {
    if (checked.reason === 'locked') {
      // Refused unevaluated: it does not use up one of this login's five attempts.
      await refundLoginChallenge(db, challenge.challengeId);
      return checked;
    }
    // Five wrong codes end the login: a new password step is needed (PRODUCT.md §4).
    const wrong = await recordWrongAnswer(db, clock, config.policy, challenge.challengeId);
    if (wrong.ended) {
      await revokeSession(db, session.tokenHash);
      deps.metrics.lockout('login_challenge');
    }
    const attemptsLeft = Math.max(0, Math.min(config.policy.wrongCodesPerChallenge - wrong.wrongAnswers, config.policy.wrongCodesPerUser - checked.wrongCodes));
    return { ok: false, reason: checked.reason, loginEnded: wrong.ended, attemptsLeft };
  }

  if (!(await consumeLoginChallenge(db, clock, challenge.challengeId))) return { ok: false, reason: 'challenge_ended' };
  const authMethods = [...session.authMethods, factor.kind];
  const upgraded = await upgradeSession(db, clock, session.tokenHash, { from: LOGIN_STATES.passwordOnly, to: LOGIN_STATES.complete, authMethods });
  if (!upgraded) return { ok: false, reason: 'challenge_ended' };
  await recordCompletedLogin(db, clock, session, authMethods.join(','), origin);
  // A recovery code is the way back for a lost device, not a factor to bind trust to: trusting a
  // browser after one would let a single stolen printed code skip the code for weeks.
  const trustedBrowser = input.trustBrowser && factor.role === 'method' ? await grantTrustedBrowser(db, clock, { userId: session.userId, accountId: session.accountId }, factor.kind, origin) : null;
  return { ok: true, token: upgraded.token, trustedBrowser };
}
