/**
 * WebAuthn challenges as server-side rows (SECURITY.md rules 6 and 35): random, 5 minutes, bound
 * to one user and one purpose (and at login to one pending login), and consumed by one
 * conditional write — so of two requests carrying the same response exactly one gets past here,
 * on either database and across instances. Asking again replaces the user's open challenge of
 * that purpose, so an older one names nothing.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import type { Clock } from '../../clock.ts';
import { hashToken } from '../../crypto/tokens.ts';
import type { Database, WebAuthnPurpose } from '../../storage/schema.ts';

export const CHALLENGE_LIFETIME_MS = 5 * 60_000;

export interface ChallengeBinding {
  userId: string;
  purpose: WebAuthnPurpose;
  /** At login: the pending login's id. */
  subjectId: string | null;
}

/** A fresh 256-bit challenge for the browser, stored only as a hash of its base64url form. */
export async function issueChallenge(db: Database, clock: Clock, binding: ChallengeBinding): Promise<Uint8Array<ArrayBuffer>> {
  const bytes = new Uint8Array(new ArrayBuffer(32));
  bytes.set(randomBytes(32));
  const challenge = Buffer.from(bytes).toString('base64url');
  const now = clock.now();
  const row = { id: randomUUID(), subject_id: binding.subjectId, challenge_hash: hashToken(challenge), created_at: now, expires_at: now + CHALLENGE_LIFETIME_MS, consumed_at: null };
  await db
    .insertInto('webauthn_challenges')
    .values({ ...row, user_id: binding.userId, purpose: binding.purpose })
    .onConflict((oc) => oc.columns(['user_id', 'purpose']).doUpdateSet(row))
    .execute();
  return bytes;
}

/**
 * Consumes the challenge a response claims to answer: true for exactly one caller, and only
 * when it is this user's open challenge for this purpose (and login), not expired.
 */
export async function consumeChallenge(db: Database, clock: Clock, binding: ChallengeBinding, challenge: string): Promise<boolean> {
  const now = clock.now();
  let update = db
    .updateTable('webauthn_challenges')
    .set({ consumed_at: now })
    .where('user_id', '=', binding.userId)
    .where('purpose', '=', binding.purpose)
    .where('challenge_hash', '=', hashToken(challenge))
    .where('consumed_at', 'is', null)
    .where('expires_at', '>', now);
  update = binding.subjectId === null ? update.where('subject_id', 'is', null) : update.where('subject_id', '=', binding.subjectId);
  return (await update.returning('id').executeTakeFirst()) !== undefined;
}
