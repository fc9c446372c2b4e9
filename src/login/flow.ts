/**
 * The login as one flow (PRODUCT.md §2.2, §2.4; SECURITY.md rules 8 and 9), its states named in
 * this one place — the shape of Ory Kratos's login flow, in our own code. A session is the login's
 * carrier: its stored state says how far it has come, and every change of state issues a new token.
 *
 *   password-step.ts      email + password
 *     ├─ the user has a method      → password_only (the pending login: pending-login.ts)
 *     │    └─ second-step.ts        a code of one of the user's factors → complete
 *     ├─ none, account enforces 2FA → enrollment_required
 *     │    └─ enrollment-step.ts    a factor confirmed → complete
 *     └─ none, not enforced         → complete
 *   completed-login.ts    what every completion records (last login, security log)
 *
 * What each state may reach is decided by the central guard, `http/plugins/authentication.ts`:
 * password_only only the Verification Code step, enrollment_required only 2FA setup.
 */
import type { SessionState } from '../storage/schema.ts';

/** How far a login has come; the session stores it. */
export type LoginState = SessionState;

export const LOGIN_STATES = {
  /** The password was right; a second factor is still owed. */
  passwordOnly: 'password_only',
  /** The password was right; the account requires 2FA and the user has none yet: setup only. */
  enrollmentRequired: 'enrollment_required',
  /** Fully authenticated. */
  complete: 'complete',
} as const satisfies Record<string, LoginState>;

/** The first entry of every session's `amr`. */
export const PASSWORD_METHOD = 'password';

/** Where the password step leads. */
export function stateAfterPassword(methods: readonly string[], accountEnforces2FA: boolean): LoginState {
  if (methods.length > 0) return LOGIN_STATES.passwordOnly;
  return accountEnforces2FA ? LOGIN_STATES.enrollmentRequired : LOGIN_STATES.complete;
}
