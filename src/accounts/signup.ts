/**
 * Sign-up as one function, so the page and the API apply the same checks in the same order:
 * switched off → 403, weak password → 400, too many sign-ups from the IP → 429, busy hasher
 * → 503, taken email → 409. The first administrator's session is complete at once: a new
 * account has no second factor and cannot yet enforce one.
 */
import { createAccountWithAdmin } from './accounts.ts';
import type { RequestOrigin } from '../audit/events.ts';
import { hmacHex } from '../crypto/tokens.ts';
import type { Deps } from '../deps.ts';
import { retryAfterSeconds } from '../limits/counters.ts';
import { passwordWeakness, type PasswordWeakness } from '../passwords/policy.ts';
import { LOGIN_STATES, PASSWORD_METHOD } from '../login/flow.ts';
import { createSession } from '../sessions/sessions.ts';
import { sendVerificationEmail } from '../users/email-verification.ts';
import type { Account, User } from '../storage/schema.ts';

export interface SignupRequest {
  accountName: string;
  name: string;
  email: string;
  password: string;
}

export type SignupResult =
  | { ok: true; token: string; user: User; account: Account }
  | { ok: false; reason: 'signup_disabled' | 'server_busy' | 'email_taken' }
  | { ok: false; reason: 'weak_password'; weakness: PasswordWeakness }
  | { ok: false; reason: 'rate_limited'; retryAfterSeconds: number };

export async function signUpAccount(deps: Deps, input: SignupRequest, origin: RequestOrigin & { ip: string }): Promise<SignupResult> {
  if (!deps.config.signupEnabled) return { ok: false, reason: 'signup_disabled' };
  const weakness = passwordWeakness(deps.config.policy, input.password);
  if (weakness) return { ok: false, reason: 'weak_password', weakness };
  const byIP = await deps.limits.hit(`signup-ip:${hmacHex(deps.keys.hashing, origin.ip)}`, 3_600_000);
  if (byIP.count > deps.config.policy.signupsPerIPPerHour) return { ok: false, reason: 'rate_limited', retryAfterSeconds: retryAfterSeconds(deps.clock, byIP) };
  const hashed = await deps.hasher.hashPassword(input.password);
  if (!hashed.ok) return { ok: false, reason: 'server_busy' };
  const created = await createAccountWithAdmin(deps.db, deps.clock, { accountName: input.accountName, name: input.name, email: input.email, passwordHash: hashed.value });
  if (!created.ok) return { ok: false, reason: 'email_taken' };
  // Sent before the session exists: a failure here leaves no half-signed-up browser (the resend button covers a lost e-mail).
  await sendVerificationEmail(deps, created.user);
  const session = await createSession(deps.db, deps.clock, { userId: created.user.id, state: LOGIN_STATES.complete, authMethods: [PASSWORD_METHOD], ip: origin.ip, userAgent: origin.userAgent ?? '' });
  return { ok: true, token: session.token, user: created.user, account: created.account };
}
