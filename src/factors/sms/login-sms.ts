/**
 * Texting the code of a login (PRODUCT.md §2.2 step 2, §3 POST /login/sms): for a user whose
 * only factor is SMS as soon as the password step succeeds, and on request (a user with both
 * methods switching, or anyone asking again after the cooldown).
 *
 * The code is bound to the login challenge — the pending login's own record — and the user, so
 * it can finish that login and no other (rule 7). The number is the confirmed factor's, read
 * and decrypted on the server: nothing in the request chooses where a text goes (rule 18).
 */
import type { RequestOrigin } from '../../audit/events.ts';
import { openLoginChallenge, type ChallengePolicy, type ChallengeSession } from '../../challenges/login-challenge.ts';
import { openSecret } from '../../crypto/encryption.ts';
import type { Database } from '../../storage/schema.ts';
import { smsFactorAssociatedData } from './enrollment.ts';
import { maskPhoneNumber } from './phone-number.ts';
import { sendSMSCode, type SMSDeps, type SMSDestination, type SMSSendOutcome } from './sms-codes.ts';

export type LoginSMSOutcome = SMSSendOutcome | { ok: false; reason: 'not_enrolled' | 'challenge_ended' };

/** The user's confirmed phone, decrypted; null when the user has no SMS factor. */
export async function findSMSDestination(deps: Pick<SMSDeps, 'db' | 'keys'>, userId: string): Promise<SMSDestination | null> {
  const factor = await deps.db.selectFrom('factors').select(['id', 'secret_encrypted', 'phone_hash']).where('user_id', '=', userId).where('kind', '=', 'sms').executeTakeFirst();
  if (!factor || factor.phone_hash === null) return null;
  const e164 = new TextDecoder().decode(openSecret(deps.keys, factor.secret_encrypted, smsFactorAssociatedData(userId, factor.id)));
  return { e164, phoneHash: factor.phone_hash };
}

/** The masked number of the user's SMS factor ("+1 •••• ••• 4567"), for pages and answers. */
export async function describeSMSFactor(deps: Pick<SMSDeps, 'db' | 'keys'>, userId: string): Promise<{ phoneMasked: string } | null> {
  const destination = await findSMSDestination(deps, userId);
  return destination ? { phoneMasked: maskPhoneNumber(destination.e164) } : null;
}

export async function hasSMSFactor(db: Database, userId: string): Promise<boolean> {
  const row = await db.selectFrom('factors').select('id').where('user_id', '=', userId).where('kind', '=', 'sms').executeTakeFirst();
  return row !== undefined;
}

/** The challenge id of a login that can still be finished, creating the record on first use. */
async function openChallengeId(deps: SMSDeps, policy: ChallengePolicy, session: ChallengeSession): Promise<string | null> {
  await openLoginChallenge(deps.db, policy, session);
  const row = await deps.db
    .selectFrom('login_challenges')
    .select('id')
    .where('session_token_hash', '=', session.tokenHash)
    .where('user_id', '=', session.userId)
    .where('consumed_at', 'is', null)
    .where('expires_at', '>', deps.clock.now())
    .executeTakeFirst();
  return row?.id ?? null;
}

export async function sendLoginSMS(deps: SMSDeps, session: ChallengeSession & { accountId: string }, origin: RequestOrigin): Promise<LoginSMSOutcome> {
  const destination = await findSMSDestination(deps, session.userId);
  if (!destination) return { ok: false, reason: 'not_enrolled' };
  if (!deps.delivery.sms) {
    deps.log.warn({ sms: 'unavailable', userId: session.userId }, 'a login needs a text message but no SMS provider is configured');
    return { ok: false, reason: 'unavailable' };
  }
  const challengeId = await openChallengeId(deps, deps.config.policy, session);
  if (!challengeId) return { ok: false, reason: 'challenge_ended' };
  return sendSMSCode(deps, { purpose: 'login', subjectId: challengeId, userId: session.userId }, destination, { accountId: session.accountId, origin });
}
