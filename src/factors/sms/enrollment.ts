/**
 * Turning on codes by text message (PRODUCT.md §2.3 SMS Message, §3 POST /me/2fa/sms and
 * /me/2fa/sms/confirm; SECURITY.md rules 12, 13, 15, 17, 18, 29).
 *
 * Starting stores the number (encrypted, with its keyed hash) as the user's one pending phone
 * and texts a code to it. Asking again for the same number — in any formatting — is a resend:
 * same enrollment, the cooldown applies, the tries so far stay. A different number, or one
 * whose code was used up, starts a new enrollment under a new id, which voids the old code.
 * Confirming takes the code once (one conditional write), then stores the factor, replacing a
 * previous phone, and completes the enrollment exactly as the authenticator app does.
 */
import { randomUUID } from 'node:crypto';
import type { RequestOrigin } from '../../audit/events.ts';
import { encryptSecret, openSecret } from '../../crypto/encryption.ts';
import { lockUser } from '../../storage/user-lock.ts';
import { recordFactorEnrolled, type StoredFactor } from '../enrollment-completion.ts';
import { hashPhoneNumber, maskPhoneNumber, parsePhoneNumberInput } from './phone-number.ts';
import { readSMSCodeState, refuseDisallowedCountry, sendSMSCode, consumeSMSCode, type SMSDeps, type SMSSendOutcome } from './sms-codes.ts';

export function smsEnrollmentAssociatedData(userId: string, enrollmentId: string): string {
  return `sms-enrollment:${userId}:${enrollmentId}`;
}

/** Associated data of a confirmed SMS factor's phone number: bound to its user and factor row. */
export function smsFactorAssociatedData(userId: string, factorId: string): string {
  return `factor:sms:${userId}:${factorId}`;
}

export type StartSMSEnrollmentOutcome = SMSSendOutcome | { ok: false; reason: 'invalid_phone'; problem: string };

/** The session enrolling; its token hash is the one session the enrollment keeps signed in. */
type EnrollingSession = { userId: string; accountId: string; tokenHash: string };

export async function startSMSEnrollment(deps: SMSDeps, session: EnrollingSession, phoneInput: string, origin: RequestOrigin): Promise<StartSMSEnrollmentOutcome> {
  if (!deps.delivery.sms) return { ok: false, reason: 'unavailable' };
  const parsed = parsePhoneNumberInput(phoneInput);
  if (!parsed.ok) return { ok: false, reason: 'invalid_phone', problem: parsed.problem };
  const { db, keys } = deps;
  const destination = { e164: parsed.phone.e164, phoneHash: hashPhoneNumber(keys, parsed.phone.e164) };
  const requester = { accountId: session.accountId, origin };

  const pending = await db.selectFrom('sms_enrollments').select(['id', 'phone_hash']).where('user_id', '=', session.userId).executeTakeFirst();
  let enrollmentId: string | null = null;
  if (pending && pending.phone_hash === destination.phoneHash) {
    const code = await readSMSCodeState(db, { purpose: 'enrollment', subjectId: pending.id });
    if (!code || (!code.consumed && code.attempts < deps.config.policy.smsCodeAttempts)) enrollmentId = pending.id;
  }
  if (enrollmentId === null) {
    // Nothing is written for a number that may not be texted at all.
    const disallowed = await refuseDisallowedCountry(deps, { purpose: 'enrollment', subjectId: pending?.id ?? '', userId: session.userId }, requester, destination);
    if (disallowed) return disallowed;
    enrollmentId = await storeSMSEnrollment(deps, session.userId, destination, pending?.id ?? null);
  }
  return sendSMSCode(deps, { purpose: 'enrollment', subjectId: enrollmentId, userId: session.userId }, destination, requester);
}

/**
 * Stores `destination` as the user's pending number under a new enrollment id, replacing
 * `expectedId` (the enrollment the caller read, or null), and answers the enrollment to text.
 * The replacement is a compare-and-swap on that id: of concurrent starts for one number, one
 * creates the enrollment and the others join it, so they cannot each text a code under an
 * enrollment of their own past the resend cooldown (rule 18).
 */
async function storeSMSEnrollment(deps: SMSDeps, userId: string, destination: { e164: string; phoneHash: string }, expectedId: string | null): Promise<string> {
  const { db, clock, keys } = deps;
  const id = randomUUID();
  const phoneEncrypted = encryptSecret(keys.encryption, new TextEncoder().encode(destination.e164), smsEnrollmentAssociatedData(userId, id));
  const row = { id, phone_encrypted: phoneEncrypted, phone_hash: destination.phoneHash, created_at: clock.now() };
  const swapped = await db
    .insertInto('sms_enrollments')
    .values({ ...row, user_id: userId })
    .onConflict((oc) => oc.column('user_id').doUpdateSet(row).where('sms_enrollments.id', '=', expectedId ?? ''))
    .returning('id')
    .executeTakeFirst();
  if (!swapped) {
    const current = await db.selectFrom('sms_enrollments').select(['id', 'phone_hash']).where('user_id', '=', userId).executeTakeFirst();
    // The same number, started a moment ago: join it; sendSMSCode's conditional claim lets one request text it.
    if (current && current.phone_hash === destination.phoneHash) return current.id;
    // Another number: the newest request replaces it, as when they come one after another.
    await db.insertInto('sms_enrollments').values({ ...row, user_id: userId }).onConflict((oc) => oc.column('user_id').doUpdateSet(row)).execute();
  }
  // The previous number's code names an enrollment that no longer exists; drop it (rule 13).
  await db.deleteFrom('sms_codes').where('user_id', '=', userId).where('purpose', '=', 'enrollment').where('subject_id', '!=', id).execute();
  return id;
}

export type SMSConfirmation = StoredFactor | { ok: false; reason: 'invalid_code' };

/**
 * Confirms the pending phone with its texted code and stores it as the user's SMS factor; the
 * login's enrollment step finishes it (`completeEnrollment`). Wrong, expired, used-up, replaced
 * and missing codes all answer `invalid_code` (rule 32). The code is taken inside the
 * transaction that stores the factor, so of concurrent confirmations exactly one stores it (rule 6).
 */
export async function confirmSMSEnrollment(deps: SMSDeps, session: EnrollingSession, code: string, origin: RequestOrigin): Promise<SMSConfirmation> {
  const { db, clock, keys, config } = deps;
  const pending = await db.selectFrom('sms_enrollments').select(['id', 'phone_encrypted', 'phone_hash']).where('user_id', '=', session.userId).executeTakeFirst();
  if (!pending) return { ok: false, reason: 'invalid_code' };
  const subject = { purpose: 'enrollment' as const, subjectId: pending.id, userId: session.userId };

  const stored = await db.transaction().execute(async (trx) => {
    // The user before any other row (storage/user-lock.ts): recordFactorEnrolled locks it anyway.
    await lockUser(trx, session.userId);
    if (!(await consumeSMSCode(trx, clock, keys, config.policy, subject, code))) return null;
    const taken = await trx.deleteFrom('sms_enrollments').where('id', '=', pending.id).where('user_id', '=', session.userId).returning('id').executeTakeFirst();
    if (!taken) return null;
    const e164 = new TextDecoder().decode(openSecret(keys, pending.phone_encrypted, smsEnrollmentAssociatedData(session.userId, pending.id)));
    const replaced = await trx.deleteFrom('factors').where('user_id', '=', session.userId).where('kind', '=', 'sms').returning('id').execute();
    const factorId = randomUUID();
    const now = clock.now();
    await trx
      .insertInto('factors')
      .values({
        id: factorId,
        user_id: session.userId,
        kind: 'sms',
        secret_encrypted: encryptSecret(keys.encryption, new TextEncoder().encode(e164), smsFactorAssociatedData(session.userId, factorId)),
        phone_hash: pending.phone_hash,
        last_used_step: null,
        created_at: now,
        confirmed_at: now,
      })
      .execute();
    const recoveryCodes = await recordFactorEnrolled(trx, deps, session, { method: 'sms', replaced: replaced.length > 0 }, origin);
    return { e164, replaced: replaced.length > 0, recoveryCodes };
  });
  if (!stored) return { ok: false, reason: 'invalid_code' };
  return { ok: true, factor: { method: 'sms', phoneMasked: maskPhoneNumber(stored.e164) }, replaced: stored.replaced, recoveryCodes: stored.recoveryCodes };
}
