/**
 * Checking the password of a user who is already identified — re-authentication (PRODUCT.md
 * §4, SECURITY.md rule 28), turning 2FA off, using a disable link. None of these prompts may
 * become a way to guess the password: every attempt is charged to the same per-email
 * counter as the login's password step — before the password is checked, so a concurrent burst
 * cannot test more passwords than the limit — and a lock set by failed logins holds here too.
 *
 * Only the email counter is charged, not the per-IP one: the session already names the one
 * user being guessed at, and the IP limit exists against spraying many emails, which a session
 * cannot do.
 */
import type { RequestOrigin } from '../audit/events.ts';
import { recordSecurityEvent } from '../audit/events.ts';
import { hmacHex } from '../crypto/tokens.ts';
import type { Deps } from '../deps.ts';
import { chargeWithinLimit, clearCounter, undoHit } from '../limits/counters.ts';
import { findUserById, normalizeEmail } from '../users/users.ts';

/** The failed-password counter of an email, shared by the login's password step and every password prompt. */
export function failedPasswordEmailKey(deps: Pick<Deps, 'keys'>, email: string): string {
  return `pw-email:${hmacHex(deps.keys.hashing, normalizeEmail(email))}`;
}

export function failedPasswordIPKey(deps: Pick<Deps, 'keys'>, ip: string): string {
  return `pw-ip:${hmacHex(deps.keys.hashing, ip)}`;
}

export type PasswordCheckOutcome =
  | { ok: true }
  | { ok: false; reason: 'invalid_credentials' }
  | { ok: false; reason: 'locked'; retryAfterSeconds: number }
  | { ok: false; reason: 'busy' };

type PasswordCheckDeps = Pick<Deps, 'db' | 'clock' | 'config' | 'keys' | 'hasher'>;

export interface PasswordOwner {
  userId: string;
  email: string;
  accountId: string;
}

/** Why the password was asked for, recorded with a failure. */
export type PasswordStage = 'reauthenticate' | 'disable_2fa' | 'disable_link' | 'change_password';

export async function checkUserPassword(deps: PasswordCheckDeps, owner: PasswordOwner, password: string, origin: RequestOrigin, stage: PasswordStage): Promise<PasswordCheckOutcome> {
  const { db, clock, config } = deps;
  const policy = config.policy;
  const emailKey = failedPasswordEmailKey(deps, owner.email);
  // A refused attempt was never evaluated, so it does not extend the lock (as in the login).
  const charged = await chargeWithinLimit(db, clock, emailKey, policy.failedPasswordWindowMs, policy.failedPasswordsPerEmail);
  if (!charged.ok) return { ok: false, reason: 'locked', retryAfterSeconds: charged.retryAfterSeconds };

  const user = await findUserById(db, owner.userId);
  const storedHash = user?.active === 1 ? user.password_hash : null;
  // A user without a password never verifies; the dummy keeps the cost the same either way.
  const verified = storedHash ? await deps.hasher.verifyPassword(storedHash, password) : await deps.hasher.verifyAgainstDummy(password);
  if (!verified.ok) {
    await undoHit(db, emailKey);
    return { ok: false, reason: 'busy' };
  }
  if (!storedHash || !verified.value) {
    await recordSecurityEvent(db, clock, {
      type: 'login_failed',
      accountId: owner.accountId,
      actor: { kind: 'user', userId: owner.userId },
      subjectUserId: owner.userId,
      origin,
      detail: { reason: 'wrong_password', stage },
    });
    return { ok: false, reason: 'invalid_credentials' };
  }
  await clearCounter(db, emailKey);
  return { ok: true };
}
