/**
 * The password step of a login (PRODUCT.md §2.2 step 1, §4 failed-password limits).
 *
 * Unknown email, wrong password, deactivated user and locked email all answer alike
 * (SECURITY.md rule 31): unknown emails pay for a dummy argon2id verification. Every attempt
 * is charged to the email's and the IP's counters before the password is checked, so a
 * concurrent burst cannot test more passwords than the limit; a success gives the charge back.
 */
import { recordCompletedLogin } from './completed-login.ts';
import type { RequestOrigin } from '../audit/events.ts';
import { recordSecurityEvent } from '../audit/events.ts';
import { hmacHex } from '../crypto/tokens.ts';
import type { Deps } from '../deps.ts';
import { sendLoginSMS, type LoginSMSOutcome } from '../factors/sms/login-sms.ts';
import { clearCounter, hitCounter, undoHit, type CounterState } from '../limits/counters.ts';
import { createSession } from '../sessions/sessions.ts';
import type { SessionState, User } from '../storage/schema.ts';
import { findUserByEmail, normalizeEmail } from '../users/users.ts';

export type PasswordStepOutcome =
  /** `sms`: what became of the login text, when the user's only factor is SMS (for the page to say). */
  | { ok: true; user: User; state: SessionState; token: string; methods: string[]; sms: LoginSMSOutcome | null }
  | { ok: false; reason: 'invalid_credentials' }
  | { ok: false; reason: 'locked'; retryAfterMs: number }
  | { ok: false; reason: 'busy' };

export function failedPasswordEmailKey(deps: Pick<Deps, 'keys'>, email: string): string {
  return `pw-email:${hmacHex(deps.keys.hashing, normalizeEmail(email))}`;
}

export function failedPasswordIPKey(deps: Pick<Deps, 'keys'>, ip: string): string {
  return `pw-ip:${hmacHex(deps.keys.hashing, ip)}`;
}

type StepDeps = Pick<Deps, 'db' | 'clock' | 'config' | 'keys' | 'hasher' | 'delivery' | 'log' | 'limits' | 'metrics'>;

/** The second-factor methods a user has confirmed; the factor modules fill this in. */
export type MethodLister = (user: User) => Promise<string[]>;

export async function performPasswordStep(
  deps: StepDeps,
  listMethods: MethodLister,
  input: { email: string; password: string },
  origin: RequestOrigin & { ip: string },
): Promise<PasswordStepOutcome> {
  const { db, clock, config } = deps;
  const policy = config.policy;
  const emailKey = failedPasswordEmailKey(deps, input.email);
  const ipKey = failedPasswordIPKey(deps, origin.ip);
  // The per-IP count is in deps.limits (Redis when configured), charged first: if that store does
  // not answer, the request ends in 503 having changed nothing. The per-email count is a security
  // budget and stays in the database, which survives restarts (SECURITY.md rule 1).
  const byIP = await deps.limits.hit(ipKey, policy.failedPasswordWindowMs);
  const byEmail = await hitCounter(db, clock, emailKey, policy.failedPasswordWindowMs);
  const locked = lockedUntil(byEmail, policy.failedPasswordsPerEmail) ?? lockedUntil(byIP, policy.failedPasswordsPerIP);
  if (locked !== null) {
    // A refused attempt was never evaluated, so it does not extend the lock.
    await undoHit(db, emailKey);
    await deps.limits.undo(ipKey);
    deps.metrics.loginPassword('locked');
    return { ok: false, reason: 'locked', retryAfterMs: Math.max(1000, locked - clock.now()) };
  }

  const user = await findUserByEmail(db, input.email);
  const usable = user && user.active === 1 && user.password_hash !== null;
  const verified = usable ? await deps.hasher.verifyPassword(user.password_hash!, input.password) : await deps.hasher.verifyAgainstDummy(input.password);
  if (!verified.ok) {
    await undoHit(db, emailKey);
    await deps.limits.undo(ipKey);
    deps.metrics.loginPassword('busy');
    return { ok: false, reason: 'busy' };
  }
  if (!usable || !verified.value) {
    if (user) {
      await recordSecurityEvent(db, clock, { type: 'login_failed', accountId: user.account_id, actor: { kind: 'user', userId: user.id }, subjectUserId: user.id, origin, detail: { reason: usable ? 'wrong_password' : 'inactive_user' } });
    }
    deps.metrics.loginPassword('refused');
    return { ok: false, reason: 'invalid_credentials' };
  }

  await clearCounter(db, emailKey);
  await deps.limits.undo(ipKey);
  const methods = await listMethods(user);
  const account = await db.selectFrom('accounts').select('enforce_2fa').where('id', '=', user.account_id).executeTakeFirstOrThrow();
  const state: SessionState = methods.length > 0 ? 'password_only' : account.enforce_2fa === 1 ? 'enrollment_required' : 'complete';
  // Always a fresh token: a token planted before login is never adopted (rule 9).
  const session = await createSession(db, clock, { userId: user.id, state, ip: origin.ip, userAgent: origin.userAgent ?? '' });
  deps.metrics.loginPassword(state === 'password_only' ? 'second_factor_required' : state);
  if (state === 'complete') {
    await recordCompletedLogin(db, clock, { userId: user.id, accountId: user.account_id }, 'password', origin);
  }
  // A user whose only factor is SMS needs the text now: there is nothing else to enter
  // (PRODUCT.md §2.2). Whatever becomes of it, the password step's answer is the same; the
  // user can ask again (POST /login/sms) or use a recovery code.
  let sms: LoginSMSOutcome | null = null;
  if (state === 'password_only' && methods.length === 1 && methods[0] === 'sms') {
    const created = await db.selectFrom('sessions').select('created_at').where('token_hash', '=', session.tokenHash).executeTakeFirstOrThrow();
    sms = await sendLoginSMS(deps, { tokenHash: session.tokenHash, userId: user.id, accountId: user.account_id, createdAt: Number(created.created_at) }, origin);
  }
  return { ok: true, user, state, token: session.token, methods, sms };
}

function lockedUntil(state: CounterState, limit: number): number | null {
  return state.count > limit ? state.resetsAt : null;
}
