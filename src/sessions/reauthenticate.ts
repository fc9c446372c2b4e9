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
import type { Deps } from '../deps.ts';
import { clearCounter, hitCounter, undoHit } from '../limits/counters.ts';
import { failedPasswordEmailKey } from '../login/password-step.ts';
import { findUserById } from '../users/users.ts';
import { markReauthenticated, type SessionContext } from './sessions.ts';

export type PasswordCheckOutcome =
  | { ok: true }
  | { ok: false; reason: 'invalid_credentials' }
  | { ok: false; reason: 'locked'; retryAfterMs: number }
  | { ok: false; reason: 'busy' };

/** Kept for the callers that name it after re-authentication. */
export type ReauthenticationOutcome = PasswordCheckOutcome;

type PasswordCheckDeps = Pick<Deps, 'db' | 'clock' | 'config' | 'keys' | 'hasher'>;

export interface PasswordOwner {
  userId: string;
  email: string;
  accountId: string;
}

/** Why the password was asked for, recorded with a failure. */
export type PasswordStage = 'reauthenticate' | 'disable_2fa' | 'disable_link';

export async function checkUserPassword(deps: PasswordCheckDeps, owner: PasswordOwner, password: string, origin: RequestOrigin, stage: PasswordStage): Promise<PasswordCheckOutcome> {
  const { db, clock, config } = deps;
  const policy = config.policy;
  const emailKey = failedPasswordEmailKey(deps, owner.email);
  const charged = await hitCounter(db, clock, emailKey, policy.failedPasswordWindowMs);
  if (charged.count > policy.failedPasswordsPerEmail) {
    // A refused attempt was never evaluated, so it does not extend the lock (as in the login).
    await undoHit(db, emailKey);
    return { ok: false, reason: 'locked', retryAfterMs: Math.max(1000, charged.resetsAt - clock.now()) };
  }

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

export async function reauthenticateWithPassword(
  deps: PasswordCheckDeps,
  session: Pick<SessionContext, 'tokenHash' | 'userId' | 'email' | 'accountId'>,
  password: string,
  origin: RequestOrigin,
): Promise<ReauthenticationOutcome> {
  const checked = await checkUserPassword(deps, session, password, origin, 'reauthenticate');
  if (checked.ok) await markReauthenticated(deps.db, deps.clock, session.tokenHash);
  return checked;
}
