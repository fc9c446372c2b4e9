/**
 * Beginning the second step (PRODUCT.md §2.2 step 2, §3 POST /login/sms): the login's text
 * message goes out for a user whose only method needs it as soon as the password step succeeds,
 * and on request (a user with both methods switching, or anyone asking again after the cooldown).
 * The text is bound to the pending login (pending-login.ts), so it can finish this login only.
 */
import type { RequestOrigin } from '../audit/events.ts';
import type { BeginOutcome, FactorDeps } from '../factors/factor.ts';
import { findSecondFactor } from '../factors/registry.ts';
import { textLoginCode, textMessage, type LoginCodeTextOutcome } from '../factors/sms/sms-factor.ts';
import { openPendingLoginId, type ChallengeSession } from './pending-login.ts';

/** The kind whose code `sendLoginText` texts. */
export const LOGIN_TEXT_KIND: string = textMessage.kind;

export type LoginTextOutcome = LoginCodeTextOutcome | { ok: false; reason: 'challenge_ended' };

type PendingLogin = ChallengeSession & { accountId: string };

/** "Send a text message instead" / "Send another text". */
export async function sendLoginText(deps: FactorDeps, login: PendingLogin, origin: RequestOrigin): Promise<LoginTextOutcome> {
  const loginId = await openPendingLoginId(deps.db, deps.clock, deps.config.policy, login);
  if (!loginId) return { ok: false, reason: 'challenge_ended' };
  return textLoginCode(deps, { userId: login.userId, accountId: login.accountId, loginId }, origin);
}

/**
 * At the password step: when the user's only method needs beginning (a text), there is nothing
 * else to enter, so it begins now. Null when nothing needed beginning. Whatever becomes of it,
 * the password step answers the same; the user can ask again or use a recovery code.
 */
export async function beginOnlyMethod(deps: FactorDeps, login: PendingLogin, methods: readonly string[], origin: RequestOrigin): Promise<BeginOutcome | null> {
  const only = methods.length === 1 ? findSecondFactor(methods[0]!) : null;
  if (!only?.beginLogin) return null;
  const loginId = await openPendingLoginId(deps.db, deps.clock, deps.config.policy, login);
  if (!loginId) return { ok: false, reason: 'challenge_ended' };
  return only.beginLogin(deps, { userId: login.userId, accountId: login.accountId, loginId }, origin);
}
