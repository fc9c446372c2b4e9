/**
 * Re-keying after ENCRYPTION_KEY changes (`twofold rotate-key`): every secret at rest is
 * decrypted under whichever configured key opens it and encrypted again under the current key,
 * and the phone-number lookup hashes are recomputed from the decrypted numbers — so once it has
 * run, the previous key is needed only for recovery codes issued before the rotation (their
 * HMAC cannot be recomputed without the codes themselves).
 *
 * Each row is rewritten by a conditional update on its old ciphertext: a row that the running
 * servers changed meanwhile (a new enrollment, a removed factor) is left as they wrote it,
 * already under the current key. Running the command twice is harmless.
 */
import type { Database } from '../storage/schema.ts';
import { totpEnrollmentAssociatedData, totpFactorAssociatedData } from './totp/pending-enrollment.ts';
import { smsEnrollmentAssociatedData, smsFactorAssociatedData } from './sms/enrollment.ts';
import { hashPhoneNumber } from './sms/phone-number.ts';
import { encryptSecret, openSecret } from '../crypto/encryption.ts';
import type { Keys } from '../crypto/keys.ts';

export interface RotationReport {
  factors: number;
  totpEnrollments: number;
  smsEnrollments: number;
}

export async function reencryptSecrets(db: Database, keys: Keys): Promise<RotationReport> {
  const report: RotationReport = { factors: 0, totpEnrollments: 0, smsEnrollments: 0 };

  // Only the kinds that hold a secret: a security key's row is a marker (its public keys are not secret).
  const factors = await db.selectFrom('factors').select(['id', 'user_id', 'kind', 'secret_encrypted']).where('kind', 'in', ['totp', 'sms']).execute();
  for (const factor of factors) {
    const associatedData = factor.kind === 'totp' ? totpFactorAssociatedData(factor.user_id, factor.id) : smsFactorAssociatedData(factor.user_id, factor.id);
    const plaintext = openSecret(keys, factor.secret_encrypted, associatedData);
    const phoneHash = factor.kind === 'sms' ? hashPhoneNumber(keys, new TextDecoder().decode(plaintext)) : null;
    const updated = await db
      .updateTable('factors')
      .set({ secret_encrypted: encryptSecret(keys.encryption, plaintext, associatedData), ...(phoneHash ? { phone_hash: phoneHash } : {}) })
      .where('id', '=', factor.id)
      .where('secret_encrypted', '=', factor.secret_encrypted)
      .executeTakeFirst();
    report.factors += Number(updated.numUpdatedRows);
  }

  const totpEnrollments = await db.selectFrom('totp_enrollments').select(['id', 'user_id', 'secret_encrypted']).execute();
  for (const enrollment of totpEnrollments) {
    const associatedData = totpEnrollmentAssociatedData(enrollment.user_id, enrollment.id);
    const secret = openSecret(keys, enrollment.secret_encrypted, associatedData);
    const updated = await db
      .updateTable('totp_enrollments')
      .set({ secret_encrypted: encryptSecret(keys.encryption, secret, associatedData) })
      .where('id', '=', enrollment.id)
      .where('secret_encrypted', '=', enrollment.secret_encrypted)
      .executeTakeFirst();
    report.totpEnrollments += Number(updated.numUpdatedRows);
  }

  const smsEnrollments = await db.selectFrom('sms_enrollments').select(['id', 'user_id', 'phone_encrypted']).execute();
  for (const enrollment of smsEnrollments) {
    const associatedData = smsEnrollmentAssociatedData(enrollment.user_id, enrollment.id);
    const phone = openSecret(keys, enrollment.phone_encrypted, associatedData);
    const updated = await db
      .updateTable('sms_enrollments')
      .set({ phone_encrypted: encryptSecret(keys.encryption, phone, associatedData), phone_hash: hashPhoneNumber(keys, new TextDecoder().decode(phone)) })
      .where('id', '=', enrollment.id)
      .where('phone_encrypted', '=', enrollment.phone_encrypted)
      .executeTakeFirst();
    report.smsEnrollments += Number(updated.numUpdatedRows);
  }
  return report;
}
