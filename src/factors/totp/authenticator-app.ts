/**
 * The authenticator-app factor at rest: the pending enrollment (the rotating QR code), its
 * confirmation, and checking a login code with the replay guard.
 *
 * Secrets are encrypted with AES-256-GCM and the associated data names the user and the row,
 * so a ciphertext copied onto another user's row or another factor fails to decrypt (rule 29).
 * The pending secret stays on the server (rule 12); an active secret is never returned again.
 */
import { randomUUID } from 'node:crypto';
import type { Clock } from '../../clock.ts';
import type { Keys } from '../../crypto/keys.ts';
import { encryptSecret, openSecret } from '../../crypto/encryption.ts';
import type { Database } from '../../storage/schema.ts';
import { buildOtpauthURI, encodeBase32, findTOTPStep, generateTOTPSecret, renderQRCodeSVG } from './totp.ts';

export function totpEnrollmentAssociatedData(userId: string, enrollmentId: string): string {
  return `totp-enrollment:${userId}:${enrollmentId}`;
}

export function totpFactorAssociatedData(userId: string, factorId: string): string {
  return `factor:totp:${userId}:${factorId}`;
}

export interface StartedEnrollment {
  enrollmentId: string;
  otpauthURI: string;
  secretBase32: string;
  qrSVG: string;
  expiresAt: number;
}

interface EnrollmentDeps {
  db: Database;
  clock: Clock;
  keys: Keys;
}

/**
 * Starts (or rotates) the user's pending enrollment. The one pending row per user is
 * overwritten under a new id, which voids the previous QR code in the same write (rule 13).
 * A confirmed factor is untouched until a replacement is confirmed.
 */
export async function startTOTPEnrollment(deps: EnrollmentDeps, input: { userId: string; email: string; issuer: string; lifetimeMs: number }): Promise<StartedEnrollment> {
  const secret = generateTOTPSecret();
  const enrollmentId = randomUUID();
  const now = deps.clock.now();
  const expiresAt = now + input.lifetimeMs;
  const secretEncrypted = encryptSecret(deps.keys.encryption, secret, totpEnrollmentAssociatedData(input.userId, enrollmentId));
  await deps.db
    .insertInto('totp_enrollments')
    .values({ id: enrollmentId, user_id: input.userId, secret_encrypted: secretEncrypted, created_at: now, expires_at: expiresAt })
    .onConflict((oc) => oc.column('user_id').doUpdateSet({ id: enrollmentId, secret_encrypted: secretEncrypted, created_at: now, expires_at: expiresAt }))
    .execute();
  const secretBase32 = encodeBase32(secret);
  const otpauthURI = buildOtpauthURI({ issuer: input.issuer, accountName: input.email, secretBase32 });
  return { enrollmentId, otpauthURI, secretBase32, qrSVG: await renderQRCodeSVG(otpauthURI), expiresAt };
}

export type ConfirmEnrollmentOutcome<T> = { ok: true; factorId: string; replacedFactor: boolean; extra: T } | { ok: false; reason: 'enrollment_expired' | 'invalid_code' };

/**
 * Confirms a pending enrollment with a code from it. The pending row is taken by one
 * conditional delete (id, user, not expired): of two concurrent confirmations one wins and the
 * other reads "expired". The new factor records the confirming code's step as used, so that
 * code cannot also log in within its step (rule 5). Replacing the old factor, storing the new
 * one and `afterConfirm` (recovery codes, security log) happen in one transaction.
 */
export async function confirmTOTPEnrollment<T>(
  deps: EnrollmentDeps,
  input: { userId: string; enrollmentId: string; code: string },
  afterConfirm: (trx: Database, replacedFactor: boolean) => Promise<T>,
): Promise<ConfirmEnrollmentOutcome<T>> {
  const now = deps.clock.now();
  const pending = await deps.db
    .selectFrom('totp_enrollments')
    .select(['id', 'secret_encrypted', 'expires_at'])
    .where('id', '=', input.enrollmentId)
    .where('user_id', '=', input.userId)
    .executeTakeFirst();
  if (!pending || Number(pending.expires_at) <= now) return { ok: false, reason: 'enrollment_expired' };
  const secret = openSecret(deps.keys, pending.secret_encrypted, totpEnrollmentAssociatedData(input.userId, pending.id));
  const step = findTOTPStep(secret, input.code, now);
  if (step === null) return { ok: false, reason: 'invalid_code' };

  return deps.db.transaction().execute(async (trx) => {
    const taken = await trx
      .deleteFrom('totp_enrollments')
      .where('id', '=', input.enrollmentId)
      .where('user_id', '=', input.userId)
      .where('expires_at', '>', now)
      .returning('id')
      .executeTakeFirst();
    if (!taken) return { ok: false, reason: 'enrollment_expired' } as const;
    const replaced = await trx.deleteFrom('factors').where('user_id', '=', input.userId).where('kind', '=', 'totp').returning('id').execute();
    const factorId = randomUUID();
    await trx
      .insertInto('factors')
      .values({
        id: factorId,
        user_id: input.userId,
        kind: 'totp',
        secret_encrypted: encryptSecret(deps.keys.encryption, secret, totpFactorAssociatedData(input.userId, factorId)),
        last_used_step: step,
        created_at: now,
        confirmed_at: now,
      })
      .execute();
    const extra = await afterConfirm(trx, replaced.length > 0);
    return { ok: true, factorId, replacedFactor: replaced.length > 0, extra } as const;
  });
}

/**
 * Checks a login (or re-authentication) code against the user's confirmed app factor and
 * burns its time step. The step is recorded by one conditional update — accepted only if it
 * is later than every step accepted before — so of concurrent requests with one code exactly
 * one succeeds, on either database and across instances (rules 5 and 6). Never read-then-write.
 */
export async function verifyTOTPCode(deps: EnrollmentDeps, userId: string, code: string): Promise<boolean> {
  const factor = await deps.db.selectFrom('factors').select(['id', 'secret_encrypted', 'last_used_step']).where('user_id', '=', userId).where('kind', '=', 'totp').executeTakeFirst();
  if (!factor) return false;
  const secret = openSecret(deps.keys, factor.secret_encrypted, totpFactorAssociatedData(userId, factor.id));
  const step = findTOTPStep(secret, code, deps.clock.now());
  if (step === null) return false;
  const burned = await deps.db
    .updateTable('factors')
    .set({ last_used_step: step })
    .where('id', '=', factor.id)
    .where((eb) => eb.or([eb('last_used_step', 'is', null), eb('last_used_step', '<', step)]))
    .returning('id')
    .executeTakeFirst();
  return burned !== undefined;
}
