/**
 * The authenticator app's pending enrollment (the rotating QR code) and its confirmation into
 * a factor. Checking a code at login is `totp-factor.ts`.
 *
 * Secrets are encrypted with AES-256-GCM and the associated data names the user and the row,
 * so a ciphertext copied onto another user's row or another factor fails to decrypt (rule 29).
 * The pending secret stays on the server (rule 12); an active secret is never returned again.
 */
import { randomUUID } from 'node:crypto';
import type { Clock } from '../../clock.ts';
import type { Keys } from '../../crypto/keys.ts';
import { encryptSecret, openSecret } from '../../crypto/encryption.ts';
import type { RequestOrigin } from '../../audit/events.ts';
import type { Deps } from '../../deps.ts';
import type { Database } from '../../storage/schema.ts';
import { lockUser } from '../../storage/user-lock.ts';
import { recordFactorEnrolled, type StoredFactor } from '../enrollment-completion.ts';
import { buildOtpauthURI, encodeBase32, findTOTPStep, generateTOTPSecret, renderQRCodeSVG } from './totp.ts';

export function totpEnrollmentAssociatedData(userId: string, enrollmentId: string): string {
  return `totp-enrollment:${userId}:${enrollmentId}`;
}

export function totpFactorAssociatedData(userId: string, factorId: string): string {
  return `factor:totp:${userId}:${factorId}`;
}

/**
 * The pending row's one ciphertext holds the shown secret and, after a rotation, the secret it
 * replaced (issue 17): a code from the replaced secret — the QR code the person already scanned
 * — is told apart from a wrong code, so the page can say "remove the old entry, scan the new
 * one". Both stay encrypted together under the row's associated data; the replaced one is
 * never shown again and never confirms anything.
 */
const SECRET_BYTES = 20;

function sealPendingSecrets(secret: Uint8Array, replaced: Uint8Array | null): Uint8Array {
  return replaced ? Buffer.concat([secret, replaced]) : secret;
}

function splitPendingSecrets(sealed: Uint8Array): { secret: Uint8Array; replaced: Uint8Array | null } {
  if (sealed.length <= SECRET_BYTES) return { secret: sealed, replaced: null };
  return { secret: sealed.subarray(0, SECRET_BYTES), replaced: sealed.subarray(SECRET_BYTES, SECRET_BYTES * 2) };
}

/** The secret of the user's pending enrollment it is about to replace, if it was still showing within the last lifetime. */
async function replacedSecret(deps: EnrollmentDeps, userId: string, lifetimeMs: number): Promise<Uint8Array | null> {
  const previous = await deps.db.selectFrom('totp_enrollments').select(['id', 'secret_encrypted', 'expires_at']).where('user_id', '=', userId).executeTakeFirst();
  if (!previous || Number(previous.expires_at) <= deps.clock.now() - lifetimeMs) return null;
  try {
    return Uint8Array.from(splitPendingSecrets(openSecret(deps.keys, previous.secret_encrypted, totpEnrollmentAssociatedData(userId, previous.id))).secret);
  } catch {
    // An old key that is gone: there is just no earlier secret to recognise.
    return null;
  }
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
  const replaced = await replacedSecret(deps, input.userId, input.lifetimeMs);
  const secretEncrypted = encryptSecret(deps.keys.encryption, sealPendingSecrets(secret, replaced), totpEnrollmentAssociatedData(input.userId, enrollmentId));
  await deps.db
    .insertInto('totp_enrollments')
    .values({ id: enrollmentId, user_id: input.userId, secret_encrypted: secretEncrypted, created_at: now, expires_at: expiresAt })
    .onConflict((oc) => oc.column('user_id').doUpdateSet({ id: enrollmentId, secret_encrypted: secretEncrypted, created_at: now, expires_at: expiresAt }))
    .execute();
  const secretBase32 = encodeBase32(secret);
  const otpauthURI = buildOtpauthURI({ issuer: input.issuer, accountName: input.email, secretBase32 });
  return { enrollmentId, otpauthURI, secretBase32, qrSVG: await renderQRCodeSVG(otpauthURI), expiresAt };
}

/** `fromReplacedSecret`: the wrong code is right for the QR code this one replaced (the person scanned the old one). */
/**
 * The user's pending enrollment shown again — after a wrong confirm code the page keeps the QR
 * code and key in view (issue 17). Only for its own user and id, and only while it is pending;
 * the answer goes into a no-store page of the session that started it, as when it was first shown.
 */
export async function showPendingEnrollment(deps: EnrollmentDeps, input: { userId: string; email: string; issuer: string; enrollmentId: string }): Promise<StartedEnrollment | null> {
  const pending = await readPendingEnrollment(deps, input.userId, input.enrollmentId, deps.clock.now());
  if (!pending) return null;
  const secretBase32 = encodeBase32(pending.secret);
  const otpauthURI = buildOtpauthURI({ issuer: input.issuer, accountName: input.email, secretBase32 });
  return { enrollmentId: pending.id, otpauthURI, secretBase32, qrSVG: await renderQRCodeSVG(otpauthURI), expiresAt: pending.expiresAt };
}

/** This user's pending enrollment `enrollmentId` while it is pending, with its secret (and the one it replaced) opened. */
async function readPendingEnrollment(deps: EnrollmentDeps, userId: string, enrollmentId: string, now: number): Promise<(ReturnType<typeof splitPendingSecrets> & { id: string; expiresAt: number }) | null> {
  const pending = await deps.db.selectFrom('totp_enrollments').select(['id', 'secret_encrypted', 'expires_at']).where('id', '=', enrollmentId).where('user_id', '=', userId).executeTakeFirst();
  if (!pending || Number(pending.expires_at) <= now) return null;
  return { id: pending.id, expiresAt: Number(pending.expires_at), ...splitPendingSecrets(openSecret(deps.keys, pending.secret_encrypted, totpEnrollmentAssociatedData(userId, pending.id))) };
}

/** Whether the user has any pending app enrollment (confirming one deletes it; rotating replaces it). */
export async function hasPendingEnrollment(db: Database, userId: string): Promise<boolean> {
  return (await db.selectFrom('totp_enrollments').select('id').where('user_id', '=', userId).executeTakeFirst()) !== undefined;
}

export type ConfirmEnrollmentOutcome<T> =
  | { ok: true; factorId: string; replacedFactor: boolean; extra: T }
  | { ok: false; reason: 'enrollment_expired' }
  | { ok: false; reason: 'invalid_code'; fromReplacedSecret?: boolean };

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
  const pending = await readPendingEnrollment(deps, input.userId, input.enrollmentId, now);
  if (!pending) return { ok: false, reason: 'enrollment_expired' };
  const { secret, replaced } = pending;
  const step = findTOTPStep(secret, input.code, now);
  if (step === null) return { ok: false, reason: 'invalid_code', fromReplacedSecret: replaced !== null && findTOTPStep(replaced, input.code, now) !== null };

  return deps.db.transaction().execute(async (trx) => {
    // The user before any other row (storage/user-lock.ts): recordFactorEnrolled locks it anyway.
    await lockUser(trx, input.userId);
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

export type AuthenticatorAppConfirmation = StoredFactor | { ok: false; reason: 'enrollment_expired' } | { ok: false; reason: 'invalid_code'; fromReplacedSecret?: boolean };

/**
 * Turning the authenticator app on (PRODUCT.md §2.3 Mobile App, §3 POST /me/2fa/totp/confirm):
 * the factor, a fresh set of recovery codes and the security-log entry in one transaction; the
 * login's enrollment step finishes it (`completeEnrollment`).
 */
export async function confirmAuthenticatorApp(
  deps: EnrollmentDeps & Pick<Deps, 'delivery'>,
  session: { userId: string; accountId: string; tokenHash: string },
  input: { enrollmentId: string; code: string },
  origin: RequestOrigin,
): Promise<AuthenticatorAppConfirmation> {
  const confirmed = await confirmTOTPEnrollment(deps, { userId: session.userId, enrollmentId: input.enrollmentId, code: input.code }, (trx, replaced) =>
    recordFactorEnrolled(trx, deps, session, { method: 'totp', replaced }, origin),
  );
  if (!confirmed.ok) return confirmed;
  return { ok: true, factor: { method: 'totp' }, replaced: confirmed.replacedFactor, recoveryCodes: confirmed.extra };
}
