/**
 * Codes by text message as a second factor (PRODUCT.md §2.2 step 2, §2.3 SMS Message): texting the
 * code of a login, checking it, and describing the number on record.
 *
 * A login's code is bound to that login (the pending login's id) and the user, so it can finish
 * that login and no other (rule 7). The number is the confirmed factor's, read and decrypted on
 * the server: nothing in the request chooses where a text goes (rule 18).
 */
import type { RequestOrigin } from '../../audit/events.ts';
import { openSecret } from '../../crypto/encryption.ts';
import { parseSixDigitCode, type FactorDeps, type SecondFactor } from '../factor.ts';
import { smsFactorAssociatedData } from './enrollment.ts';
import { maskPhoneNumber } from './phone-number.ts';
import { consumeSMSCode, sendSMSCode, type SMSDestination, type SMSSendOutcome } from './sms-codes.ts';

export type LoginCodeTextOutcome = SMSSendOutcome | { ok: false; reason: 'not_enrolled' };

/** The user's confirmed phone, decrypted; null when the user has no SMS factor. */
export async function findSMSDestination(deps: Pick<FactorDeps, 'db' | 'keys'>, userId: string): Promise<SMSDestination | null> {
  const factor = await deps.db.selectFrom('factors').select(['id', 'secret_encrypted', 'phone_hash']).where('user_id', '=', userId).where('kind', '=', 'sms').executeTakeFirst();
  if (!factor || factor.phone_hash === null) return null;
  const e164 = new TextDecoder().decode(openSecret(deps.keys, factor.secret_encrypted, smsFactorAssociatedData(userId, factor.id)));
  return { e164, phoneHash: factor.phone_hash };
}

/** Texts the code of one pending login to the number on record. */
export async function textLoginCode(deps: FactorDeps, login: { userId: string; accountId: string; loginId: string }, origin: RequestOrigin): Promise<LoginCodeTextOutcome> {
  const destination = await findSMSDestination(deps, login.userId);
  if (!destination) return { ok: false, reason: 'not_enrolled' };
  if (!deps.delivery.sms) {
    deps.log.warn({ sms: 'unavailable', userId: login.userId }, 'a login needs a text message but no SMS provider is configured');
    return { ok: false, reason: 'unavailable' };
  }
  return sendSMSCode(deps, { purpose: 'login', subjectId: login.loginId, userId: login.userId }, destination, { accountId: login.accountId, origin });
}

export const textMessage: SecondFactor = {
  kind: 'sms',
  role: 'method',
  sentByServer: true,
  sentenceName: 'Text-message codes',
  codeShape: 'six_digits',
  codePrompt: 'Enter the six-digit code from the text message.',
  verification: {
    title: 'Verification Code',
    label: 'Verification code',
    hint: 'Six digits, from the text message. The code works for 10 minutes.',
    intro: (phoneMasked) => `We texted a six-digit code to ${phoneMasked ?? 'your phone'}. Enter it below.`,
    introUnsent: (phoneMasked) => `Your code goes by text message to ${phoneMasked ?? 'your phone'}.`,
    switchLabel: 'Send a text message instead',
    resendLabel: 'Send another text',
  },
  parseCode: parseSixDigitCode,
  verify: async (deps, owner, code, context) => {
    // A texted code counts only for the login it was sent for (rule 7); enrollment codes are
    // checked by the enrollment itself.
    if (context.loginId === null) throw new Error('A texted code is checked against the login it was sent for');
    return consumeSMSCode(deps.db, deps.clock, deps.keys, deps.config.policy, { purpose: 'login', subjectId: context.loginId, userId: owner.userId }, code);
  },
  beginLogin: textLoginCode,
  describe: async (deps, userId) => {
    const destination = await findSMSDestination(deps, userId);
    return destination ? { kind: 'sms', label: 'Text message', icon: 'text-message', detail: maskPhoneNumber(destination.e164) } : null;
  },
  remove: async (trx, userId) => {
    await trx.deleteFrom('factors').where('user_id', '=', userId).where('kind', '=', 'sms').execute();
    // Pending phones and every texted code, for enrollment or login, stop working (rule 24).
    await trx.deleteFrom('sms_codes').where('user_id', '=', userId).execute();
    await trx.deleteFrom('sms_enrollments').where('user_id', '=', userId).execute();
  },
};
