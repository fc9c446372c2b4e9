/**
 * The password step of a login (PRODUCT.md §2.2 step 1, §4 failed-password limits).
 *
 * Unknown email, wrong password, deactivated user and locked email all answer alike
 * (SECURITY.md rule 31): unknown emails pay for a dummy argon2id verification. Every attempt
 * is charged to the email's and the IP's counters before the password is checked, so a
 * concurrent burst cannot test more passwords than the limit; a success gives the charge back.
 */
import type { RequestOrigin } from '../audit/events.ts';
import { enforcementPhase } from '../enforcement/staged-enforcement.ts';
import { recordSecurityEventAfterAnswer } from '../audit/events.ts';
import type { Deps } from '../deps.ts';
import type { BeginOutcome } from '../factors/factor.ts';
import { listConfirmedMethods } from '../factors/registry.ts';
import { chargeWithinLimit, clearCounter, retryAfterSeconds, undoHit } from '../limits/counters.ts';
import { failedPasswordEmailKey, failedPasswordIPKey } from '../passwords/password-check.ts';
import { createSession } from '../sessions/sessions.ts';
import type { User } from '../users/users.ts';
import { findUserByEmail } from '../users/users.ts';
import { recordCompletedLogin } from './completed-login.ts';
import { effectiveAllowed } from '../enforcement/method-policy.ts';
import { readLoginPolicy } from './login-policy.ts';
import { LOGIN_STATES, PASSWORD_METHOD, stateAfterPassword, type LoginState } from './flow.ts';
import { beginOnlyMethod } from './login-text.ts';
import { TRUSTED_BROWSER_METHOD, useTrustedBrowser } from '../trusted-browsers/trusted-browsers.ts';

export type PasswordStepOutcome =
  /**
   * `begun`: what became of beginning the user's only method (texting the code), for the page to say.
   * `trustedBrowser`: the browser's trust stood in for the code (PRODUCT.md §2.11).
   */
  | { ok: true; user: User; state: LoginState; token: string; methods: string[]; begun: BeginOutcome | null; trustedBrowser: boolean }
  | { ok: false; reason: 'invalid_credentials' }
  | { ok: false; reason: 'locked'; retryAfterSeconds: number }
  | { ok: false; reason: 'busy' };

export interface PasswordStepInput {
  email: string;
  password: string;
  /** The browser's trusted-browser cookie, if it sent one: it may stand in for the code. */
  trustedBrowserSecret?: string | undefined;
  /**
   * The login must end with a code whatever the browser's trust (an application asked for a
   * second factor, PRODUCT.md §2.13): set only ever makes the login stricter.
   */
  secondFactorRequired?: boolean;
}

type StepDeps = Pick<Deps, 'db' | 'clock' | 'config' | 'keys' | 'hasher' | 'delivery' | 'log' | 'limits' | 'metrics'>;

export async function performPasswordStep(
  deps: StepDeps,
  input: PasswordStepInput,
  origin: RequestOrigin & { ip: string },
): Promise<PasswordStepOutcome> {
  const { db, clock, config } = deps;
  const policy = config.policy;
  const emailKey = failedPasswordEmailKey(deps, input.email);
  const ipKey = failedPasswordIPKey(deps, origin.ip);
  // The per-IP count is in deps.limits (Redis when configured), charged first: if that store does
  // not answer, the request ends in 503 having changed nothing. The per-email count is a security
  // budget and stays in the database, which survives restarts (SECURITY.md rule 1).
  // A refused attempt was never evaluated, so it does not extend either lock.
  const byIP = await deps.limits.hit(ipKey, policy.failedPasswordWindowMs);
  const byEmail = await chargeWithinLimit(db, clock, emailKey, policy.failedPasswordWindowMs, policy.failedPasswordsPerEmail);
  if (!byEmail.ok || byIP.count > policy.failedPasswordsPerIP) {
    if (byEmail.ok) await undoHit(db, emailKey);
    await deps.limits.undo(ipKey);
    deps.metrics.loginPassword('locked');
    return { ok: false, reason: 'locked', retryAfterSeconds: byEmail.ok ? retryAfterSeconds(clock, byIP) : byEmail.retryAfterSeconds };
  }

  const user = await findUserByEmail(db, input.email);
  // A "This wasn't me" report blocks password logins until a reset (PRODUCT.md §2.12): the
  // answer is the wrong password's, so it tells nothing even to whoever holds the password
  // (rule 31); the user learns what to do from the e-mail that carried the reset link.
  const blocked = user?.password_login_blocked === 1;
  const usable = user && user.active === 1 && user.password_hash !== null && !blocked;
  const verified = usable ? await deps.hasher.verifyPassword(user.password_hash!, input.password) : await deps.hasher.verifyAgainstDummy(input.password);
  if (!verified.ok) {
    await undoHit(db, emailKey);
    await deps.limits.undo(ipKey);
    deps.metrics.loginPassword('busy');
    return { ok: false, reason: 'busy' };
  }
  if (!usable || !verified.value) {
    // After the answer, not before: an unknown email has no log to write to, and the answer must
    // not wait for work only a known email causes (rule 31).
    if (user) {
      recordSecurityEventAfterAnswer(db, clock, deps.log, { type: 'login_failed', accountId: user.account_id, actor: { kind: 'user', userId: user.id }, subjectUserId: user.id, origin, detail: { reason: usable ? 'wrong_password' : blocked ? 'password_login_blocked' : 'inactive_user' } });
    }
    deps.metrics.loginPassword('refused');
    return { ok: false, reason: 'invalid_credentials' };
  }

  await deps.limits.undo(ipKey);
  const confirmed = await listConfirmedMethods(db, user);
  // Only the methods the account's policy allows (PRODUCT.md §2.9): with none of them left the
  // user is one without 2FA and is sent to setup, as under enforcement.
  const { methodPolicy, enforcement, trustedBrowserDays } = await readLoginPolicy(db, user.account_id);
  const allowed = effectiveAllowed(methodPolicy);
  const methods = confirmed.filter((kind) => allowed.includes(kind));
  // Staged enforcement (PRODUCT.md §2.10): during the grace period the user gets in; from the date on, setup.
  const enforced = enforcementPhase(enforcement, user.role, clock.now()) === 'enforced';
  let state = stateAfterPassword(methods, enforced || (confirmed.length > 0 && methods.length === 0));
  const authMethods = [PASSWORD_METHOD];
  // A trusted browser stands in for the code only where a code would be asked: never for setup
  // (no allowed method), never under a phishing-resistant policy (rule 42). The session records
  // it as 'trusted', which proves no factor: applications asking for 2FA still get a code.
  const trust = state === LOGIN_STATES.passwordOnly && !input.secondFactorRequired ? await useTrustedBrowser(db, clock, { userId: user.id, accountId: user.account_id }, input.trustedBrowserSecret, { methods, requirePhishingResistant: methodPolicy.requirePhishingResistant, days: trustedBrowserDays }) : null;
  if (trust) {
    state = LOGIN_STATES.complete;
    authMethods.push(TRUSTED_BROWSER_METHOD);
  }
  // The success's writes in one transaction, so one durable commit (shared with concurrent logins
  // by SQLite's group commit) instead of one fsync each on the event loop: the email's failure
  // count given back, the session, and for a completed login its record. Always a fresh token:
  // a token planted before login is never adopted (rule 9).
  const session = await db.transaction().execute(async (trx) => {
    await clearCounter(trx, emailKey);
    const created = await createSession(trx, clock, { userId: user.id, state, authMethods, ip: origin.ip, userAgent: origin.userAgent ?? '' });
    if (state === LOGIN_STATES.complete) await recordCompletedLogin(trx, clock, { userId: user.id, accountId: user.account_id }, authMethods.join(','), origin);
    return created;
  });
  deps.metrics.loginPassword(state === LOGIN_STATES.passwordOnly ? 'second_factor_required' : state);
  const begun = state === LOGIN_STATES.passwordOnly ? await beginOnlyMethod(deps, { tokenHash: session.tokenHash, userId: user.id, accountId: user.account_id, createdAt: session.createdAt }, methods, origin) : null;
  return { ok: true, user, state, token: session.token, methods, begun, trustedBrowser: trust !== null };
}
