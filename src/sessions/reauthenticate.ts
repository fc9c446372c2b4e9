/**
 * Re-entering the password to refresh a session's recent-authentication time (PRODUCT.md §4,
 * SECURITY.md rule 28). Someone holding a stolen, idle session does not know the password, so
 * this prompt must not become a way to guess it: every attempt is charged to the same per-email
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

export type ReauthenticationOutcome =
  | { ok: true }
  | { ok: false; reason: 'invalid_credentials' }
  | { ok: false; reason: 'locked'; retryAfterMs: number }
  | { ok: false; reason: 'busy' };

type ReauthenticationDeps = Pick<Deps, 'db' | 'clock' | 'config' | 'keys' | 'hasher'>;

export async function reauthenticateWithPassword(
  deps: ReauthenticationDeps,
  session: Pick<SessionContext, 'tokenHash' | 'userId' | 'email' | 'accountId'>,
  password: string,
  origin: RequestOrigin,
): Promise<ReauthenticationOutcome> {
  const { db, clock, config } = deps;
  const policy = config.policy;
  const emailKey = failedPasswordEmailKey(deps, session.email);
  const charged = await hitCounter(db, clock, emailKey, policy.failedPasswordWindowMs);
  if (charged.count > policy.failedPasswordsPerEmail) {
    // A refused attempt was never evaluated, so it does not extend the lock (as in the login).
    await undoHit(db, emailKey);
    return { ok: false, reason: 'locked', retryAfterMs: Math.max(1000, charged.resetsAt - clock.now()) };
  }

  const user = await findUserById(db, session.userId);
  const storedHash = user?.password_hash ?? null;
  // A user without a password never verifies; the dummy keeps the cost the same either way.
  const verified = storedHash ? await deps.hasher.verifyPassword(storedHash, password) : await deps.hasher.verifyAgainstDummy(password);
  if (!verified.ok) {
    await undoHit(db, emailKey);
    return { ok: false, reason: 'busy' };
  }
  if (!storedHash || !verified.value) {
    await recordSecurityEvent(db, clock, {
      type: 'login_failed',
      accountId: session.accountId,
      actor: { kind: 'user', userId: session.userId },
      subjectUserId: session.userId,
      origin,
      detail: { reason: 'wrong_password', stage: 'reauthenticate' },
    });
    return { ok: false, reason: 'invalid_credentials' };
  }

  await clearCounter(db, emailKey);
  await markReauthenticated(db, clock, session.tokenHash);
  return { ok: true };
}
